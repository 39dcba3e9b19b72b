// The classic HA stream over loopback sockets: RocketMQ's framing byte for
// byte, the master's transfer rules, a slave's byte-identical copy and its
// dispatch, and SYNC_MASTER's answers (spec/ha.md §2, §3, §4.1).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "ha/ha_client.h"
#include "ha/ha_protocol.h"
#include "ha/ha_service.h"
#include "ha/ha_socket.h"
#include "ha/replication_manager.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/message_store.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster::ha {
namespace {

using message::MessageToStore;
using store::BrokerRole;
using store::MessageStore;
using store::MessageStoreConfig;
using store::PutResult;
using store::PutStatus;
using testing::MemFileSystem;
using testing::WaitUntil;

constexpr int64_t kSegment = 8192;

MessageStoreConfig Config(BrokerRole role) {
  MessageStoreConfig c = testing::SmallStoreConfig();
  c.mapped_file_size_commit_log = kSegment;
  c.broker_role = role;
  return c;
}

// One store on its own in-memory file system.
struct Node {
  explicit Node(MessageStoreConfig config)
      : store(std::make_unique<MessageStore>(&fs, std::move(config))) {
    EXPECT_OK(store->Load());
    EXPECT_OK(store->Start());
  }
  ~Node() { store->Shutdown(); }
  MemFileSystem fs;
  std::unique_ptr<MessageStore> store;
};

PutResult Put(MessageStore& store, const std::string& body,
              int32_t queue_id = 0) {
  static const std::string props = message::EncodeProperties(
      std::map<std::string, std::string, std::less<>>{{"TAGS", "TagA"}});
  MessageToStore m;
  m.topic = "TopicHA";
  m.queue_id = queue_id;
  m.body = AsBytes(body);
  m.properties = props;
  m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
  m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
  return store.PutMessage(m);
}

std::string Bytes(MessageStore& store, int64_t from, int64_t to) {
  std::string out;
  while (from < to) {
    auto d = store.commit_log().GetData(store::PhysOffset{from});
    if (!d || d->bytes.empty()) break;
    const size_t n =
        std::min<size_t>(d->bytes.size(), static_cast<size_t>(to - from));
    out.append(reinterpret_cast<const char*>(d->bytes.data()), n);
    from += static_cast<int64_t>(n);
  }
  return out;
}

// Reads exactly `n` bytes (or fails the test).
std::string ReadExactly(const Socket& s, size_t n) {
  std::string out(n, '\0');
  size_t have = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (have < n && std::chrono::steady_clock::now() < end) {
    Result<size_t> r = s.ReadSome(
        std::span(reinterpret_cast<std::byte*>(out.data()) + have, n - have),
        100);
    if (!r.ok()) break;
    have += *r;
  }
  EXPECT_EQ(have, n);
  return out;
}

TEST(HaProtocolTest, FramesAreRocketMqsBytes) {
  // spec/ha.md §2.4: the report and the header of the worked example.
  std::array<std::byte, kReportSize> report;
  EncodeReport(3221225972, report);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(report.data()), 8),
            std::string("\x00\x00\x00\x00\xC0\x00\x01\xF4", 8));
  std::array<std::byte, kTransferHeaderSize> header;
  EncodeTransferHeader(0xC0000000LL, 500, header);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(header.data()), 12),
            std::string("\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x01\xF4", 12));
  std::optional<TransferHeader> h = DecodeTransferHeader(header);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->offset, 0xC0000000LL);
  EXPECT_EQ(h->size, 500);
  EXPECT_FALSE(DecodeTransferHeader(std::span(header).first(11)).has_value());
}

TEST(HaProtocolTest, OnlyTheLastCompleteReportCounts) {
  std::array<std::byte, 20> in{};
  StoreI64(in.data(), 100);
  StoreI64(in.data() + 8, 200);
  size_t consumed = 0;
  EXPECT_EQ(LastCompleteReport(std::span(in).first(7), &consumed),
            std::nullopt);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(LastCompleteReport(std::span(in).first(15), &consumed), 100);
  EXPECT_EQ(consumed, 8u);
  EXPECT_EQ(LastCompleteReport(in, &consumed), 200);
  EXPECT_EQ(consumed, 16u);
}

TEST(HaServiceTest, EmptySlaveGetsTheLastSegmentInBatchesThenHeartbeats) {
  MessageStoreConfig config = Config(BrokerRole::kAsyncMaster);
  config.ha_transfer_batch_size = 1000;
  config.ha_send_heartbeat_interval = 200;
  Node master(config);
  for (int i = 0; i < 150; ++i)
    ASSERT_TRUE(Put(*master.store, "body-" + std::to_string(i) +
                                       std::string(100, 'x'))
                    .ok());
  const int64_t max = master.store->GetMaxPhyOffset();
  ASSERT_GT(max, 2 * kSegment);  // several segments
  HaService service(master.store.get(), HaServiceOptions{"127.0.0.1", 0});
  ASSERT_OK(service.Start());
  ASSERT_OK_AND_ASSIGN(Socket slave,
                       Connect("127.0.0.1:" + std::to_string(service.port()),
                               2000));
  std::array<std::byte, kReportSize> report;
  EncodeReport(0, report);  // empty slave
  ASSERT_OK(slave.WriteAll(report, 1000));
  int64_t expect = max - max % kSegment;  // the last segment's start
  std::string received;
  while (expect < max) {
    std::string hdr = ReadExactly(slave, kTransferHeaderSize);
    auto h = DecodeTransferHeader(AsBytes(hdr));
    ASSERT_TRUE(h.has_value());
    ASSERT_EQ(h->offset, expect);
    ASSERT_GT(h->size, 0);
    ASSERT_LE(h->size, 1000);
    received += ReadExactly(slave, static_cast<size_t>(h->size));
    expect += h->size;
  }
  EXPECT_TRUE(received == Bytes(*master.store, max - max % kSegment, max));
  // Idle: a heartbeat naming the next offset, size 0.
  std::string hdr = ReadExactly(slave, kTransferHeaderSize);
  auto h = DecodeTransferHeader(AsBytes(hdr));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->offset, max);
  EXPECT_EQ(h->size, 0);
  // An ack raises push2SlaveMaxOffset.
  EncodeReport(max, report);
  ASSERT_OK(slave.WriteAll(report, 1000));
  EXPECT_TRUE(WaitUntil([&] { return service.push_to_slave_max_offset() == max; }));
  ASSERT_EQ(service.Slaves().size(), 1u);
  EXPECT_EQ(service.Slaves()[0].ack_offset, max);
}

TEST(HaServiceTest, NonZeroRequestOffsetIsHonouredExactly) {
  Node master(Config(BrokerRole::kAsyncMaster));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(*master.store, "m").ok());
  PutResult third = Put(*master.store, "third");
  ASSERT_TRUE(third.ok());
  const int64_t max = master.store->GetMaxPhyOffset();
  HaService service(master.store.get(), HaServiceOptions{"127.0.0.1", 0});
  ASSERT_OK(service.Start());
  ASSERT_OK_AND_ASSIGN(Socket slave,
                       Connect("127.0.0.1:" + std::to_string(service.port()),
                               2000));
  std::array<std::byte, kReportSize> report;
  EncodeReport(third.phys_offset, report);
  ASSERT_OK(slave.WriteAll(report, 1000));
  std::string hdr = ReadExactly(slave, kTransferHeaderSize);
  auto h = DecodeTransferHeader(AsBytes(hdr));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->offset, third.phys_offset);
  EXPECT_EQ(h->size, max - third.phys_offset);
  EXPECT_EQ(ReadExactly(slave, static_cast<size_t>(h->size)),
            Bytes(*master.store, third.phys_offset, max));
}

// A master and a slave store wired by HaService/HaClient.
class HaPairTest : public ::testing::Test {
 protected:
  void StartPair(BrokerRole master_role) {
    master_ = std::make_unique<Node>(Config(master_role));
    master_repl_ = std::make_unique<ReplicationManager>(
        master_->store.get(), HaServiceOptions{"127.0.0.1", 0});
    ASSERT_OK(master_repl_->Start(""));
    StartSlave();
  }
  void StartSlave() {
    slave_ = std::make_unique<Node>(Config(BrokerRole::kSlave));
    slave_repl_ = std::make_unique<ReplicationManager>(
        slave_->store.get(), HaServiceOptions{"127.0.0.1", 0});
    ASSERT_OK(slave_repl_->Start(
        "127.0.0.1:" + std::to_string(master_repl_->ha_port())));
    // The master has the slave's request (so where it starts is fixed).
    ASSERT_TRUE(WaitUntil([&] {
      auto slaves = master_repl_->service().Slaves();
      return slaves.size() == 1 && slaves[0].ack_offset >= 0;
    }));
  }
  bool CaughtUp() {
    return WaitUntil([&] {
      return slave_->store->GetMaxPhyOffset() ==
             master_->store->GetMaxPhyOffset();
    });
  }
  void ExpectSameBytes(int64_t end) {
    const std::string a = Bytes(*master_->store, 0, end);
    const std::string b = Bytes(*slave_->store, 0, end);
    EXPECT_EQ(a.size(), static_cast<size_t>(end));
    EXPECT_EQ(b.size(), static_cast<size_t>(end));
    EXPECT_TRUE(a == b) << "the slave's CommitLog differs";
  }
  void TearDown() override {
    slave_repl_.reset();
    master_repl_.reset();
    slave_.reset();
    master_.reset();
  }

  std::unique_ptr<Node> master_;
  std::unique_ptr<ReplicationManager> master_repl_;
  std::unique_ptr<Node> slave_;
  std::unique_ptr<ReplicationManager> slave_repl_;
};

TEST_F(HaPairTest, SlaveCopiesTheLogByteForByteAndDispatchesIt) {
  StartPair(BrokerRole::kAsyncMaster);
  ASSERT_TRUE(WaitUntil([&] { return slave_repl_->client().connected(); }));
  for (int i = 0; i < 120; ++i)
    ASSERT_TRUE(
        Put(*master_->store, "msg-" + std::to_string(i), i % 2).ok());
  ASSERT_TRUE(CaughtUp());
  const int64_t max = master_->store->GetMaxPhyOffset();
  ASSERT_GT(max, kSegment);  // crossed a segment end (blank record included)
  ExpectSameBytes(max);
  ASSERT_TRUE(slave_->store->WaitForDispatch(5000));
  EXPECT_EQ(slave_->store->GetMaxOffsetInQueue("TopicHA", 0), 60);
  EXPECT_EQ(slave_->store->GetMaxOffsetInQueue("TopicHA", 1), 60);
  store::GetMessageResult got =
      slave_->store->GetMessage("g", "TopicHA", 1, 59, 1, 1 << 20);
  ASSERT_EQ(got.status, store::GetMessageStatus::kFound);
  ASSERT_EQ(got.messages.size(), 1u);
  // The master hears the slave's acks.
  EXPECT_TRUE(WaitUntil(
      [&] { return master_repl_->service().push_to_slave_max_offset() == max; }));
  // A slave refuses writes.
  EXPECT_EQ(Put(*slave_->store, "no").status, PutStatus::kServiceNotAvailable);
}

TEST_F(HaPairTest, RestartedSlaveResumesFromItsOwnOffset) {
  StartPair(BrokerRole::kAsyncMaster);
  ASSERT_TRUE(WaitUntil([&] { return slave_repl_->client().connected(); }));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(*master_->store, "a").ok());
  ASSERT_TRUE(CaughtUp());
  // The slave's store survives (same file system); only the HA side and the
  // store object restart.
  slave_repl_.reset();
  slave_->store->Shutdown();
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(Put(*master_->store, "b").ok());
  slave_->store = std::make_unique<MessageStore>(&slave_->fs,
                                                 Config(BrokerRole::kSlave));
  ASSERT_OK(slave_->store->Load());
  ASSERT_OK(slave_->store->Start());
  const int64_t before = slave_->store->GetMaxPhyOffset();
  ASSERT_GT(before, 0);
  slave_repl_ = std::make_unique<ReplicationManager>(
      slave_->store.get(), HaServiceOptions{"127.0.0.1", 0});
  ASSERT_OK(slave_repl_->Start(
      "127.0.0.1:" + std::to_string(master_repl_->ha_port())));
  ASSERT_TRUE(CaughtUp());
  const int64_t max = master_->store->GetMaxPhyOffset();
  ExpectSameBytes(max);
  ASSERT_TRUE(slave_->store->WaitForDispatch(5000));
  EXPECT_EQ(slave_->store->GetMaxOffsetInQueue("TopicHA", 0), 100);
}

TEST_F(HaPairTest, SyncMasterAnswersOnlyOnceTheSlaveHoldsTheRecord) {
  master_ = std::make_unique<Node>(Config(BrokerRole::kSyncMaster));
  master_repl_ = std::make_unique<ReplicationManager>(
      master_->store.get(), HaServiceOptions{"127.0.0.1", 0});
  ASSERT_OK(master_repl_->Start(""));
  // No slave: stored, but SLAVE_NOT_AVAILABLE at once.
  PutResult alone = Put(*master_->store, "alone");
  EXPECT_EQ(alone.status, PutStatus::kSlaveNotAvailable);
  EXPECT_GT(master_->store->GetMaxPhyOffset(), 0);
  StartSlave();
  ASSERT_TRUE(WaitUntil(
      [&] { return master_repl_->service().connection_count() == 1; }));
  for (int i = 0; i < 30; ++i) {
    PutResult r = Put(*master_->store, "sync-" + std::to_string(i));
    ASSERT_EQ(r.status, PutStatus::kPutOk) << r.error;
    // SEND_OK implies the slave already holds the whole record.
    ASSERT_GE(slave_->store->commit_log().queue().GetMaxWrotePosition(),
              r.phys_offset + r.wrote_bytes);
  }
  // Many producers at once: each is answered after the slave holds its record.
  std::vector<std::thread> producers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        PutResult r = Put(*master_->store, "group");
        if (r.status == PutStatus::kPutOk &&
            slave_->store->commit_log().queue().GetMaxWrotePosition() >=
                r.phys_offset + r.wrote_bytes)
          ok.fetch_add(1);
      }
    });
  }
  for (auto& p : producers) p.join();
  EXPECT_EQ(ok.load(), 40);
}

TEST(HaSyncMasterTest, SlaveThatNeverAcksGivesFlushSlaveTimeout) {
  MessageStoreConfig config = Config(BrokerRole::kSyncMaster);
  config.slave_timeout = 300;
  Node master(config);
  ReplicationManager repl(master.store.get(), HaServiceOptions{"127.0.0.1", 0});
  ASSERT_OK(repl.Start(""));
  // A "slave" that sends its request offset and then stays silent.
  ASSERT_OK_AND_ASSIGN(Socket slave,
                       Connect("127.0.0.1:" + std::to_string(repl.ha_port()),
                               2000));
  std::array<std::byte, kReportSize> report;
  EncodeReport(0, report);
  ASSERT_OK(slave.WriteAll(report, 1000));
  ASSERT_TRUE(
      WaitUntil([&] { return repl.service().connection_count() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  PutResult r = Put(*master.store, "unacked");
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, PutStatus::kFlushSlaveTimeout);
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  // Stored on the master all the same.
  EXPECT_EQ(master.store->GetMaxPhyOffset(), r.phys_offset + r.wrote_bytes);
  // WAIT=false does not wait for the slave.
  static const std::string no_wait = message::EncodeProperties(
      std::map<std::string, std::string, std::less<>>{{"WAIT", "false"}});
  MessageToStore m;
  m.topic = "TopicHA";
  m.body = AsBytes(std::string_view("nowait"));
  m.properties = no_wait;
  m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
  m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
  EXPECT_EQ(master.store->PutMessage(m).status, PutStatus::kPutOk);
}

TEST(HaSlaveStoreTest, AppendMustContinueTheLog) {
  Node master(Config(BrokerRole::kAsyncMaster));
  PutResult a = Put(*master.store, "first");
  PutResult b = Put(*master.store, "second");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string first = Bytes(*master.store, 0, b.phys_offset);
  const std::string second =
      Bytes(*master.store, b.phys_offset, b.phys_offset + b.wrote_bytes);
  Node slave(Config(BrokerRole::kSlave));
  // An empty log starts only at a segment boundary.
  EXPECT_FALSE(slave.store->AppendToCommitLog(10, AsBytes(first)).ok());
  EXPECT_OK(slave.store->AppendToCommitLog(0, AsBytes(first)));
  // Bytes that do not continue the log are refused.
  EXPECT_FALSE(slave.store->AppendToCommitLog(0, AsBytes(second)).ok());
  EXPECT_OK(slave.store->AppendToCommitLog(b.phys_offset, AsBytes(second)));
  EXPECT_EQ(slave.store->GetMaxPhyOffset(), master.store->GetMaxPhyOffset());
  ASSERT_TRUE(slave.store->WaitForDispatch(5000));
  EXPECT_EQ(slave.store->GetMaxOffsetInQueue("TopicHA", 0), 2);
  // A master takes no replicated bytes.
  EXPECT_FALSE(master.store->AppendToCommitLog(b.phys_offset + b.wrote_bytes,
                                               AsBytes(second))
                   .ok());
}

}  // namespace
}  // namespace thruster::ha
