#include "common/service_thread.h"

#include <pthread.h>

namespace thruster {

void SetCurrentThreadName(const std::string& name) {
  std::string n = name.substr(0, 15);
  pthread_setname_np(pthread_self(), n.c_str());
}

ServiceThread::~ServiceThread() {
  // A subclass must Stop() in its own destructor (Run() is virtual); this is
  // the last guard.
  if (thread_.joinable()) {
    stopped_.store(true, std::memory_order_release);
    Wakeup();
    thread_.join();
  }
}

void ServiceThread::Start() {
  if (thread_.joinable()) return;
  stopped_.store(false, std::memory_order_release);
  thread_ = std::thread([this] {
    SetCurrentThreadName(name_);
    Run();
  });
}

void ServiceThread::Stop() {
  stopped_.store(true, std::memory_order_release);
  OnStop();
  Wakeup();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void ServiceThread::Wakeup() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

bool ServiceThread::WaitForRunning(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!notified_) {
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] {
      return notified_ || stopped_.load(std::memory_order_acquire);
    });
  }
  bool woken = notified_;
  notified_ = false;
  return woken;
}

}  // namespace thruster
