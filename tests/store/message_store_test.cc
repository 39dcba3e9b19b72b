#include "store/message_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster::store {

using message::CheckRecord;
using message::CreateMessageId;
using message::DecodeMessageId;
using message::EncodeProperties;
using message::HostAddress;
using message::JHash;
using message::MessageIdParts;
using message::MessageToStore;
using message::RecordCheck;
using message::RecordStatus;
namespace {

using testing::FaultFileSystem;
using testing::MemFileSystem;

class MessageStoreTest : public ::testing::Test {
 protected:
  MessageStoreTest()
      : fs_(std::make_unique<MemFileSystem>(&clock_)),
        config_(testing::SmallStoreConfig()) {}
  ~MessageStoreTest() override { store_.reset(); }

  void Open() {
    store_.reset();
    store_ = std::make_unique<MessageStore>(&fs_, config_, &clock_);
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
  }
  // The process dies: nothing after this reaches the "disk".
  void Crash() {
    fs_.SimulatePowerLoss();
    fs_.FailPaths("/");
    store_.reset();
    fs_.ClearFaults();
  }

  PutResult Put(const std::string& body, int32_t queue_id = 0,
                const std::string& tags = "TagA", const std::string& keys = "",
                const std::string& topic = "TopicA") {
    std::map<std::string, std::string, std::less<>> props{{"TAGS", tags}};
    if (!keys.empty()) props["KEYS"] = keys;
    std::string p = EncodeProperties(props);
    MessageToStore m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = AsBytes(body);
    m.properties = p;
    m.born_host = HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = HostAddress::V4(127, 0, 0, 1, 10911);
    return store_->PutMessage(m);
  }
  static std::string Body(const SelectResult& s) {
    RecordCheck c = CheckRecord(s.bytes, true);
    return c.status == RecordStatus::kOk
               ? std::string(AsStringView(c.record.body))
               : "<bad>";
  }
  std::vector<std::string> PullAll(const std::string& topic, int32_t queue_id,
                                   const TagFilter* filter = nullptr) {
    std::vector<std::string> out;
    int64_t offset = 0;
    for (int i = 0; i < 1000; ++i) {
      auto r =
          store_->GetMessage("g", topic, queue_id, offset, 32, 1 << 20, filter);
      if (r.status != GetMessageStatus::kFound &&
          r.status != GetMessageStatus::kNoMatchedMessage)
        break;
      for (auto& m : r.messages) out.push_back(Body(m));
      if (r.next_begin_offset == offset) break;
      offset = r.next_begin_offset;
    }
    return out;
  }

  ManualClock clock_;
  FaultFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
};

TEST_F(MessageStoreTest, PulledMessagesComeBackInQueueOrder) {
  Open();
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(Put("m" + std::to_string(i), i % 2).ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", 0), 15);
  auto q0 = PullAll("TopicA", 0);
  ASSERT_EQ(q0.size(), 15u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(q0[i], "m" + std::to_string(2 * i));
}

TEST_F(MessageStoreTest, GetMessageStatusesFollowTheSpec) {
  Open();
  EXPECT_EQ(store_->GetMessage("g", "Nope", 0, 0, 32, 1 << 20).status,
            GetMessageStatus::kNoMatchedLogicQueue);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Put("x").ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  auto one = store_->GetMessage("g", "TopicA", 0, 3, 32, 1 << 20);
  EXPECT_EQ(one.status, GetMessageStatus::kOffsetOverflowOne);
  EXPECT_EQ(one.next_begin_offset, 3);
  auto bad = store_->GetMessage("g", "TopicA", 0, 10, 32, 1 << 20);
  EXPECT_EQ(bad.status, GetMessageStatus::kOffsetOverflowBadly);
  EXPECT_EQ(bad.next_begin_offset, 3);
  auto found = store_->GetMessage("g", "TopicA", 0, 1, 32, 1 << 20);
  EXPECT_EQ(found.status, GetMessageStatus::kFound);
  EXPECT_EQ(found.messages.size(), 2u);
  EXPECT_EQ(found.next_begin_offset, 3);
  EXPECT_EQ(found.max_offset, 3);
}

TEST_F(MessageStoreTest, TagFilterReturnsOnlyMatchingTags) {
  Open();
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(
        Put("b" + std::to_string(i), 0, i % 3 == 0 ? "TagA" : "TagB").ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  TagFilter f{{JHash("TagA")}};
  auto got = PullAll("TopicA", 0, &f);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1], "b3");
}

TEST_F(MessageStoreTest, LooksUpByMsgIdPhysOffset) {
  Open();
  ASSERT_TRUE(Put("first").ok());
  PutResult r = Put("second");
  ASSERT_TRUE(r.ok());
  std::string id =
      CreateMessageId(HostAddress::V4(127, 0, 0, 1, 10911), r.phys_offset);
  ASSERT_OK_AND_ASSIGN(MessageIdParts parts, DecodeMessageId(id));
  auto m = store_->LookMessageByOffset(parts.phys_offset);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(Body(*m), "second");
  EXPECT_FALSE(store_->LookMessageByOffset(r.phys_offset + 3).has_value());
}

TEST_F(MessageStoreTest, QueryByKeyFiltersHashCollisions) {
  Open();
  // "Aa" and "BB" have the same Java hash code: both land in the same slot
  // chain.
  ASSERT_EQ(JHash("TopicA#Aa"), JHash("TopicA#BB"));
  ASSERT_TRUE(Put("with-Aa", 0, "TagA", "Aa").ok());
  ASSERT_TRUE(Put("with-BB", 1, "TagA", "BB").ok());
  ASSERT_TRUE(Put("with-both", 2, "TagA", "x Aa").ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  auto r = store_->QueryMessage("TopicA", "Aa", 32, 0, INT64_MAX);
  std::set<std::string> bodies;
  for (auto& m : r.messages) bodies.insert(Body(m));
  EXPECT_EQ(bodies, (std::set<std::string>{"with-Aa", "with-both"}));
  EXPECT_TRUE(
      store_->QueryMessage("TopicB", "Aa", 32, 0, INT64_MAX).messages.empty());
}

TEST_F(MessageStoreTest, OffsetByTimeFindsFirstMessageAtOrAfter) {
  Open();
  std::vector<int64_t> times;
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1000);
    PutResult r = Put("t" + std::to_string(i));
    ASSERT_TRUE(r.ok());
    times.push_back(r.store_timestamp);
  }
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(store_->GetOffsetInQueueByTime("TopicA", 0, times[4]), 4);
  EXPECT_EQ(store_->GetOffsetInQueueByTime("TopicA", 0, times[4] - 500), 4);
  EXPECT_EQ(store_->GetOffsetInQueueByTime("TopicA", 0, times[4] + 1,
                                           BoundaryType::kUpper),
            4);
  EXPECT_EQ(store_->GetEarliestMessageTime("TopicA", 0), times[0]);
}

TEST_F(MessageStoreTest, CrashBetweenAppendAndDispatchRebuildsQueuesAndIndex) {
  config_.flush_interval_consume_queue =
      1000000;  // consume queues never flushed before the crash
  Open();
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(
        Put("c" + std::to_string(i), i % 4, "TagA", "key-" + std::to_string(i))
            .ok());
  ASSERT_OK(store_->commit_log().FlushAll());
  Crash();
  Open();
  EXPECT_FALSE(store_->recovery_report().last_exit_ok);
  for (int q = 0; q < 4; ++q)
    EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", q), 10);
  auto q1 = PullAll("TopicA", 1);
  ASSERT_EQ(q1.size(), 10u);
  EXPECT_EQ(q1[0], "c1");
  for (int i = 0; i < 40; ++i) {
    auto r = store_->QueryMessage("TopicA", "key-" + std::to_string(i), 32, 0,
                                  INT64_MAX);
    ASSERT_EQ(r.messages.size(), 1u) << i;
    EXPECT_EQ(Body(r.messages[0]), "c" + std::to_string(i));
  }
  // Appends continue with the next queue offsets.
  PutResult r = Put("after", 1);
  EXPECT_EQ(r.queue_offset, 10);
}

// A clean stop checkpoints the newest index file; the next run goes on filling
// it. A crash then drops that file (it ends after the checkpoint), and
// recovery must index again everything it held, also the records of segments
// older than the checkpoint's time. Found by the kill loop: a key acknowledged
// before a clean stop was no longer found after a later kill.
TEST_F(MessageStoreTest, CrashAfterACleanRestartKeepsEveryKeyOfTheReusedIndexFile) {
  Open();
  const std::string body(300, 'i');
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(1000);
    ASSERT_TRUE(Put(body + std::to_string(i), i % 2, "TagA",
                    "key-" + std::to_string(i))
                    .ok());
  }
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  store_->Shutdown();
  store_.reset();
  Open();
  ASSERT_TRUE(store_->recovery_report().last_exit_ok);
  for (int i = 60; i < 70; ++i) {
    clock_.Advance(1000);
    ASSERT_TRUE(Put(body + std::to_string(i), i % 2, "TagA",
                    "key-" + std::to_string(i))
                    .ok());
  }
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  ASSERT_GE(store_->commit_log().queue().Snapshot().size(), 3u);
  // The process dies: what it wrote stays (the page cache survives a kill),
  // nothing of its shutdown reaches the files.
  fs_.FailPaths("/");
  store_.reset();
  fs_.ClearFaults();
  Open();
  ASSERT_FALSE(store_->recovery_report().last_exit_ok);
  for (int i = 0; i < 70; ++i) {
    auto r = store_->QueryMessage("TopicA", "key-" + std::to_string(i), 32, 0,
                                  INT64_MAX);
    ASSERT_EQ(r.messages.size(), 1u) << "key-" << i;
    EXPECT_EQ(Body(r.messages[0]), body + std::to_string(i));
  }
}

TEST_F(MessageStoreTest, NothingBeyondTheRecoveredEndIsReachable) {
  Open();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        Put("d" + std::to_string(i), 0, "TagA", "k" + std::to_string(i)).ok());
  ASSERT_OK(store_->commit_log().FlushAll());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  store_->Shutdown();  // queues and index durable, up to message 9
  store_.reset();
  // Tear the CommitLog after message 5: the queues and the index must be cut
  // back to it.
  Open();
  auto sixth = store_->GetMessage("g", "TopicA", 0, 6, 1, 1 << 20);
  ASSERT_EQ(sixth.messages.size(), 1u);
  int64_t cut = sixth.messages[0].start_offset;
  store_.reset();
  std::string junk(4, '\x7f');
  fs_.mem()->PatchForTesting("/store/commitlog/00000000000000000000",
                             static_cast<size_t>(cut), junk);
  ASSERT_OK(fs_.WriteFile("/store/abort", "1"));
  Open();
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", 0), 6);
  EXPECT_EQ(PullAll("TopicA", 0).size(), 6u);
  EXPECT_TRUE(
      store_->QueryMessage("TopicA", "k7", 32, 0, INT64_MAX).messages.empty());
  EXPECT_EQ(
      store_->QueryMessage("TopicA", "k5", 32, 0, INT64_MAX).messages.size(),
      1u);
}

TEST_F(MessageStoreTest, CleanShutdownRemovesAbortAndRestartsNormally) {
  Open();
  EXPECT_TRUE(fs_.Exists("/store/abort"));
  ASSERT_TRUE(Put("x").ok());
  store_->Shutdown();
  EXPECT_FALSE(fs_.Exists("/store/abort"));
  store_.reset();
  Open();
  EXPECT_TRUE(store_->recovery_report().last_exit_ok);
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", 0), 1);
}

TEST_F(MessageStoreTest, SecondStoreOnSameDirectoryIsRefused) {
  Open();
  MessageStore second(&fs_, config_, &clock_);
  Status s = second.Load();
  EXPECT_EQ(s.code(), Status::Code::kBusy);
}

TEST_F(MessageStoreTest, RetentionByAgeDeletesOldSegmentsAndTheirQueueFiles) {
  config_.file_reserved_time = 1;  // hours
  config_.delete_when =
      "99";  // never the delete hour: only disk pressure or age...
  config_.disk_max_used_space_ratio =
      10;  // ...and usage above 10 % runs the age-based pass anyway
  Open();
  std::string body(900, 'r');
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(Put(body).ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  int64_t segments = static_cast<int64_t>(store_->commit_log().queue().size());
  ASSERT_GT(segments, 4);
  // Nothing is old enough yet.
  store_->CleanNowForTesting();
  EXPECT_EQ(store_->GetMinPhyOffset(), 0);
  // Age every segment but the last two.
  auto files = store_->commit_log().queue().Snapshot();
  for (size_t i = 0; i + 2 < files.size(); ++i) {
    fs_.mem()->SetModifiedTimeForTesting(files[i]->path(),
                                         clock_.NowMs() - 2 * 3600 * 1000);
  }
  store_->CleanNowForTesting();
  EXPECT_EQ(store_->GetMinPhyOffset(), files[files.size() - 2]->base_offset());
  EXPECT_GT(store_->GetMinOffsetInQueue("TopicA", 0), 0);
  // What remains is still readable.
  auto r = store_->GetMessage(
      "g", "TopicA", 0, store_->GetMinOffsetInQueue("TopicA", 0), 32, 1 << 20);
  EXPECT_EQ(r.status, GetMessageStatus::kFound);
  EXPECT_EQ(store_->GetMessage("g", "TopicA", 0, 0, 32, 1 << 20).status,
            GetMessageStatus::kOffsetTooSmall);
}

TEST_F(MessageStoreTest, DiskAboveWarningRatioForcesDeletionAndRefusesWrites) {
  Open();
  std::string body(900, 'r');
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(Put(body).ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  fs_.mem()->SetDiskUsage({100, 5, 5});  // 95 % used
  store_->CleanNowForTesting();
  EXPECT_GT(store_->GetMinPhyOffset(), 0);  // unexpired segments went anyway
  EXPECT_EQ(Put("refused").status, PutStatus::kServiceNotAvailable);
  fs_.mem()->SetDiskUsage({100, 50, 50});
  store_->CleanNowForTesting();
  EXPECT_TRUE(Put("accepted").ok());
}

TEST_F(MessageStoreTest, ReadersKeepTheirBytesWhileTheCleanerDeletes) {
  config_.disk_max_used_space_ratio = 10;
  Open();
  std::string body(900, 'z');
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(Put(body).ok());
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        int64_t off = store_->GetMinOffsetInQueue("TopicA", 0);
        auto r = store_->GetMessage("g", "TopicA", 0, off, 32, 1 << 20);
        for (auto& m : r.messages) {
          std::this_thread::yield();
          // The bytes stay valid while the reader holds them, deleted or not.
          EXPECT_EQ(Body(m), body);
          reads.fetch_add(1);
        }
      }
    });
  }
  auto files = store_->commit_log().queue().Snapshot();
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    fs_.mem()->SetModifiedTimeForTesting(files[i]->path(),
                                         clock_.NowMs() - 100 * 3600 * 1000);
    store_->CleanNowForTesting();
  }
  // The readers go on reading after the last deletion.
  const int64_t before = reads.load();
  EXPECT_TRUE(testing::WaitUntil([&] { return reads.load() > before + 10; }));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(store_->GetMinPhyOffset(), files.back()->base_offset());
}

TEST_F(MessageStoreTest, OpensTheRocketMQFixtureStores) {
  for (const char* name : {"rocketmq-4.9.8-store", "rocketmq-5-store"}) {
    thruster::testing::TempDir dir;
    std::filesystem::copy(
        thruster::testing::FixturePath(name),
        dir.path(), std::filesystem::copy_options::recursive);
    for (auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
      std::filesystem::permissions(e.path(),
                                   std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::add);
    }
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    MessageStoreConfig c;
    c.store_path_root_dir = dir.path();
    c.mapped_file_size_commit_log = 1048576;
    c.mapped_file_size_consume_queue = 20000;
    c.max_hash_slot_num = 20000;
    c.max_index_num = 80000;
    c.pre_touch_mapped_file = false;
    MessageStore s(io::DefaultFileSystem(), c);
    ASSERT_OK(s.Load());
    ASSERT_OK(s.Start());
    int64_t total = 0;
    for (const char* topic : {"SampleTopicA", "SampleTopicB"}) {
      for (int q = 0; q < 4; ++q) total += s.GetMaxOffsetInQueue(topic, q);
    }
    EXPECT_EQ(total, 2000) << name;
    auto r = s.QueryMessage("SampleTopicA", "key-0", 32, 0, INT64_MAX);
    ASSERT_EQ(r.messages.size(), 1u) << name;
    auto got = s.GetMessage("g", "SampleTopicA", 0, 0, 1, 1 << 20);
    ASSERT_EQ(got.status, GetMessageStatus::kFound) << name;
    EXPECT_EQ(got.messages[0].start_offset, 0);
    s.Shutdown();
  }
}

// Regression: DeleteTopic (and cleanExpiredConsumeQueue's RemoveQueue) freed
// a consume queue that the `flush-cq` thread or a retention pass had just
// taken from the table and was still flushing (a use-after-free under ASan,
// a race under TSan). The queues are shared now: the last holder frees them.
TEST_F(MessageStoreTest, TopicsDeletedWhileTheirQueuesAreFlushed) {
  config_.flush_interval_consume_queue = 1;
  Open();
  // Above diskMaxUsedSpaceRatio: every retention pass flushes the queues (and
  // deletes nothing: no segment is old enough).
  fs_.mem()->SetDiskUsage({100, 20, 20});
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  std::thread retention([&] {
    while (!stop.load()) {
      store_->CleanNowForTesting();
      passes.fetch_add(1);
    }
  });
  for (int round = 0; round < 150; ++round) {
    const std::string topic = "Churn" + std::to_string(round % 3);
    for (int q = 0; q < 4; ++q)
      ASSERT_TRUE(Put("m" + std::to_string(round), q, "T", "", topic).ok());
    ASSERT_TRUE(store_->WaitForDispatch(5000));
    EXPECT_EQ(store_->GetMaxOffsetInQueue(topic, 3), 1);
    ASSERT_OK(store_->DeleteTopic(topic));
  }
  stop.store(true);
  retention.join();
  EXPECT_GT(passes.load(), 0);
  fs_.mem()->SetDiskUsage({100, 50, 50});
  // The store goes on: a deleted topic starts again at queue offset 0.
  PutResult r = Put("after", 0, "T", "", "Churn0");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.queue_offset, 0);
}

// A disk too full to reserve consume-queue blocks: the puts still land in the
// CommitLog, the dispatch retries without skipping a record, and the queue
// fills in once space returns; a process killed while it is failing rebuilds
// the queue from the CommitLog.
TEST_F(MessageStoreTest,
       FullDiskAtAConsumeQueueReserveHoldsTheDispatchAndLosesNothing) {
  using Op = FaultFileSystem::Op;
  Open();
  fs_.FailAll(Op::kReserve);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("r" + std::to_string(i), 0).ok());
  // The dispatch tried and retried (each try reserves once and fails).
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return fs_.CallsForTesting(Op::kReserve) >= 3; }));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", 0), 0);
  fs_.ClearFaults();
  ASSERT_TRUE(store_->WaitForDispatch(5000));
  EXPECT_EQ(PullAll("TopicA", 0),
            (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));

  fs_.FailAll(Op::kReserve);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("k" + std::to_string(i), 1).ok());
  const int calls = fs_.CallsForTesting(Op::kReserve);
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return fs_.CallsForTesting(Op::kReserve) >= calls + 2; }));
  EXPECT_EQ(store_->GetMaxOffsetInQueue("TopicA", 1), 0);
  // Killed: what it wrote stays (the page cache survives a kill), nothing of
  // its shutdown reaches the files.
  fs_.FailPaths("/");
  store_.reset();
  fs_.ClearFaults();
  Open();
  ASSERT_FALSE(store_->recovery_report().last_exit_ok);
  EXPECT_EQ(PullAll("TopicA", 1),
            (std::vector<std::string>{"k0", "k1", "k2", "k3", "k4"}));
  EXPECT_EQ(PullAll("TopicA", 0),
            (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
}

}  // namespace
}  // namespace thruster::store
