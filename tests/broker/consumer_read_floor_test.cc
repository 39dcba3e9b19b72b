#include "broker/consumer_read_floor.h"

#include <set>
#include <string>

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

class ConsumerReadFloorTest : public ProcessorTest {
 protected:
  std::optional<int64_t> Floor() const {
    return LowestPhysOffsetToRead(
        *store_, *offsets_, [this](std::string_view group) {
          return online_.count(std::string(group)) > 0;
        });
  }
  std::set<std::string> online_;
};

TEST_F(ConsumerReadFloorTest, LowestUnreadMessageOfAnyOnlineGroup) {
  const std::string body(100, 'x');
  const int64_t a0 = Put("FloorA", 0, body);
  const int64_t b0 = Put("FloorB", 1, body);
  const int64_t a1 = Put("FloorA", 0, body);
  const int64_t b1 = Put("FloorB", 1, body);
  Put("FloorA", 0, body);
  // Nobody has committed anything, or nobody is online: no floor.
  EXPECT_EQ(Floor(), std::nullopt);
  offsets_->Commit("g1", "FloorA", 0, 1);
  EXPECT_EQ(Floor(), std::nullopt);
  online_.insert("g1");
  EXPECT_EQ(Floor(), a1);
  // A second group further behind on another topic lowers the floor.
  offsets_->Commit("g2", "FloorB", 1, 0);
  online_.insert("g2");
  EXPECT_EQ(Floor(), b0);
  // Once it read its queue to the end, it no longer counts.
  offsets_->Commit("g2", "FloorB", 1, 2);
  EXPECT_EQ(Floor(), a1);
  // The lagging group goes offline: its offsets no longer hold pages.
  offsets_->Commit("g2", "FloorB", 1, 1);
  EXPECT_EQ(Floor(), b1);
  online_.erase("g2");
  EXPECT_EQ(Floor(), a1);
  offsets_->Commit("g1", "FloorA", 0, 0);
  EXPECT_EQ(Floor(), a0);
  offsets_->Commit("g1", "FloorA", 0, 3);
  EXPECT_EQ(Floor(), std::nullopt);
}

}  // namespace
}  // namespace thruster::broker
