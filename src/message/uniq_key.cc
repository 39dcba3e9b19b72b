#include "message/uniq_key.h"

#include <unistd.h>

#include <ctime>
#include <random>

#include "common/hex.h"

namespace thruster::message {

UniqKeyGenerator::UniqKeyGenerator(const HostAddress& host) {
  uint8_t fixed[10];
  for (int i = 0; i < 4; ++i) fixed[i] = host.ip[static_cast<size_t>(i)];
  const auto pid = static_cast<uint16_t>(::getpid());
  fixed[4] = static_cast<uint8_t>(pid >> 8);
  fixed[5] = static_cast<uint8_t>(pid);
  const uint32_t random = std::random_device{}();
  for (int i = 0; i < 4; ++i)
    fixed[6 + i] = static_cast<uint8_t>(random >> (24 - 8 * i));
  WriteHexUpper(fixed, sizeof(fixed), prefix_);
}

void UniqKeyGenerator::Next(int64_t now_ms, char* out) {
  const auto since_month =
      static_cast<uint32_t>(now_ms - CachedMonthStartMs(now_ms));
  const auto count =
      static_cast<uint16_t>(counter_.fetch_add(1, std::memory_order_relaxed));
  const uint8_t tail[6] = {
      static_cast<uint8_t>(since_month >> 24),
      static_cast<uint8_t>(since_month >> 16),
      static_cast<uint8_t>(since_month >> 8),
      static_cast<uint8_t>(since_month),
      static_cast<uint8_t>(count >> 8),
      static_cast<uint8_t>(count),
  };
  for (size_t i = 0; i < sizeof(prefix_); ++i) out[i] = prefix_[i];
  WriteHexUpper(tail, sizeof(tail), out + sizeof(prefix_));
}

std::string UniqKeyGenerator::Next(int64_t now_ms) {
  std::string out(kUniqKeyLength, '\0');
  Next(now_ms, out.data());
  return out;
}

int64_t UniqKeyGenerator::CachedMonthStartMs(int64_t now_ms) {
  const uint64_t month = month_.load(std::memory_order_relaxed);
  const auto start_ms = static_cast<int64_t>(month >> 24) * 1000;
  const auto length_ms = static_cast<int64_t>(month & 0xFFFFFF) * 1000;
  if (now_ms >= start_ms && now_ms < start_ms + length_ms) return start_ms;
  const int64_t start = MonthStartMs(now_ms, 0);
  const int64_t next = MonthStartMs(now_ms, 1);
  month_.store(static_cast<uint64_t>(start / 1000) << 24 |
                   static_cast<uint64_t>((next - start) / 1000),
               std::memory_order_relaxed);
  return start;
}

int64_t UniqKeyGenerator::MonthStartMs(int64_t now_ms, int months_ahead) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_mon += months_ahead;  // mktime normalises December + 1
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

}  // namespace thruster::message
