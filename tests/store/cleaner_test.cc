#include "store/cleaner.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/coding.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"
#include "store/consume_queue_store.h"
#include "store/index_service.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

using testing::MemFileSystem;

constexpr int64_t kHourMs = int64_t{3600} * 1000;

// The Cleaner on its own: a CommitLog, one consume queue filled the way
// dispatch fills it, and the store clock, which alone decides what is old.
class CleanerTest : public ::testing::Test {
 protected:
  CleanerTest() : fs_(&clock_) {
    config_.store_path_root_dir = "/store";
    config_.mapped_file_size_commit_log = 4096;
    config_.mapped_file_size_consume_queue = 20 * 10;
    config_.pre_touch_mapped_file = false;
    config_.file_reserved_time = 1;          // hours
    config_.delete_when = "99";              // never the delete hour...
    config_.disk_max_used_space_ratio = 10;  // ...but usage runs the age pass
  }

  void Open() {
    ASSERT_OK(fs_.CreateDirs("/store"));
    ASSERT_OK_AND_ASSIGN(checkpoint_,
                         Checkpoint::Open(&fs_, config_.CheckpointPath()));
    log_ =
        std::make_unique<CommitLog>(&fs_, config_, checkpoint_.get(), &clock_);
    ASSERT_OK(log_->Load());
    queues_ = std::make_unique<ConsumeQueueStore>(&fs_, config_);
    ASSERT_OK(queues_->Load());
    index_ = std::make_unique<IndexService>(&fs_, config_.IndexDir(), &clock_,
                                            IndexServiceOptions{64, 256, 64});
    ASSERT_OK(index_->Load(true, 0));
    cleaner_ = std::make_unique<Cleaner>(&fs_, log_.get(), queues_.get(),
                                         index_.get(), config_, &clock_);
  }

  // Appends `n` messages and their consume-queue units.
  void Put(int n) {
    std::string body(900, 'c');
    for (int i = 0; i < n; ++i) {
      message::MessageToStore m;
      m.topic = "T";
      m.body = AsBytes(body);
      m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
      m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
      PutResult r = log_->PutMessage(m);
      ASSERT_TRUE(r.ok()) << r.error;
      ASSERT_OK_AND_ASSIGN(std::shared_ptr<ConsumeQueue> cq,
                           queues_->FindOrCreateConsumeQueue("T", 0));
      ASSERT_OK(cq->PutMessagePositionInfo(PhysOffset{r.phys_offset},
                                           r.wrote_bytes, 0,
                                           QueueOffset{r.queue_offset}));
      phys_.push_back(r.phys_offset);
    }
  }

  ManualClock clock_;
  MemFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<ConsumeQueueStore> queues_;
  std::unique_ptr<IndexService> index_;
  std::unique_ptr<Cleaner> cleaner_;
  std::vector<int64_t> phys_;  // of every message put, by queue offset
};

TEST_F(CleanerTest, SegmentsExpireOnceTheStoreClockPassesFileReservedTime) {
  Open();
  Put(20);
  const auto files = log_->queue().Snapshot();
  ASSERT_GT(files.size(), 3u);
  // Just short of the reserved time: nothing goes.
  clock_.Advance(kHourMs - 1);
  cleaner_->CleanOnce();
  EXPECT_EQ(log_->GetMinOffset(), 0);
  EXPECT_EQ(queues_->FindConsumeQueue("T", 0)->GetMinOffsetInQueue(), 0);
  // An hour old: every segment but the active one goes, and the queue's units
  // before the new CommitLog minimum with them.
  clock_.Advance(1);
  cleaner_->CleanOnce();
  EXPECT_EQ(log_->GetMinOffset(), files.back()->base_offset());
  int64_t first_kept = 0;
  while (phys_[static_cast<size_t>(first_kept)] < log_->GetMinOffset())
    ++first_kept;
  EXPECT_EQ(queues_->FindConsumeQueue("T", 0)->GetMinOffsetInQueue(),
            first_kept);
  EXPECT_FALSE(cleaner_->disk_full());
}

TEST_F(CleanerTest, DiskAboveWarningRatioRefusesWritesUntilItDrops) {
  Open();
  Put(8);
  fs_.SetDiskUsage({100, 5, 5});  // 95 % used
  cleaner_->CleanOnce();
  EXPECT_TRUE(cleaner_->disk_full());
  EXPECT_GT(log_->GetMinOffset(), 0);  // unexpired segments went anyway
  fs_.SetDiskUsage({100, 50, 50});
  cleaner_->CleanOnce();
  EXPECT_FALSE(cleaner_->disk_full());
}

}  // namespace
}  // namespace thruster::store
