#include "store/offsets.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace thruster::store {
namespace {

// Swapping one kind of offset for another, or passing a raw number, does not
// compile.
static_assert(!std::is_convertible_v<PhysOffset, QueueOffset>);
static_assert(!std::is_convertible_v<QueueOffset, PhysOffset>);
static_assert(!std::is_convertible_v<PhysOffset, FilePos>);
static_assert(!std::is_convertible_v<FilePos, PhysOffset>);
static_assert(!std::is_convertible_v<QueueOffset, FilePos>);
static_assert(!std::is_convertible_v<int64_t, PhysOffset>);
static_assert(!std::is_convertible_v<int64_t, QueueOffset>);
static_assert(!std::is_convertible_v<int32_t, FilePos>);
static_assert(!std::is_constructible_v<PhysOffset, QueueOffset>);
static_assert(!std::is_constructible_v<QueueOffset, PhysOffset>);
static_assert(sizeof(PhysOffset) == sizeof(int64_t));
static_assert(sizeof(QueueOffset) == sizeof(int64_t));
static_assert(sizeof(FilePos) == sizeof(int32_t));

TEST(OffsetsTest, MoveByCountsAndMeasureDistances) {
  constexpr PhysOffset p{4096};
  EXPECT_EQ((p + 100).value, 4196);
  EXPECT_EQ(PhysOffset{4196} - p, 100);
  EXPECT_LT(p, PhysOffset{4097});
  constexpr QueueOffset q{7};
  EXPECT_EQ(q + 1, QueueOffset{8});
  EXPECT_EQ(QueueOffset{10} - q, 3);
  constexpr FilePos f{12};
  EXPECT_EQ((f + 8).value, 20);
  EXPECT_GT(FilePos{20}, f);
}

}  // namespace
}  // namespace thruster::store
