// Controller-mode truncation of a running store (ha spec §7.6, §7.9;
// RocketMQ's truncateFiles): the CommitLog is cut after a record, consume
// queues, index, queue offsets and dispatch follow, `store verify` finds the
// result sound, and appends continue exactly at the cut, also after a restart.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/message_store.h"
#include "store/store_verifier.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster::store {
namespace {

using testing::MemFileSystem;

class StoreTruncateTest : public ::testing::Test {
 protected:
  StoreTruncateTest() : config_(testing::SmallStoreConfig()) {}
  ~StoreTruncateTest() override { store_.reset(); }

  void Open() {
    store_.reset();
    store_ = std::make_unique<MessageStore>(&fs_, config_, &clock_);
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
  }
  PutResult PutKeyed(const std::string& body, int32_t queue_id,
                     const std::string& key) {
    const std::string props = message::EncodeProperties(
        std::map<std::string, std::string, std::less<>>{{"TAGS", "TagT"},
                                                        {"KEYS", key}});
    message::MessageToStore m;
    m.topic = "TopicT";
    m.queue_id = queue_id;
    m.body = AsBytes(body);
    m.properties = props;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
    return store_->PutMessage(m);
  }
  std::vector<std::string> Pull(int32_t queue_id) {
    std::vector<std::string> out;
    auto r = store_->GetMessage("g", "TopicT", queue_id, 0, 64, 1 << 20);
    for (auto& m : r.messages) {
      message::RecordCheck c = message::CheckRecord(m.bytes, true);
      out.push_back(c.status == message::RecordStatus::kOk
                        ? std::string(AsStringView(c.record.body)).substr(0, 3)
                        : "<bad>");
    }
    return out;
  }
  size_t Found(const std::string& key) {
    return store_->QueryMessage("TopicT", key, 32, 0, INT64_MAX)
        .messages.size();
  }
  void VerifyClosedStore() {
    store_->Shutdown();
    auto r = VerifyStore(&fs_, "/store", VerifyOptions{});
    ASSERT_OK(r.status());
    EXPECT_TRUE(r->ok) << r->error;
    EXPECT_EQ(r->index_entries_stale, 0);
  }

  ManualClock clock_;
  MemFileSystem fs_{&clock_};
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
};

TEST_F(StoreTruncateTest, CutAfterARecordTakesQueuesAndIndexAlong) {
  Open();
  // 20 records of ~700 bytes over two queues: two 8 KiB segments.
  std::vector<int64_t> ends;
  for (int i = 0; i < 20; ++i) {
    char name[8];
    std::snprintf(name, sizeof(name), "m%02d", i);
    PutResult r =
        PutKeyed(name + std::string(600, 'x'), i % 2, "k" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error;
    ends.push_back(r.phys_offset + r.wrote_bytes);
  }
  ASSERT_GT(store_->GetMaxPhyOffset(), 8192);
  ASSERT_TRUE(store_->WaitForDispatch(5000));

  store_->FenceWrites(true);
  EXPECT_EQ(PutKeyed("fenced", 0, "kf").status,
            PutStatus::kServiceNotAvailable);
  ASSERT_OK_AND_ASSIGN(int64_t cut, store_->TruncateTo(ends[7]));
  EXPECT_EQ(cut, ends[7]);
  EXPECT_EQ(store_->GetMaxPhyOffset(), ends[7]);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicT", 0), 4);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicT", 1), 4);
  EXPECT_FALSE(store_->LookMessageByOffset(ends[7]).has_value());
  EXPECT_EQ(Found("k7"), 1u);
  EXPECT_EQ(Found("k8"), 0u);
  EXPECT_EQ(Found("k19"), 0u);

  // Appends go on at the cut with the queues' next offsets.
  store_->FenceWrites(false);
  PutResult next = PutKeyed("new" + std::string(600, 'y'), 0, "knew");
  ASSERT_TRUE(next.ok()) << next.error;
  EXPECT_EQ(next.phys_offset, ends[7]);
  EXPECT_EQ(next.queue_offset, 4);
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(Pull(0),
            (std::vector<std::string>{"m00", "m02", "m04", "m06", "new"}));
  EXPECT_EQ(Found("knew"), 1u);
  EXPECT_EQ(Found("k8"), 0u);
  VerifyClosedStore();

  Open();
  EXPECT_EQ(store_->GetMaxPhyOffset(), next.phys_offset + next.wrote_bytes);
  EXPECT_EQ(Pull(1), (std::vector<std::string>{"m01", "m03", "m05", "m07"}));
  PutResult after = PutKeyed("aft", 1, "kaft");
  EXPECT_EQ(after.phys_offset, next.phys_offset + next.wrote_bytes);
  EXPECT_EQ(after.queue_offset, 4);
}

TEST_F(StoreTruncateTest,
       UnparseableTailIsCutAndAppendsResumeThereAfterReopen) {
  Open();
  std::vector<int64_t> ends;
  for (int i = 0; i < 3; ++i) {
    PutResult r =
        PutKeyed("t0" + std::to_string(i), 0, "t" + std::to_string(i));
    ASSERT_TRUE(r.ok());
    ends.push_back(r.phys_offset + r.wrote_bytes);
  }
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  // Half a record arrives from a master, as a slave's log can end.
  auto first = store_->LookMessageByOffset(0);
  ASSERT_TRUE(first.has_value());
  std::vector<std::byte> half(first->bytes.begin(),
                              first->bytes.begin() + first->bytes.size() / 2);
  store_->set_broker_role(BrokerRole::kSlave);
  ASSERT_OK(store_->AppendToCommitLog(ends[2], half));
  ASSERT_GT(store_->GetMaxPhyOffset(), ends[2]);

  ASSERT_OK_AND_ASSIGN(int64_t cut, store_->TruncateTo(INT64_MAX));
  EXPECT_EQ(cut, ends[2]);
  EXPECT_EQ(store_->GetMaxPhyOffset(), ends[2]);
  EXPECT_TRUE(store_->WaitForDispatch(5000));
  // Cutting again at the end changes nothing.
  ASSERT_OK_AND_ASSIGN(cut, store_->TruncateTo(INT64_MAX));
  EXPECT_EQ(cut, ends[2]);
  VerifyClosedStore();

  config_.broker_role = BrokerRole::kAsyncMaster;
  Open();
  EXPECT_EQ(store_->GetMaxPhyOffset(), ends[2]);
  PutResult r = PutKeyed("t03", 0, "t3");
  EXPECT_EQ(r.phys_offset, ends[2]);
  EXPECT_EQ(r.queue_offset, 3);
}

TEST_F(StoreTruncateTest, CutBeyondTheLogOrBelowItIsRefused) {
  Open();
  ASSERT_TRUE(PutKeyed("one", 0, "k1").ok());
  EXPECT_EQ(
      store_->commit_log().TruncateTo(store_->GetMaxPhyOffset() + 1).code(),
      Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->commit_log().TruncateTo(-1).code(),
            Status::Code::kInvalidArgument);
}

// A controller turns a SYNC_FLUSH master into a slave: the store now follows
// its current role, so it dispatches what it received (nobody asks a slave's
// group commit for a flush) instead of stopping at its flushed offset.
TEST_F(StoreTruncateTest, SyncFlushMasterTurnedSlaveDispatchesWhatItReceives) {
  config_.flush_disk_type = FlushDiskType::kSync;
  config_.broker_role = BrokerRole::kSyncMaster;
  Open();
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(PutKeyed("r" + std::to_string(i), i % 2, "k").ok());
  const int64_t end = store_->GetMaxPhyOffset();
  std::string log;
  for (int64_t from = 0; from < end;) {
    auto d = store_->commit_log().GetData(PhysOffset{from});
    ASSERT_TRUE(d.has_value());
    const size_t n = std::min<size_t>(d->bytes.size(),
                                      static_cast<size_t>(end - from));
    log.append(reinterpret_cast<const char*>(d->bytes.data()), n);
    from += static_cast<int64_t>(n);
  }

  MessageStoreConfig follower = config_;
  follower.store_path_root_dir = "/follower";
  MessageStore slave(&fs_, follower, &clock_);
  ASSERT_OK(slave.Load());
  ASSERT_OK(slave.Start());
  slave.set_broker_role(BrokerRole::kSlave);
  ASSERT_OK(slave.AppendToCommitLog(0, AsBytes(log)));
  EXPECT_EQ(slave.commit_log().GetConfirmOffset(), end);
  ASSERT_TRUE(slave.WaitForDispatch(5000));
  EXPECT_EQ(slave.GetMaxOffsetInQueue("TopicT", 0), 3);
  EXPECT_EQ(slave.GetMaxOffsetInQueue("TopicT", 1), 3);
  slave.Shutdown();
}

// Controller mode keeps the confirm offset in the checkpoint (store spec §6.1,
// §9.1): after a restart dispatch stops where it stood, at the start of the
// record the kept offset falls inside, until replication confirms more. A
// store that never kept it leaves the field alone.
TEST_F(StoreTruncateTest, KeptConfirmOffsetHoldsDispatchAfterARestart) {
  Open();
  ASSERT_TRUE(PutKeyed("aaa", 0, "k1").ok());
  PutResult second = PutKeyed("bbb", 0, "k2");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(PutKeyed("ccc", 0, "k3").ok());
  // A confirm offset inside the second record, as an HA frame can leave it.
  const int64_t inside = second.phys_offset + second.wrote_bytes / 2;
  store_->Shutdown();
  Open();
  EXPECT_EQ(store_->checkpoint().Get().confirm_phy_offset, 0);
  store_->checkpoint().set_confirm_phy_offset(inside);
  store_->Shutdown();

  Open();
  ASSERT_OK(store_->KeepConfirmOffset());
  EXPECT_EQ(store_->commit_log().GetConfirmOffset(), inside);
  ASSERT_TRUE(
      testing::WaitUntil([&] { return store_->dispatch_behind_bytes() <= 0; }));
  EXPECT_EQ(Pull(0), std::vector<std::string>({"aaa"}));
  EXPECT_EQ(Found("k1"), 1u);
  EXPECT_EQ(Found("k2"), 0u);
  EXPECT_EQ(store_->GetMaxPhyOffset(),
            second.phys_offset + second.wrote_bytes * 2);
  // Replication confirms the rest.
  store_->commit_log().set_replica_confirm_offset(-1);
  ASSERT_TRUE(testing::WaitUntil([&] { return Pull(0).size() == 3; }));
  EXPECT_EQ(Pull(0), std::vector<std::string>({"aaa", "bbb", "ccc"}));
  EXPECT_EQ(Found("k2"), 1u);
  const int64_t end = store_->GetMaxPhyOffset();
  store_->Shutdown();
  Open();
  EXPECT_EQ(store_->checkpoint().Get().confirm_phy_offset, end);
}

// A slave that holds only the head of a record its master confirmed up to the
// middle of has dispatched all it can: it is not behind (a shutdown would
// otherwise wait for it and leave `abort`).
TEST_F(StoreTruncateTest, SlaveHoldingPartOfAConfirmedRecordIsNotBehind) {
  Open();
  PutResult first = PutKeyed("aaa", 0, "k1");
  PutResult second = PutKeyed("bbb", 0, "k2");
  ASSERT_TRUE(first.ok() && second.ok());
  std::string log;
  auto d = store_->commit_log().GetData(PhysOffset{0});
  ASSERT_TRUE(d.has_value());
  const int64_t half = second.phys_offset + second.wrote_bytes / 2;
  log.append(reinterpret_cast<const char*>(d->bytes.data()),
             static_cast<size_t>(half));

  MessageStoreConfig follower = config_;
  follower.store_path_root_dir = "/follower";
  MessageStore slave(&fs_, follower, &clock_);
  ASSERT_OK(slave.Load());
  ASSERT_OK(slave.Start());
  slave.set_broker_role(BrokerRole::kSlave);
  slave.commit_log().set_replica_confirm_offset(half);
  ASSERT_OK(slave.AppendToCommitLog(0, AsBytes(log)));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return slave.GetMaxOffsetInQueue("TopicT", 0) == 1; }));
  EXPECT_TRUE(
      testing::WaitUntil([&] { return slave.dispatch_behind_bytes() == 0; }));
  slave.Shutdown();
  EXPECT_FALSE(fs_.Exists("/follower/abort"));
}

}  // namespace
}  // namespace thruster::store
