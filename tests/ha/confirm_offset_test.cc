// A controller-mode slave's confirm offset (spec/ha.md §7.7, store.md §6.1 and
// §9.1): records its master has not confirmed stay out of its consume queues
// across a restart (the checkpoint keeps the confirm offset), and such records
// do not stop it from reconnecting or from becoming the master.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "ha/replication_manager.h"
#include "store/message_store.h"
#include "tests/ha/controller_broker.h"
#include "tests/support/small_store.h"
#include "tests/support/test_util.h"

namespace thruster::ha {
namespace {

store::MessageStoreConfig ConfirmTestStoreConfig() {
  store::MessageStoreConfig c = testing::SmallStoreConfig();
  c.all_ack_in_sync_state_set = true;
  c.slave_timeout = 500;
  return c;
}

// Master a, slaves b and c, with allAckInSyncStateSet. The first record is on
// every member and confirmed; then c goes away while etcd still lists it, so
// the second record reaches b but is never confirmed: b's CommitLog ends at
// second_end, its confirm offset (and its dispatch) at first_end.
class SlaveConfirmOffsetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(a_.repl->BecomeMaster(1, store::BrokerRole::kSyncMaster));
    ASSERT_OK(b_.repl->BecomeSlave(1, a_.address()));
    ASSERT_OK(c_.repl->BecomeSlave(1, a_.address()));
    ASSERT_TRUE(testing::WaitUntil([&] {
      return a_.repl->LocalSyncStateSet() == std::set<int64_t>({1, 2, 3});
    }));
    a_.repl->OnSyncStateSetRecorded({1, 2, 3});
    store::PutResult r = a_.Put("on-every-member");
    ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
    first_end_ = r.phys_offset + r.wrote_bytes;
    ASSERT_TRUE(testing::WaitUntil(
        [&] { return b_.store->GetMaxOffsetInQueue("TopicI", 0) == 1; }));

    c_.repl.reset();
    ASSERT_TRUE(testing::WaitUntil([&] {
      return a_.repl->LocalSyncStateSet() == std::set<int64_t>({1, 2});
    }));
    r = a_.Put("not-on-c");
    ASSERT_EQ(r.status, store::PutStatus::kFlushSlaveTimeout);
    second_end_ = r.phys_offset + r.wrote_bytes;
    ASSERT_TRUE(testing::WaitUntil(
        [&] { return b_.store->GetMaxPhyOffset() == second_end_; }));
    ASSERT_TRUE(b_.store->WaitForDispatch(5000));
    ASSERT_EQ(b_.store->commit_log().GetConfirmOffset(), first_end_);
    ASSERT_EQ(b_.store->GetMaxOffsetInQueue("TopicI", 0), 1);
  }

  ControllerBroker a_{1, ConfirmTestStoreConfig()};
  ControllerBroker b_{2, ConfirmTestStoreConfig()};
  ControllerBroker c_{3, ConfirmTestStoreConfig()};
  int64_t first_end_ = 0;
  int64_t second_end_ = 0;
};

TEST_F(SlaveConfirmOffsetTest, RestartedSlaveDispatchesOnlyUpToTheKeptConfirm) {
  b_.Restart();
  // The CommitLog keeps the unconfirmed record; the queue does not show it.
  EXPECT_EQ(b_.store->GetMaxPhyOffset(), second_end_);
  EXPECT_EQ(b_.store->checkpoint().Get().confirm_phy_offset, first_end_);
  ASSERT_TRUE(b_.store->WaitForDispatch(5000));
  EXPECT_EQ(b_.store->commit_log().GetConfirmOffset(), first_end_);
  EXPECT_EQ(b_.store->GetMaxOffsetInQueue("TopicI", 0), 1);

  // Following its master again, b rejoins the local set; the master's confirm
  // offset still waits for c, and so does b's queue.
  ASSERT_OK(b_.repl->BecomeSlave(1, a_.address()));
  ASSERT_TRUE(testing::WaitUntil([&] {
    return a_.repl->LocalSyncStateSet() == std::set<int64_t>({1, 2});
  }));
  ASSERT_TRUE(b_.store->WaitForDispatch(5000));
  EXPECT_EQ(b_.store->GetMaxOffsetInQueue("TopicI", 0), 1);
  // Once etcd records {1, 2}, the master's confirm offset passes the record.
  a_.repl->OnSyncStateSetRecorded({1, 2});
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return b_.store->GetMaxOffsetInQueue("TopicI", 0) == 2; }));
  EXPECT_EQ(b_.store->commit_log().GetConfirmOffset(), second_end_);
}

TEST_F(SlaveConfirmOffsetTest, SlaveHoldingAnUnconfirmedRecordBecomesMaster) {
  // b is elected: what survives in its log is its own, dispatched, and the
  // next put continues the queue after it.
  ASSERT_OK(b_.repl->BecomeMaster(2, store::BrokerRole::kSyncMaster));
  EXPECT_EQ(b_.store->GetMaxOffsetInQueue("TopicI", 0), 2);
  store::PutResult r = b_.Put("on-the-new-master");
  ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
  EXPECT_EQ(r.queue_offset, 2);
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return b_.store->GetMaxOffsetInQueue("TopicI", 0) == 3; }));
}

}  // namespace
}  // namespace thruster::ha
