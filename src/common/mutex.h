#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

// Clang thread-safety annotations; they compile to nothing elsewhere.
#if defined(__clang__)
#define TH_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TH_THREAD_ANNOTATION(x)
#endif
#define TH_CAPABILITY(x) TH_THREAD_ANNOTATION(capability(x))
#define TH_GUARDED_BY(x) TH_THREAD_ANNOTATION(guarded_by(x))
#define TH_PT_GUARDED_BY(x) TH_THREAD_ANNOTATION(pt_guarded_by(x))
#define TH_REQUIRES(...) TH_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TH_ACQUIRE(...) TH_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TH_RELEASE(...) TH_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TH_EXCLUDES(...) TH_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TH_SCOPED_CAPABILITY TH_THREAD_ANNOTATION(scoped_lockable)

namespace thruster {

// std::mutex with thread-safety annotations. Thread-safe.
class TH_CAPABILITY("mutex") Mutex {
 public:
  void Lock() TH_ACQUIRE() { mu_.lock(); }
  void Unlock() TH_RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class TH_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) TH_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() TH_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// A condition variable that waits on a Mutex the caller already holds (through
// MutexLock), so the waiting code stays inside the annotated critical section.
// Thread-safe. Waits may wake spuriously: callers loop on their condition.
class CondVar {
 public:
  // Releases `mu` while waiting, holds it again on return.
  void Wait(Mutex* mu) TH_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, for at most `ns` nanoseconds of real time; false on timeout.
  bool WaitForNs(Mutex* mu, int64_t ns) TH_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    bool woken = cv_.wait_for(lock, std::chrono::nanoseconds(ns)) ==
                 std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace thruster
