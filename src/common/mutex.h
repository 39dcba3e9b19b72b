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
#define TH_TRY_ACQUIRE(...) \
  TH_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TH_ASSERT_CAPABILITY(x) TH_THREAD_ANNOTATION(assert_capability(x))
#define TH_ACQUIRED_BEFORE(...) \
  TH_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define TH_ACQUIRED_AFTER(...) TH_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define TH_RETURN_CAPABILITY(x) TH_THREAD_ANNOTATION(lock_returned(x))
// Turns the analysis off for one function; say why in a comment next to it.
#define TH_NO_THREAD_SAFETY_ANALYSIS \
  TH_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace thruster {

// std::mutex with thread-safety annotations. Thread-safe.
class TH_CAPABILITY("mutex") Mutex {
 public:
  void Lock() TH_ACQUIRE() { mu_.lock(); }
  void Unlock() TH_RELEASE() { mu_.unlock(); }
  // True (and held) when the mutex was free.
  bool TryLock() TH_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds this mutex (where it cannot see it,
  // e.g. in a callback run under it); checks nothing at run time.
  void AssertHeld() const TH_ASSERT_CAPABILITY(this) {}
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` from construction to destruction.
class TH_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) TH_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() TH_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// As MutexLock, but tries the mutex up to `spins` times, with a CPU pause
// between tries, before it blocks: for short critical sections that a few
// threads contend for (the CommitLog's put lock), where a futex wait and the
// holder's wake-up syscall cost more than the wait itself. RocketMQ's
// PutMessageSpinLock spins without bound; this one blocks after a few
// microseconds, so a holder that lost its CPU does not burn the other one.
class TH_SCOPED_CAPABILITY SpinningMutexLock {
 public:
  static constexpr int kDefaultSpins = 128;
  explicit SpinningMutexLock(Mutex* mu, int spins = kDefaultSpins)
      TH_ACQUIRE(mu)
      : mu_(mu) {
    for (int i = 0; i < spins; ++i) {
      if (mu_->TryLock()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      asm volatile("yield");
#endif
    }
    mu_->Lock();
  }
  ~SpinningMutexLock() TH_RELEASE() { mu_->Unlock(); }
  SpinningMutexLock(const SpinningMutexLock&) = delete;
  SpinningMutexLock& operator=(const SpinningMutexLock&) = delete;

 private:
  Mutex* mu_;
};

// A condition variable waited on with a held Mutex. Every wait may return
// spuriously, so waiters loop on their condition, which the analysis then
// checks is read under the mutex:
//   MutexLock lock(&mu_);
//   while (!ready_) cv_.Wait(&mu_);
// Thread-safe; Signal/SignalAll may be called with or without the mutex held.
class CondVar {
 public:
  // Releases `mu`, blocks until signalled, and holds `mu` again on return.
  void Wait(Mutex* mu) TH_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // `mu` stays held; the caller's MutexLock releases it
  }

  // As Wait, until `deadline` at the latest; std::cv_status::timeout once the
  // deadline has passed.
  template <class Clock, class Duration>
  std::cv_status WaitUntil(
      Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline)
      TH_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    std::cv_status status = cv_.wait_until(lock, deadline);
    lock.release();
    return status;
  }

  // As Wait, for `timeout` at the most; std::cv_status::timeout once it has
  // elapsed.
  template <class Rep, class Period>
  std::cv_status WaitFor(Mutex* mu,
                         const std::chrono::duration<Rep, Period>& timeout)
      TH_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    std::cv_status status = cv_.wait_for(lock, timeout);
    lock.release();
    return status;
  }

  // Wakes one waiter / every waiter.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace thruster
