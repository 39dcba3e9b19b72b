// The in-sync replica set of a controller-mode master (spec/ha.md §7.7): the
// set's rules on a manual clock, then a master and two slaves on loopback
// where a SYNC_MASTER put with allAckInSyncStateSet is acknowledged only once
// every in-sync slave holds it.
#include "ha/sync_state_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "ha/auto_switch_protocol.h"
#include "ha/ha_socket.h"
#include "ha/replication_manager.h"
#include "store/message_store.h"
#include "tests/ha/controller_broker.h"
#include "tests/support/small_store.h"
#include "tests/support/test_util.h"

namespace thruster::ha {
namespace {

using IsrIds = std::set<int64_t>;

SyncStateSetOptions IsrOptions(bool all_ack) {
  SyncStateSetOptions o;
  o.max_time_not_catchup_ms = 15000;
  o.all_ack = all_ack;
  return o;
}

TEST(SyncStateSetTest, SlaveJoinsWhenCaughtUpAndLeavesAfterTheTimeout) {
  ManualClock clock;
  SyncStateSet set(IsrOptions(false), &clock);
  set.Reset(1, 0);
  EXPECT_EQ(set.local(), IsrIds({1}));
  set.OnConnected(2);
  set.OnTransfer(2, 1000);
  set.OnAck(2, 500, 1000);  // behind
  EXPECT_EQ(set.local(), IsrIds({1}));
  set.OnAck(2, 1000, 1000);  // caught up with the max
  EXPECT_EQ(set.local(), IsrIds({1, 2}));

  // The master keeps writing; the slave stops acknowledging.
  set.OnTransfer(2, 5000);
  clock.Advance(15000);
  EXPECT_FALSE(set.Shrink(5000));  // exactly at the limit: still in
  clock.Advance(1);
  EXPECT_TRUE(set.Shrink(5000));
  EXPECT_EQ(set.local(), IsrIds({1}));

  // It catches up again: back in.
  set.OnAck(2, 5000, 5000);
  EXPECT_EQ(set.local(), IsrIds({1, 2}));
}

TEST(SyncStateSetTest, ReportReachingAnEarlierTransferCountsFromThen) {
  ManualClock clock;
  SyncStateSet set(IsrOptions(false), &clock);
  set.Reset(1, 0);
  set.OnConnected(2);
  set.OnTransfer(2, 100);
  set.OnAck(2, 100, 100);
  ASSERT_EQ(set.local(), IsrIds({1, 2}));
  // A frame sent at t+10 s while the max was 200; the slave reports 200 at
  // t+20 s when the max has moved on to 300: caught up as of t+10 s.
  clock.Advance(10000);
  set.OnTransfer(2, 200);
  clock.Advance(10000);
  set.OnAck(2, 200, 300);
  clock.Advance(5000);  // 15 s after the transfer: in
  EXPECT_FALSE(set.Shrink(300));
  clock.Advance(1);
  EXPECT_TRUE(set.Shrink(300));
  EXPECT_EQ(set.local(), IsrIds({1}));
}

TEST(SyncStateSetTest, IdleCaughtUpSlaveStaysAndDisconnectedOneLeaves) {
  ManualClock clock;
  SyncStateSet set(IsrOptions(false), &clock);
  int notified = 0;
  set.set_on_local_change([&] { ++notified; });
  set.Reset(1, 0);
  set.OnConnected(2);
  set.OnConnected(3);
  set.OnAck(2, 700, 700);
  set.OnAck(3, 700, 700);
  EXPECT_EQ(set.local(), IsrIds({1, 2, 3}));
  EXPECT_EQ(notified, 2);
  clock.Advance(60000);  // nothing written: both still hold the max
  EXPECT_FALSE(set.Shrink(700));
  set.OnDisconnected(3);
  EXPECT_EQ(set.local(), IsrIds({1, 2}));
  EXPECT_EQ(notified, 3);
  // A slave that is not in the set does not join below the epoch's start.
  SyncStateSet epoch_set(IsrOptions(false), &clock);
  epoch_set.Reset(1, 900);
  epoch_set.OnConnected(2);
  epoch_set.OnAck(2, 800, 800);
  EXPECT_EQ(epoch_set.local(), IsrIds({1}));
}

TEST(SyncStateSetTest, ConfirmOffsetAndWaitsUseEveryMemberWithAllAck) {
  ManualClock clock;
  SyncStateSet set(IsrOptions(true), &clock);
  set.Reset(1, 0);
  EXPECT_FALSE(set.NeedsAcks());  // alone: nothing to wait for
  EXPECT_EQ(set.ConfirmOffset(400), 400);
  set.OnConnected(2);
  set.OnConnected(3);
  set.OnAck(2, 400, 400);
  set.OnAck(3, 400, 400);
  ASSERT_EQ(set.local(), IsrIds({1, 2, 3}));
  set.SetConfirmed({1, 2, 3});
  EXPECT_TRUE(set.NeedsAcks());
  set.OnAck(2, 900, 1000);
  set.OnAck(3, 600, 1000);
  EXPECT_EQ(set.ConfirmOffset(1000), 600);
  EXPECT_TRUE(set.Covered(600));
  EXPECT_FALSE(set.Covered(601));

  // 3 disconnects: it leaves `local`, but etcd still lists it, so puts keep
  // waiting for it and the confirm offset stays where it was.
  set.OnDisconnected(3);
  EXPECT_EQ(set.local(), IsrIds({1, 2}));
  EXPECT_FALSE(set.Covered(700));
  EXPECT_EQ(set.ConfirmOffset(1000), 600);
  // etcd takes the smaller set: 2 alone decides.
  set.SetConfirmed({1, 2});
  EXPECT_TRUE(set.Covered(900));
  EXPECT_EQ(set.ConfirmOffset(1000), 900);
}

TEST(SyncStateSetTest, InSyncReplicasCountsCopiesAndMinInSyncAdmits) {
  ManualClock clock;
  SyncStateSetOptions o = IsrOptions(false);
  o.in_sync_replicas = 2;
  o.min_in_sync_replicas = 2;
  SyncStateSet set(o, &clock);
  set.Reset(1, 0);
  EXPECT_TRUE(set.NeedsAcks());
  EXPECT_FALSE(set.EnoughReplicas());  // {1} < 2
  set.OnConnected(2);
  set.OnAck(2, 50, 50);
  EXPECT_TRUE(set.EnoughReplicas());
  EXPECT_TRUE(set.Covered(50));
  EXPECT_FALSE(set.Covered(51));  // only the master holds it
  // A proposed shrink keeps admitting at the larger size until recorded.
  set.SetConfirmed({1, 2});
  set.OnDisconnected(2);
  EXPECT_TRUE(set.EnoughReplicas());
  set.SetConfirmed({1});
  EXPECT_FALSE(set.EnoughReplicas());
}

// ---------------------------------------------------------------------------
// A SYNC_MASTER with allAckInSyncStateSet and two slaves on loopback.

store::MessageStoreConfig IsrStoreConfig() {
  store::MessageStoreConfig c = thruster::testing::SmallStoreConfig();
  c.all_ack_in_sync_state_set = true;
  c.slave_timeout = 500;
  return c;
}

// A broker of the group: the shared controller-mode fixture with the store
// config above.
struct IsrBroker : ControllerBroker {
  explicit IsrBroker(int64_t id, int32_t min_in_sync = 1)
      : ControllerBroker(id, IsrStoreConfigWithMin(min_in_sync)) {}
  static store::MessageStoreConfig IsrStoreConfigWithMin(int32_t min_in_sync) {
    store::MessageStoreConfig c = IsrStoreConfig();
    c.min_in_sync_replicas = min_in_sync;
    return c;
  }
};

TEST(SyncStateSetReplicationTest, AllAckPutIsOnEveryInSyncSlaveWhenAcked) {
  IsrBroker a(1), b(2), c(3);
  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kSyncMaster));
  ASSERT_TRUE(a.Put("alone").ok());  // {1}: nothing to wait for
  ASSERT_OK(b.repl->BecomeSlave(1, a.address()));
  ASSERT_OK(c.repl->BecomeSlave(1, a.address()));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 2, 3}); }));
  // What the controller does once etcd took the set.
  a.repl->OnSyncStateSetRecorded({1, 2, 3});

  for (int i = 0; i < 20; ++i) {
    store::PutResult r = a.Put("m" + std::to_string(i));
    ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
    const int64_t end = r.phys_offset + r.wrote_bytes;
    EXPECT_GE(b.store->GetMaxPhyOffset(), end) << "put " << i;
    EXPECT_GE(c.store->GetMaxPhyOffset(), end) << "put " << i;
  }
  // The master's dispatch follows the confirm offset: everything is there.
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return a.store->GetMaxOffsetInQueue("TopicI", 0) == 21; }));

  // c goes away: it leaves the local set at once, but until etcd records the
  // smaller set a put still waits for it (and times out), since c could
  // still be elected.
  c.repl.reset();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 2}); }));
  EXPECT_EQ(a.Put("waits-for-c").status, store::PutStatus::kFlushSlaveTimeout);
  a.repl->OnSyncStateSetRecorded({1, 2});
  store::PutResult r = a.Put("b-only");
  ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
  EXPECT_GE(b.store->GetMaxPhyOffset(), r.phys_offset + r.wrote_bytes);
}

TEST(SyncStateSetReplicationTest, TooFewInSyncReplicasRefusesBeforeStoring) {
  IsrBroker a(1, /*min_in_sync=*/2), b(2);
  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kSyncMaster));
  const int64_t before = a.store->GetMaxPhyOffset();
  store::PutResult r = a.Put("refused");
  EXPECT_EQ(r.status, store::PutStatus::kInSyncReplicasNotEnough);
  EXPECT_EQ(r.error, "in-sync replicas not enough");
  EXPECT_EQ(a.store->GetMaxPhyOffset(), before);  // not stored
  ASSERT_OK(b.repl->BecomeSlave(1, a.address()));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 2}); }));
  r = a.Put("admitted");
  ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
  EXPECT_GE(b.store->GetMaxPhyOffset(), r.phys_offset + r.wrote_bytes);
}

// RocketMQ 5: a slave's dispatch stops at the confirm offset its master sends,
// so a consumer of the slave never sees a record some member lacks.
TEST(SyncStateSetReplicationTest, SlaveDispatchesOnlyUpToTheMastersConfirm) {
  IsrBroker a(1), b(2), c(3);
  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kSyncMaster));
  ASSERT_OK(b.repl->BecomeSlave(1, a.address()));
  ASSERT_OK(c.repl->BecomeSlave(1, a.address()));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 2, 3}); }));
  a.repl->OnSyncStateSetRecorded({1, 2, 3});
  store::PutResult r = a.Put("on-every-member");
  ASSERT_EQ(r.status, store::PutStatus::kPutOk) << r.error;
  const int64_t first_end = r.phys_offset + r.wrote_bytes;
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return c.store->GetMaxOffsetInQueue("TopicI", 0) == 1; }));

  // b goes away but stays recorded: the confirm offset stays where b's last
  // ack left it, so what only a and c hold is not confirmed.
  b.repl.reset();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 3}); }));
  r = a.Put("not-on-b");
  EXPECT_EQ(r.status, store::PutStatus::kFlushSlaveTimeout);
  const int64_t second_end = r.phys_offset + r.wrote_bytes;
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return c.store->GetMaxPhyOffset() >= second_end; }));
  // c's CommitLog holds the record; its dispatch has caught up with what it
  // may dispatch, which ends before the record.
  ASSERT_TRUE(c.store->WaitForDispatch(5000));
  EXPECT_EQ(c.store->commit_log().GetConfirmOffset(), first_end);
  EXPECT_EQ(c.store->GetMaxOffsetInQueue("TopicI", 0), 1);
  EXPECT_EQ(a.store->GetMaxOffsetInQueue("TopicI", 0), 1);

  // Once the controller records {1, 3}, c's ack confirms the record and the
  // master sends the new confirm offset without waiting for a heartbeat.
  a.repl->OnSyncStateSetRecorded({1, 3});
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return c.store->GetMaxOffsetInQueue("TopicI", 0) == 2; }));
  EXPECT_EQ(c.store->commit_log().GetConfirmOffset(), second_end);
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return a.store->GetMaxOffsetInQueue("TopicI", 0) == 2; }));
}

// GET_BROKER_HA_STATUS's inSyncSlaveNums in controller mode: the in-sync
// set's members less the master, whatever haMaxGapNotInSync says.
TEST(SyncStateSetReplicationTest, RuntimeInfoCountsTheInSyncSet) {
  IsrBroker a(1), b(2);
  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kSyncMaster));
  HaRuntimeInfo info = a.repl->service().RuntimeInfo(0, 1);
  EXPECT_EQ(info.in_sync_slave_nums, 0);
  EXPECT_TRUE(info.slaves.empty());
  ASSERT_TRUE(a.Put("before-b").ok());
  ASSERT_OK(b.repl->BecomeSlave(1, a.address()));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1, 2}); }));
  // A gap of 0 puts nobody in sync by the 4.x rule; the set says b is.
  info = a.repl->service().RuntimeInfo(a.store->GetMaxPhyOffset(), 0);
  EXPECT_EQ(info.in_sync_slave_nums, 1);
  ASSERT_EQ(info.slaves.size(), 1u);
  EXPECT_EQ(info.slaves[0].slave_id, 2);
  EXPECT_TRUE(info.slaves[0].in_sync);

  // b leaves the set when its connection closes: 0 again.
  b.repl.reset();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return a.repl->LocalSyncStateSet() == IsrIds({1}); }));
  info = a.repl->service().RuntimeInfo(a.store->GetMaxPhyOffset(), 1 << 30);
  EXPECT_EQ(info.in_sync_slave_nums, 0);
}

// The shrink check runs on the set's own timer (ha-isr-check), on the
// manual clock: a slave that stops acknowledging leaves the local set just
// after haMaxTimeSlaveNotCatchup with no controller round at all, and the
// controller is told at once. The slave is a bare socket speaking the
// auto-switch stream, so it can stop reporting while staying connected.
TEST(SyncStateSetReplicationTest, ShrinkRunsOnItsOwnTimer) {
  ManualClock clock;
  store::MessageStoreConfig config = IsrStoreConfig();
  config.all_ack_in_sync_state_set = false;
  config.ha_max_time_slave_not_catchup = 200;
  ControllerBroker a(
      ControllerBrokerOptions{1, config, "TopicI", "TagI", 0, &clock});
  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kAsyncMaster));
  ASSERT_TRUE(a.Put("before-the-slave").ok());
  SyncStateSet* set = a.repl->service().sync_state_set();
  std::atomic<int> proposed{0};
  set->set_on_local_change([&] { proposed.fetch_add(1); });

  Result<Socket> slave = Connect(a.address(), 2000);
  ASSERT_OK(slave.status());
  std::vector<std::byte> in(1 << 16);
  size_t have = 0;
  auto next_message = [&]() -> std::optional<MasterMessage> {
    for (int i = 0; i < 50; ++i) {
      auto m = DecodeMasterMessage(std::span(in).first(have), in.size());
      if (!m.ok()) return std::nullopt;
      if (m->has_value()) {
        std::copy(in.begin() + static_cast<std::ptrdiff_t>((*m)->size),
                  in.begin() + static_cast<std::ptrdiff_t>(have), in.begin());
        have -= (*m)->size;
        return **m;
      }
      Result<size_t> n = slave->ReadSome(std::span(in).subspan(have), 100);
      if (!n.ok()) return std::nullopt;
      have += *n;
    }
    return std::nullopt;
  };
  ASSERT_OK(slave->WriteAll(EncodeSlaveHandshake({false, false, 2}), 2000));
  ASSERT_TRUE(next_message().has_value());  // the master's handshake
  ASSERT_OK(
      slave->WriteAll(EncodeSlaveReport(a.store->GetMaxPhyOffset()), 2000));
  ASSERT_TRUE(testing::WaitUntil([&] {
    return set->local() == IsrIds({1, 2});
  }));
  EXPECT_EQ(proposed.load(), 1);

  // The master writes on; the slave receives the frame and stays silent.
  ASSERT_TRUE(a.Put("never-acknowledged").ok());
  std::optional<MasterMessage> frame;
  do {
    frame = next_message();
  } while (frame && frame->transfer.body_size == 0);
  ASSERT_TRUE(frame.has_value());

  clock.Advance(200);  // exactly haMaxTimeSlaveNotCatchup: still in
  const int64_t seen = a.repl->service().SyncStateSetChecksForTesting();
  ASSERT_TRUE(testing::WaitUntil([&] {
    return a.repl->service().SyncStateSetChecksForTesting() >= seen + 2;
  }));
  EXPECT_EQ(set->local(), IsrIds({1, 2}));
  clock.Advance(1);
  EXPECT_TRUE(testing::WaitUntil([&] { return set->local() == IsrIds({1}); }));
  EXPECT_EQ(proposed.load(), 2);
}

}  // namespace
}  // namespace thruster::ha
