#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <random>
#include <string>

#include "common/coding.h"
#include "store/message.h"

namespace thruster::broker {

// UNIQ_KEY for messages that come without one (§5.8): IPv4 ‖ pid (2) ‖ a
// per-process random (4) ‖ ms since the start of the month (4) ‖ counter (2),
// as 32 uppercase hex characters.
class UniqKeyGenerator {
 public:
  explicit UniqKeyGenerator(const store::HostAddress& host) {
    std::memcpy(prefix_, host.ip.data(), 4);
    const auto pid = static_cast<uint16_t>(::getpid());
    prefix_[4] = static_cast<uint8_t>(pid >> 8);
    prefix_[5] = static_cast<uint8_t>(pid);
    const uint32_t salt = std::random_device{}();
    for (int i = 0; i < 4; ++i)
      prefix_[6 + i] = static_cast<uint8_t>(salt >> (24 - 8 * i));
  }

  // Thread-safe.
  std::string Next(int64_t now_ms) {
    uint8_t b[16];
    std::memcpy(b, prefix_, 10);
    const auto since_month =
        static_cast<uint32_t>(now_ms - CachedMonthStartMs(now_ms));
    for (int i = 0; i < 4; ++i)
      b[10 + i] = static_cast<uint8_t>(since_month >> (24 - 8 * i));
    const auto seq =
        static_cast<uint16_t>(counter_.fetch_add(1, std::memory_order_relaxed));
    b[14] = static_cast<uint8_t>(seq >> 8);
    b[15] = static_cast<uint8_t>(seq);
    std::string out(32, '0');
    WriteHexUpper(b, sizeof(b), out.data());
    return out;
  }

 private:
  // The month boundaries are computed (localtime/mktime) only when `now_ms`
  // leaves the cached month; concurrent callers may both recompute, harmlessly.
  int64_t CachedMonthStartMs(int64_t now_ms) {
    int64_t start = month_start_ms_.load(std::memory_order_acquire);
    if (now_ms >= start &&
        now_ms < next_month_ms_.load(std::memory_order_acquire)) {
      return start;
    }
    start = MonthStartMs(now_ms, 0);
    next_month_ms_.store(MonthStartMs(now_ms, 1), std::memory_order_release);
    month_start_ms_.store(start, std::memory_order_release);
    return start;
  }

  // Start of the month `months_ahead` after the one holding `now_ms`.
  static int64_t MonthStartMs(int64_t now_ms, int months_ahead) {
    std::time_t t = static_cast<std::time_t>(now_ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_mon += months_ahead;  // mktime normalises December + 1
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return static_cast<int64_t>(std::mktime(&tm)) * 1000;
  }

  uint8_t prefix_[10];
  std::atomic<uint32_t> counter_{0};
  std::atomic<int64_t> month_start_ms_{0};
  std::atomic<int64_t> next_month_ms_{0};
};

}  // namespace thruster::broker
