// The `dispatch` thread seen from the store's API: which arrival
// notifications the listener gets for a pass, and queues the dispatch thread's
// queue cache does not hold.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/coding.h"
#include "common/mutex.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/dispatch_queue_cache.h"
#include "store/message_store.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/small_store.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

// One listener call: topic, queue id, next queue offset, tags code.
using ArrivalCall = std::tuple<std::string, int32_t, int64_t, int64_t>;

class DispatchArrivalTest : public ::testing::Test {
 protected:
  DispatchArrivalTest() : fs_(&clock_), config_(testing::SmallStoreConfig()) {
    // Every record of a test in one CommitLog segment: a pass then reads
    // them in one stretch.
    config_.mapped_file_size_commit_log = 1 << 20;
  }
  ~DispatchArrivalTest() override {
    Release();
    store_.reset();
  }

  void Open() {
    store_ = std::make_unique<MessageStore>(&fs_, config_, &clock_);
    ASSERT_OK(store_->Load());
    // The listener records each call, after checking that what it is told
    // about is already readable, and holds the dispatch thread in its first
    // call until the test lets it go.
    store_->SetMessageArrivingListener([this](std::string_view topic,
                                              int32_t queue_id, int64_t next,
                                              int64_t tags_code, int64_t) {
      const int64_t visible = store_->GetMaxOffsetInQueue(topic, queue_id);
      MutexLock lock(&mu_);
      calls_.emplace_back(std::string(topic), queue_id, next, tags_code);
      if (visible < next) ++told_early_;
      while (calls_.size() == 1 && !released_) cv_.Wait(&mu_);
    });
    ASSERT_OK(store_->Start());
  }
  void Release() {
    MutexLock lock(&mu_);
    released_ = true;
    cv_.SignalAll();
  }
  std::vector<ArrivalCall> Calls() {
    MutexLock lock(&mu_);
    return calls_;
  }
  int told_early() {
    MutexLock lock(&mu_);
    return told_early_;
  }

  void PutTo(int32_t queue_id, const std::string& tags,
             const std::string& topic = "DispatchT") {
    std::string props = message::EncodeProperties({{"TAGS", tags}});
    message::MessageToStore m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = AsBytes(std::string_view("body"));
    m.properties = props;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
    PutResult r = store_->PutMessage(m);
    ASSERT_TRUE(r.ok()) << r.error;
  }

  ManualClock clock_;
  testing::MemFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
  Mutex mu_;
  CondVar cv_;
  std::vector<ArrivalCall> calls_ TH_GUARDED_BY(mu_);
  int told_early_ TH_GUARDED_BY(mu_) = 0;
  bool released_ TH_GUARDED_BY(mu_) = false;
};

TEST_F(DispatchArrivalTest, OnePassTellsEachRunOfAQueueAndTagOnce) {
  Open();
  const int64_t a = message::JHash("A");
  const int64_t b = message::JHash("B");
  PutTo(0, "A");
  // The dispatch thread is now held in the listener's first call; the records
  // below are all in the CommitLog when it goes on, so its next pass reads
  // them in one stretch.
  ASSERT_TRUE(testing::WaitUntil([&] { return Calls().size() == 1; }));
  for (auto [queue_id, tags] : std::vector<std::pair<int32_t, std::string>>{
           {0, "A"},     // queue 0 offset 1
           {0, "A"},     // 2
           {1, "A"},     // queue 1 offset 0
           {0, "A"},     // 3: same queue and tag as 1 and 2
           {0, "B"},     // 4: a new tag starts a new run
           {0, "B"},     // 5
           {1, "A"},     // queue 1 offset 1
           {0, "A"}}) {  // 6: after the B run, a run of its own
    PutTo(queue_id, tags);
  }
  Release();
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  ASSERT_TRUE(testing::WaitUntil([&] { return Calls().size() >= 5; }));
  EXPECT_EQ(Calls(), (std::vector<ArrivalCall>{{"DispatchT", 0, 1, a},
                                               {"DispatchT", 0, 4, a},
                                               {"DispatchT", 1, 2, a},
                                               {"DispatchT", 0, 6, b},
                                               {"DispatchT", 0, 7, a}}));
  EXPECT_EQ(told_early(), 0);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", 0), 7);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", 1), 2);
}

TEST_F(DispatchArrivalTest,
       QueueIdsBeyondTheCacheAndDeletedTopicsStillDispatch) {
  Open();
  Release();
  const int32_t big = DispatchQueueCache::kMaxCachedQueueId + 3;
  PutTo(big, "A");
  PutTo(1, "A");
  PutTo(big, "A");
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", big), 2);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", 1), 1);
  // A topic deleted after its queues were cached gets new queues: the cache
  // lets go of the old ones.
  ASSERT_OK(store_->DeleteTopic("DispatchT"));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", 1), 0);
  PutTo(1, "A");
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("DispatchT", 1), 1);
  EXPECT_EQ(store_->GetMessage("g", "DispatchT", 1, 0, 32, 1 << 20).status,
            GetMessageStatus::kFound);
  EXPECT_EQ(told_early(), 0);
}

}  // namespace
}  // namespace thruster::store
