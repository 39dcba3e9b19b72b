// Controller mode (spec/ha.md §7.6–§7.9): the auto-switch stream's bytes as
// the spec draws them, and two brokers on loopback changing roles by epoch:
// an old master that wrote bytes nobody copied returns as a slave, is cut back
// to the consistent point and ends with the new master's log byte for byte.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "ha/auto_switch_protocol.h"
#include "ha/epoch_file.h"
#include "ha/replication_manager.h"
#include "store/message_store.h"
#include "tests/ha/controller_broker.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster::ha {
namespace {

std::string AutoSwitchHex(std::span<const std::byte> b) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i > 0) out += ' ';
    const auto v = static_cast<unsigned>(b[i]);
    out += kDigits[v >> 4];
    out += kDigits[v & 15];
  }
  return out;
}

TEST(AutoSwitchProtocolTest, SpecExampleBytes) {
  EXPECT_EQ(
      AutoSwitchHex(EncodeSlaveHandshake(SlaveHandshake{false, false, 2})),
      "00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 02");
  const std::vector<std::byte> hs =
      EncodeMasterHandshake(1073742824, 2, {{1, 0, 0}, {2, 1073741824, 0}});
  EXPECT_EQ(AutoSwitchHex(hs),
            "00 00 00 01 00 00 00 18 00 00 00 00 40 00 03 E8 00 00 00 02 "
            "00 00 00 01 00 00 00 00 00 00 00 00 "
            "00 00 00 02 00 00 00 00 40 00 00 00");
  EXPECT_EQ(AutoSwitchHex(EncodeSlaveReport(0x40000000)),
            "00 00 00 02 00 00 00 00 40 00 00 00");
  EXPECT_EQ(AutoSwitchHex(EncodeAutoSwitchTransferHeader(
                {1000, 0x40000000, 2, 0x40000000, 0x40000000})),
            "00 00 00 02 00 00 03 E8 00 00 00 00 40 00 00 00 00 00 00 02 "
            "00 00 00 00 40 00 00 00 00 00 00 00 40 00 00 00");
}

TEST(AutoSwitchProtocolTest, DecodesWholeMessagesOnly) {
  const std::vector<std::byte> hs =
      EncodeMasterHandshake(1073742824, 2, {{1, 0, 0}, {2, 1073741824, 0}});
  auto partial = DecodeMasterMessage(std::span(hs).first(hs.size() - 1), 1024);
  ASSERT_OK(partial.status());
  EXPECT_FALSE(partial->has_value());
  auto whole = DecodeMasterMessage(hs, 1024);
  ASSERT_OK(whole.status());
  ASSERT_TRUE(whole->has_value());
  EXPECT_EQ((*whole)->size, hs.size());
  EXPECT_EQ((*whole)->handshake.max_offset, 1073742824);
  EXPECT_EQ((*whole)->handshake.entries,
            (std::vector<EpochEntry>{{1, 0, 0}, {2, 1073741824, 0}}));

  std::vector<std::byte> frame(kAutoSwitchTransferHeaderSize + 3);
  auto h = EncodeAutoSwitchTransferHeader({3, 77, 5, 70, 80});
  std::copy(h.begin(), h.end(), frame.begin());
  auto t = DecodeMasterMessage(frame, 1024);
  ASSERT_OK(t.status());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->transfer.offset, 77);
  EXPECT_EQ((*t)->transfer.epoch, 5);
  EXPECT_EQ((*t)->transfer.epoch_start_offset, 70);
  EXPECT_EQ((*t)->transfer.confirm_offset, 80);
  EXPECT_EQ((*t)->size, frame.size());

  auto report = DecodeSlaveMessage(EncodeSlaveReport(1234));
  ASSERT_OK(report.status());
  EXPECT_EQ((*report)->report, 1234);
  auto shake = DecodeSlaveMessage(EncodeSlaveHandshake({true, false, 9}));
  ASSERT_OK(shake.status());
  EXPECT_TRUE((*shake)->handshake.sync_from_last_file);
  EXPECT_EQ((*shake)->handshake.slave_id, 9);

  // A state the stream does not know, and a negative body, are errors.
  std::vector<std::byte> bad(kSlaveReportSize);
  StoreI32(bad.data(), 3);
  EXPECT_FALSE(DecodeSlaveMessage(bad).ok());
  StoreI32(frame.data() + 4, -1);
  EXPECT_FALSE(DecodeMasterMessage(frame, 1024).ok());
}

// A broker of the group: the shared controller-mode fixture, with bodies
// padded so that 30 messages fill more than one 8 KiB segment.
struct AutoSwitchBroker : ControllerBroker {
  explicit AutoSwitchBroker(int64_t controller_id)
      : ControllerBroker(ControllerBrokerOptions{
            controller_id, testing::SmallStoreConfig(), "TopicE", "TagE", 300,
            SystemClock::Default()}) {}
};

TEST(AutoSwitchFailoverTest, ReturningOldMasterIsCutToTheConsistentPoint) {
  AutoSwitchBroker a(1);
  AutoSwitchBroker b(2);
  // Controller mode starts fenced.
  EXPECT_TRUE(a.repl->fenced());
  EXPECT_EQ(a.Put("early").status, store::PutStatus::kServiceNotAvailable);

  ASSERT_OK(a.repl->BecomeMaster(1, store::BrokerRole::kAsyncMaster));
  EXPECT_FALSE(a.repl->fenced());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(a.Put("a" + std::to_string(i)).ok());
  ASSERT_OK(b.repl->BecomeSlave(1, a.address()));
  ASSERT_TRUE(testing::WaitUntil([&] {
    return b.store->GetMaxPhyOffset() == a.store->GetMaxPhyOffset();
  }));
  ASSERT_GT(a.store->GetMaxPhyOffset(), 8192);  // more than one segment
  EXPECT_EQ(b.repl->epoch_file()->Entries(b.repl->max_offset()),
            a.repl->epoch_file()->Entries(a.repl->max_offset()));
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return b.repl->confirm_offset() == a.store->GetMaxPhyOffset(); }));

  // B is elected at epoch 2; A, cut off from it, still writes at epoch 1.
  const int64_t epoch2_start = b.store->GetMaxPhyOffset();
  ASSERT_OK(b.repl->BecomeMaster(2, store::BrokerRole::kAsyncMaster));
  EXPECT_EQ(b.repl->last_epoch(), 2);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(a.Put("lost" + std::to_string(i)).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Put("b" + std::to_string(i)).ok());
  ASSERT_GT(a.store->GetMaxPhyOffset(), epoch2_start);

  // A returns as B's slave: fenced at once, cut to 2's start, then follows.
  ASSERT_OK(a.repl->BecomeSlave(2, b.address()));
  EXPECT_EQ(a.Put("refused").status, store::PutStatus::kServiceNotAvailable);
  ASSERT_TRUE(testing::WaitUntil([&] {
    return a.store->GetMaxPhyOffset() == b.store->GetMaxPhyOffset() &&
           a.repl->epoch_file()->last_epoch() == 2;
  }));
  EXPECT_TRUE(a.Log() == b.Log()) << "A's CommitLog differs from B's";
  EXPECT_EQ(a.repl->epoch_file()->Entries(a.repl->max_offset()),
            (std::vector<EpochEntry>{{1, 0, epoch2_start},
                                     {2, epoch2_start, b.repl->max_offset()}}));
  ASSERT_TRUE(a.store->WaitForDispatch(5000));
  EXPECT_EQ(a.store->GetMaxOffsetInQueue("TopicE", 0), 35);
  EXPECT_EQ(a.store->GetMaxOffsetInQueue("TopicE", 0),
            b.store->GetMaxOffsetInQueue("TopicE", 0));

  // A restarted manager refuses an epoch older than its file's last one.
  b.StartReplication();
  EXPECT_TRUE(b.repl->fenced());
  EXPECT_EQ(b.repl->BecomeMaster(1, store::BrokerRole::kAsyncMaster).code(),
            Status::Code::kInvalidArgument);
  ASSERT_OK(b.repl->BecomeMaster(3, store::BrokerRole::kAsyncMaster));
  EXPECT_EQ(b.repl->epoch_file()->LastEntry(),
            (EpochEntry{3, b.store->GetMaxPhyOffset(), 0}));
  b.repl->Fence();
  EXPECT_EQ(b.Put("after-fence").status,
            store::PutStatus::kServiceNotAvailable);
}

}  // namespace
}  // namespace thruster::ha
