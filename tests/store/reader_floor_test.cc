#include "store/reader_floor.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "common/coding.h"
#include "message/host_address.h"
#include "message/message.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

class ReaderFloorTest : public ::testing::Test {
 protected:
  ReaderFloorTest() {
    config_.store_path_root_dir = "/store";
    config_.mapped_file_size_commit_log = 64 * 1024;
    config_.mapped_file_size_consume_queue = 20 * 64;
    config_.max_hash_slot_num = 64;
    config_.max_index_num = 256;
    config_.pre_touch_mapped_file = false;
    store_ = std::make_unique<MessageStore>(&fs_, config_);
  }

  void SetUp() override {
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
  }

  int64_t Put(const std::string& topic, int32_t queue_id) {
    const std::string body(100, 'r');
    message::MessageToStore m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = AsBytes(body);
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
    PutResult r = store_->PutMessage(m);
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(store_->WaitForDispatch(5000));
    return r.phys_offset;
  }

  // The next offsets of the live readers, by (topic, queue).
  std::optional<int64_t> Floor() const {
    return LowestPhysOffsetToRead(
        *store_, [this](std::string_view topic, int32_t queue_id,
                        std::vector<int64_t>* next) {
          auto it = readers_.find({std::string(topic), queue_id});
          if (it != readers_.end())
            next->insert(next->end(), it->second.begin(), it->second.end());
        });
  }

  testing::MemFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
  std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> readers_;
};

TEST_F(ReaderFloorTest, LowestUnreadMessageOverEveryReaderAndQueue) {
  const int64_t a0 = Put("FloorA", 0);
  const int64_t b0 = Put("FloorB", 1);
  const int64_t a1 = Put("FloorA", 0);
  const int64_t b1 = Put("FloorB", 1);
  Put("FloorA", 0);
  // Nobody reads: no floor.
  EXPECT_EQ(Floor(), std::nullopt);
  readers_[{"FloorA", 0}] = {1};
  EXPECT_EQ(Floor(), a1);
  // A second reader further behind on another topic lowers the floor.
  readers_[{"FloorB", 1}] = {0};
  EXPECT_EQ(Floor(), b0);
  // Once it read its queue to the end (or beyond), it no longer counts.
  readers_[{"FloorB", 1}] = {2};
  EXPECT_EQ(Floor(), a1);
  readers_[{"FloorB", 1}] = {7};
  EXPECT_EQ(Floor(), a1);
  // Two readers of one queue: the one behind counts.
  readers_[{"FloorA", 0}] = {3};
  readers_[{"FloorB", 1}] = {2, 1};
  EXPECT_EQ(Floor(), b1);
  readers_[{"FloorA", 0}] = {3, 0};
  EXPECT_EQ(Floor(), a0);
  // A reader asking below the queue's min offset reads from the min.
  readers_[{"FloorA", 0}] = {-5};
  EXPECT_EQ(Floor(), a0);
  readers_[{"FloorA", 0}] = {3};
  readers_[{"FloorB", 1}] = {2};
  EXPECT_EQ(Floor(), std::nullopt);
}

}  // namespace
}  // namespace thruster::store
