#include "client/uniq_key.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <random>

namespace thruster::client {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void PutHex(uint64_t v, int bytes, char* out) {
  for (int i = bytes * 2 - 1; i >= 0; --i) {
    out[i] = kHex[v & 0xF];
    v >>= 4;
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Start of the UTC month containing `ms`, plus `months_ahead` months.
int64_t MonthStartMs(int64_t ms, int months_ahead) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon += months_ahead;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

UniqKeyGenerator::UniqKeyGenerator(uint32_t ipv4) {
  std::random_device rd;
  uint32_t random = rd();
  PutHex(ipv4, 4, prefix_.data());
  PutHex(static_cast<uint16_t>(getpid()), 2, prefix_.data() + 8);
  PutHex(random, 4, prefix_.data() + 12);
  counter_.store(static_cast<uint16_t>(rd()), std::memory_order_relaxed);
}

void UniqKeyGenerator::Next(char* out) {
  int64_t now = NowMs();
  if (now >= next_month_start_ms_.load(std::memory_order_relaxed)) {
    // Racing threads compute the same values.
    month_start_ms_.store(MonthStartMs(now, 0), std::memory_order_relaxed);
    next_month_start_ms_.store(MonthStartMs(now, 1), std::memory_order_relaxed);
  }
  auto since = static_cast<uint32_t>(
      now - month_start_ms_.load(std::memory_order_relaxed));
  auto count =
      static_cast<uint16_t>(counter_.fetch_add(1, std::memory_order_relaxed));
  for (size_t i = 0; i < prefix_.size(); ++i) out[i] = prefix_[i];
  PutHex(since, 4, out + 20);
  PutHex(count, 2, out + 28);
}

std::string UniqKeyGenerator::Next() {
  std::string s(kUniqKeyLength, '0');
  Next(s.data());
  return s;
}

}  // namespace thruster::client
