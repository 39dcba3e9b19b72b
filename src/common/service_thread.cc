#include "common/service_thread.h"

#include <pthread.h>

#include <chrono>

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
    MutexLock lock(&mu_);
    notified_ = true;
  }
  cv_.Signal();
}

bool ServiceThread::WaitForRunning(int64_t ms) {
  MutexLock lock(&mu_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!notified_ && !stopped_.load(std::memory_order_acquire)) {
    if (cv_.WaitUntil(&mu_, deadline) == std::cv_status::timeout) break;
  }
  bool woken = notified_;
  notified_ = false;
  return woken;
}

}  // namespace thruster
