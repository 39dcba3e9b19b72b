#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace thruster {

// Time seam: flush intervals, retention and timeouts read time through a Clock
// so tests need not sleep. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall clock: store timestamps, file
  // ages).
  virtual int64_t NowMs() const = 0;
  // Monotonic nanoseconds for measuring intervals.
  virtual int64_t MonotonicNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock* Default() {
    static SystemClock clock;
    return &clock;
  }
};

// A clock that moves only when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1700000000000) : now_ms_(now_ms) {}
  int64_t NowMs() const override {
    return now_ms_.load(std::memory_order_relaxed);
  }
  int64_t MonotonicNs() const override { return NowMs() * 1000000; }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms, std::memory_order_relaxed); }
  void Set(int64_t ms) { now_ms_.store(ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace thruster
