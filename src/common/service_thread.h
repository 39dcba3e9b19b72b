#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "common/mutex.h"

namespace thruster {

// A named long-lived thread with RocketMQ's wake-up flag: Wakeup() sets the
// flag and signals; WaitForRunning(ms) returns at once (clearing the flag) if
// it was set, else waits up to `ms`. Lifecycle: construct → Start() → Stop()
// (idempotent; joins) → destroy. Subclasses implement Run(), looping while
// !stopped(). Start/Stop/Wakeup are thread-safe.
class ServiceThread {
 public:
  explicit ServiceThread(std::string name) : name_(std::move(name)) {}
  virtual ~ServiceThread();
  ServiceThread(const ServiceThread&) = delete;
  ServiceThread& operator=(const ServiceThread&) = delete;

  void Start();
  // Asks Run() to finish, wakes it and joins. Safe to call twice and from any
  // thread but its own.
  void Stop();
  void Wakeup() TH_EXCLUDES(mu_);
  const std::string& name() const { return name_; }
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  bool started() const { return thread_.joinable(); }

 protected:
  virtual void Run() = 0;
  // Called by Stop() before joining, so a subclass can wake
  // waiters it owns. Default: nothing.
  virtual void OnStop() {}
  // Waits up to `ms` or until woken; returns true when it was woken (and clears
  // the flag).
  bool WaitForRunning(int64_t ms) TH_EXCLUDES(mu_);

 private:
  std::string name_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  Mutex mu_;
  CondVar cv_;
  bool notified_ TH_GUARDED_BY(mu_) = false;
};

// Sets the OS name of the calling thread (Linux keeps 15 characters).
void SetCurrentThreadName(const std::string& name);

}  // namespace thruster
