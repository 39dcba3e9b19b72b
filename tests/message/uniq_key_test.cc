#include "message/uniq_key.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <set>
#include <string>

namespace thruster::message {
namespace {

const HostAddress kHost = HostAddress::V4(127, 0, 0, 1, 10911);

// Sets the process's local time zone for one test (POSIX TZ, no tzdata).
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

uint32_t SinceMonthMs(const std::string& key) {
  return static_cast<uint32_t>(std::stoul(key.substr(20, 8), nullptr, 16));
}

TEST(UniqKeyGeneratorTest, KeysAreUppercaseHexUniqueAndStartWithTheIp) {
  UniqKeyGenerator gen(kHost);
  const int64_t now = 1795515038605;  // 2026-11-24
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string k = gen.Next(now + i / 7);
    ASSERT_EQ(k.size(), kUniqKeyLength);
    for (char c : k)
      ASSERT_TRUE(std::isdigit(c) || (c >= 'A' && c <= 'F')) << k;
    ASSERT_EQ(k.substr(0, 8), "7F000001");
    ASSERT_TRUE(seen.insert(k).second) << "duplicate " << k;
  }
}

TEST(UniqKeyGeneratorTest, KeysCarryTheHostPidAndMonthOffset) {
  UniqKeyGenerator gen(kHost);
  const int64_t now = 1795515038605;  // 2026-11-24
  std::set<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.insert(gen.Next(now));
  EXPECT_EQ(keys.size(), 1000u);
  const std::string k = gen.Next(now);
  ASSERT_EQ(k.size(), 32u);
  EXPECT_EQ(k.substr(0, 8), "7F000001");
  char pid[5];
  std::snprintf(pid, sizeof(pid), "%04X",
                static_cast<unsigned>(static_cast<uint16_t>(::getpid())));
  EXPECT_EQ(k.substr(8, 4), pid);
  // Bytes 10..13: ms since the start of the month, < 31 days.
  EXPECT_LT(SinceMonthMs(k), 31u * 24 * 3600 * 1000);
  EXPECT_GT(SinceMonthMs(k), 22u * 24 * 3600 * 1000);  // the 24th, minus a day
  // Bytes 14..15: the counter, one per key.
  EXPECT_EQ(k.substr(28, 4), "03E8");
  char buf[kUniqKeyLength];
  gen.Next(now, buf);
  EXPECT_EQ(std::string(buf, 28), k.substr(0, 28));
  EXPECT_EQ(std::string(buf + 28, 4), "03E9");
}

// RocketMQ counts from local midnight of the month's first day (Calendar in
// the JVM's default time zone), not from UTC.
TEST(UniqKeyGeneratorTest, TheMonthStartsAtLocalMidnight) {
  ScopedTimeZone tz("XST-8");  // UTC+8, no daylight saving
  UniqKeyGenerator gen(kHost);
  // 2026-11-30T20:00:00Z is 2026-12-01 04:00 local: four hours into December.
  const int64_t now = 1796068800000;
  EXPECT_EQ(UniqKeyGenerator::MonthStartMs(now, 0), now - 4 * 3600 * 1000);
  EXPECT_EQ(SinceMonthMs(gen.Next(now)), 4u * 3600 * 1000);
  // Five hours earlier, 23:00 local on November 30th, counts from November 1st
  // 00:00 local (2026-10-31T16:00Z).
  const int64_t nov = 1796050800000;
  EXPECT_EQ(UniqKeyGenerator::MonthStartMs(nov, 0), 1793462400000);
  EXPECT_EQ(SinceMonthMs(gen.Next(nov)),
            static_cast<uint32_t>(nov - 1793462400000));
  EXPECT_EQ(UniqKeyGenerator::MonthStartMs(nov, 1), now - 4 * 3600 * 1000);
}

TEST(UniqKeyGeneratorTest, DecemberRollsIntoJanuary) {
  ScopedTimeZone tz("UTC0");
  // 2026-12-15T00:00:00Z; January 1st 2027 00:00Z.
  EXPECT_EQ(UniqKeyGenerator::MonthStartMs(1797292800000, 1), 1798761600000);
  EXPECT_EQ(UniqKeyGenerator::MonthStartMs(1797292800000, 0), 1796083200000);
}

}  // namespace
}  // namespace thruster::message
