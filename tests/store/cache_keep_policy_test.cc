#include "store/cache_keep_policy.h"

#include <gtest/gtest.h>

#include <optional>

#include "common/clock.h"

namespace thruster::store {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMinKeep = CacheKeepPolicy::kMinKeepBytes;
constexpr int32_t kAutoKeep = -1;

TEST(CacheKeepPolicyTest, ZeroKeepsEveryPage) {
  ManualClock clock;
  CacheKeepPolicy policy(0, 4 * kGiB, &clock);
  EXPECT_EQ(policy.DropBelow(100 * kGiB, -1), -1);
}

TEST(CacheKeepPolicyTest, ExplicitKeepDropsThatFarBehindTheWriter) {
  ManualClock clock;
  CacheKeepPolicy policy(1024, 4 * kGiB, &clock);
  // A reader source is ignored: the setting wins.
  policy.SetReaderFloorSource([] { return std::optional<int64_t>(0); });
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 9 * kGiB);
  EXPECT_EQ(policy.DropBelow(512 * kMiB, -1), 0);
}

TEST(CacheKeepPolicyTest, NeverDropsWhatDispatchHasYetToRead) {
  ManualClock clock;
  CacheKeepPolicy explicit_keep(16, 4 * kGiB, &clock);
  EXPECT_EQ(explicit_keep.DropBelow(10 * kGiB, 3 * kGiB), 3 * kGiB);
  CacheKeepPolicy automatic(kAutoKeep, 4 * kGiB, &clock);
  EXPECT_EQ(automatic.DropBelow(10 * kGiB, 5 * kGiB), 5 * kGiB);
}

TEST(CacheKeepPolicyTest, WithoutReadersKeepsOnlyTheMinimum) {
  ManualClock clock;
  CacheKeepPolicy policy(kAutoKeep, 4 * kGiB, &clock);
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 10 * kGiB - kMinKeep);
  // A young log keeps everything.
  EXPECT_EQ(policy.DropBelow(kMinKeep / 2, -1), 0);
  // A source that reports nobody with anything left to read: the same.
  policy.SetReaderFloorSource([] { return std::optional<int64_t>(); });
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 10 * kGiB - kMinKeep);
}

TEST(CacheKeepPolicyTest, KeepsWhatALaggingReaderStillHasToRead) {
  ManualClock clock;
  CacheKeepPolicy policy(kAutoKeep, 4 * kGiB, &clock);
  std::optional<int64_t> floor = 7 * kGiB;
  policy.SetReaderFloorSource([&] { return floor; });
  // 3 GiB behind: within the in-memory share, so all of it stays.
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 7 * kGiB);
  EXPECT_EQ(policy.reader_floor(), 7 * kGiB);
}

TEST(CacheKeepPolicyTest, AReaderBeyondTheInMemoryShareReadsFromDisk) {
  ManualClock clock;
  CacheKeepPolicy policy(kAutoKeep, 4 * kGiB, &clock);
  policy.SetReaderFloorSource([] { return std::optional<int64_t>(kGiB); });
  // 9 GiB behind, but only 4 GiB (accessMessageInMemoryMaxRatio of RAM) stay.
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 6 * kGiB);
}

TEST(CacheKeepPolicyTest, ACaughtUpReaderStillGetsTheMinimum) {
  ManualClock clock;
  CacheKeepPolicy policy(kAutoKeep, 4 * kGiB, &clock);
  policy.SetReaderFloorSource(
      [] { return std::optional<int64_t>(10 * kGiB - kMiB); });
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 10 * kGiB - kMinKeep);
}

TEST(CacheKeepPolicyTest, AsksTheSourceOncePerRefreshInterval) {
  ManualClock clock;
  CacheKeepPolicy policy(kAutoKeep, 4 * kGiB, &clock);
  int calls = 0;
  std::optional<int64_t> floor = 8 * kGiB;
  policy.SetReaderFloorSource([&] {
    ++calls;
    return floor;
  });
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 8 * kGiB);
  // The reader moves on, but the policy keeps the floor it saw until the
  // interval passed.
  floor = 9 * kGiB + 512 * kMiB;
  clock.Advance(CacheKeepPolicy::kReaderFloorRefreshMs - 1);
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 8 * kGiB);
  EXPECT_EQ(calls, 1);
  clock.Advance(1);
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 9 * kGiB + 512 * kMiB);
  EXPECT_EQ(calls, 2);
  // A new source is asked on the next pass.
  policy.SetReaderFloorSource([] { return std::optional<int64_t>(); });
  EXPECT_EQ(policy.DropBelow(10 * kGiB, -1), 10 * kGiB - kMinKeep);
}

}  // namespace
}  // namespace thruster::store
