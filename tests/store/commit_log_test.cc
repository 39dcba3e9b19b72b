#include "store/commit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>

#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/recovery.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {

using message::CheckRecord;
using message::DecodedRecord;
using message::EncodeProperties;
using message::HostAddress;
using message::kMagicBlank;
using message::MessageToStore;
using message::RecordCheck;
using message::RecordStatus;
namespace {

using testing::FaultFileSystem;
using testing::MemFileSystem;
using testing::WaitUntil;

struct Stored {
  int64_t phys;
  std::string topic;
  int32_t queue_id;
  int64_t queue_offset;
  std::string body;
};

class CommitLogTest : public ::testing::Test {
 protected:
  CommitLogTest() : fs_(std::make_unique<MemFileSystem>()) {
    config_.store_path_root_dir = "/store";
    config_.mapped_file_size_commit_log = 4096;
    config_.flush_interval_commit_log = 10;
    config_.commit_interval_commit_log = 5;
    config_.pre_touch_mapped_file = false;
  }
  ~CommitLogTest() override { Close(); }

  void Open(bool last_exit_ok = true) {
    Close();
    ASSERT_OK(fs_.CreateDirs("/store"));
    auto cp = Checkpoint::Open(&fs_, config_.CheckpointPath());
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    checkpoint_ = std::move(cp).value();
    log_ = std::make_unique<CommitLog>(&fs_, config_, checkpoint_.get());
    ASSERT_OK(log_->Load());
    recovered_.clear();
    auto stats =
        Recovery(log_.get(), checkpoint_.get(), config_)
            .RecoverCommitLog(
                last_exit_ok, 0,
                [&](const DecodedRecord& rec, int64_t phys, int32_t) {
                  recovered_.push_back(Stored{
                      phys, std::string(rec.topic), rec.queue_id,
                      rec.queue_offset, std::string(AsStringView(rec.body))});
                });
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    stats_ = *stats;
    for (const auto& s : recovered_)
      log_->SetQueueOffset(s.topic, s.queue_id,
                           QueueOffset{s.queue_offset + 1});
    ASSERT_OK(log_->Start());
  }
  void Close() {
    if (log_) log_->Shutdown();
    log_.reset();
    checkpoint_.reset();
  }

  MessageToStore Msg(const std::string& body, int32_t queue_id = 0,
                     const std::string& topic = "T") {
    bodies_.push_back(body);
    MessageToStore m;
    m.topic = topics_.emplace_back(topic);
    m.queue_id = queue_id;
    m.body = AsBytes(bodies_.back());
    m.properties = props_;
    m.born_timestamp = 1700000000000;
    m.born_host = HostAddress::V4(10, 0, 0, 1, 50000);
    m.store_host = HostAddress::V4(10, 0, 0, 2, 10911);
    return m;
  }
  PutResult Put(const std::string& body, int32_t queue_id = 0) {
    return log_->PutMessage(Msg(body, queue_id));
  }

  std::string ReadBody(int64_t phys) {
    auto sel = log_->GetData(PhysOffset{phys});
    if (!sel) return "<unreadable>";
    RecordCheck c = CheckRecord(sel->bytes, true);
    if (c.status != RecordStatus::kOk) return "<bad record>";
    return std::string(AsStringView(c.record.body));
  }
  std::string SegmentPath(int64_t base) {
    return config_.CommitLogDir() + "/" + OffsetToFileName(base);
  }

  FaultFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<CommitLog> log_;
  std::vector<Stored> recovered_;
  RecoveryStats stats_;
  std::deque<std::string> bodies_;
  std::deque<std::string> topics_;
  std::string props_ = EncodeProperties({{"TAGS", "TagA"}, {"KEYS", "k1"}});
};

TEST_F(CommitLogTest, AppendedMessagesAreReadableWithDenseQueueOffsets) {
  Open();
  auto a = Put("alpha", 0);
  auto b = Put("beta", 1);
  auto c = Put("gamma", 0);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.error << b.error << c.error;
  EXPECT_EQ(a.phys_offset, 0);
  EXPECT_EQ(b.phys_offset, a.wrote_bytes);
  EXPECT_EQ(a.queue_offset, 0);
  EXPECT_EQ(b.queue_offset, 0);
  EXPECT_EQ(c.queue_offset, 1);
  EXPECT_EQ(ReadBody(a.phys_offset), "alpha");
  EXPECT_EQ(ReadBody(c.phys_offset), "gamma");
  EXPECT_EQ(log_->GetMaxOffset(), c.phys_offset + c.wrote_bytes);
  EXPECT_LE(a.store_timestamp, c.store_timestamp);
}

TEST_F(CommitLogTest, RollsSegmentWhenRecordDoesNotFit) {
  Open();
  std::string body(1000, 'x');
  std::vector<PutResult> results;
  for (int i = 0; i < 8; ++i) results.push_back(Put(body));
  for (auto& r : results) ASSERT_TRUE(r.ok()) << r.error;
  // 4 records of ~1100 bytes do not fit 4096 - 8: the 4th goes to the next
  // segment at offset 4096.
  EXPECT_EQ(results[3].phys_offset, 4096);
  auto seg0 = log_->GetMessage(
      PhysOffset{results[2].phys_offset + results[2].wrote_bytes}, 8);
  ASSERT_TRUE(seg0.has_value());
  EXPECT_EQ(LoadI32(seg0->bytes.data() + 4), kMagicBlank);
  EXPECT_EQ(LoadI32(seg0->bytes.data()),
            4096 - (results[2].phys_offset + results[2].wrote_bytes));
  for (auto& r : results) EXPECT_EQ(ReadBody(r.phys_offset), body);
}

// An append reuses the segment it appended to last while the segment list is
// unchanged: a truncation back into an earlier segment, or the segments being
// destroyed, must send the next append to the list's new last segment.
TEST_F(CommitLogTest, AppendsFollowTruncationIntoAnEarlierSegment) {
  Open();
  std::vector<int64_t> phys;
  for (int i = 0; i < 12; ++i) {
    PutResult r = Put("m" + std::to_string(i) + std::string(600, 'x'));
    ASSERT_EQ(r.status, PutStatus::kPutOk);
    phys.push_back(r.phys_offset);
  }
  // Three segments, the last one with room for more.
  ASSERT_GE(phys.back(), 2 * 4096);
  ASSERT_LT(phys.back() - 2 * 4096, 2048);
  ASSERT_LT(phys[1], 4096);
  ASSERT_OK(log_->TruncateTo(phys[1]));
  EXPECT_FALSE(fs_.Exists(SegmentPath(2 * 4096)));
  PutResult r = Put("after-truncate");
  ASSERT_EQ(r.status, PutStatus::kPutOk);
  EXPECT_EQ(r.phys_offset, phys[1]);
  EXPECT_EQ(ReadBody(r.phys_offset), "after-truncate");
  EXPECT_EQ(log_->GetMaxOffset(), phys[1] + r.wrote_bytes);
  // The next ones roll into a new second segment as before.
  for (int i = 0; i < 6; ++i) {
    r = Put("again" + std::to_string(i) + std::string(900, 'y'));
    ASSERT_EQ(r.status, PutStatus::kPutOk);
  }
  EXPECT_GE(r.phys_offset, 4096);
  EXPECT_EQ(ReadBody(r.phys_offset), "again5" + std::string(900, 'y'));
}

TEST_F(CommitLogTest, OversizedMessageIsRejectedAndLogKeepsWorking) {
  config_.max_message_size = 2000;
  Open();
  auto r = Put(std::string(3000, 'x'));
  EXPECT_EQ(r.status, PutStatus::kMessageIllegal);
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(Put("small").ok());
}

TEST_F(CommitLogTest, BatchGetsConsecutiveQueueOffsets) {
  Open();
  ASSERT_TRUE(Put("first").ok());
  std::string batch;
  ByteWriter w(&batch);
  for (std::string body : {"one", "two", "three"}) {
    std::string props = EncodeProperties({{"KEYS", body}});
    w.I32(static_cast<int32_t>(20 + body.size() + 2 + props.size()));
    w.I32(0);
    w.I32(0);
    w.I32(7);
    w.I32(static_cast<int32_t>(body.size()));
    w.Bytes(body);
    w.I16(static_cast<int16_t>(props.size()));
    w.Bytes(props);
  }
  MessageToStore m = Msg("");
  m.body = AsBytes(batch);
  PutResult r = log_->PutMessages(m);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.msg_num, 3);
  EXPECT_EQ(r.queue_offset, 1);
  ASSERT_EQ(r.batch_phys_offsets.size(), 3u);
  EXPECT_EQ(ReadBody(r.batch_phys_offsets[0]), "one");
  EXPECT_EQ(ReadBody(r.batch_phys_offsets[2]), "three");
  EXPECT_EQ(log_->GetQueueOffset("T", 0), QueueOffset{4});
  auto sel = log_->GetData(PhysOffset{r.batch_phys_offsets[1]});
  RecordCheck c = CheckRecord(sel->bytes, true);
  EXPECT_EQ(c.record.queue_offset, 2);
  EXPECT_EQ(c.record.flag, 7);
}

TEST_F(CommitLogTest, MalformedBatchIsRejected) {
  Open();
  std::string batch = "\x00\x00\x00\x30garbage";
  MessageToStore m = Msg("");
  m.body = AsBytes(batch);
  EXPECT_EQ(log_->PutMessages(m).status, PutStatus::kMessageIllegal);
  EXPECT_TRUE(Put("fine").ok());
}

TEST_F(CommitLogTest, CleanRestartKeepsEveryMessage) {
  Open();
  std::vector<PutResult> results;
  for (int i = 0; i < 20; ++i)
    results.push_back(Put("m" + std::to_string(i), i % 3));
  Open(true);
  ASSERT_EQ(recovered_.size(), 20u);
  EXPECT_EQ(stats_.bytes_truncated, 0);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(recovered_[i].body, "m" + std::to_string(i));
  auto r = Put("after");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.phys_offset,
            results.back().phys_offset + results.back().wrote_bytes);
}

TEST_F(CommitLogTest, RecoveryTruncatesTornTailRecord) {
  Open();
  std::vector<PutResult> results;
  for (int i = 0; i < 3; ++i)
    results.push_back(Put("message-" + std::to_string(i)));
  ASSERT_OK(log_->FlushAll());
  Close();
  // Tear the last record: its TOTALSIZE now claims more bytes than the segment
  // holds.
  std::string big(4, '\0');
  StoreI32(big.data(), 100000);
  fs_.mem()->PatchForTesting(SegmentPath(0),
                             static_cast<size_t>(results[2].phys_offset), big);
  Open(false);
  ASSERT_EQ(recovered_.size(), 2u);
  EXPECT_GT(stats_.bytes_truncated, 0);
  EXPECT_EQ(log_->GetMaxOffset(), results[2].phys_offset);
  auto r = Put("replacement");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.phys_offset, results[2].phys_offset);
  EXPECT_EQ(r.queue_offset, 2);
}

TEST_F(CommitLogTest, RecoveryStopsAtFlippedBitInBody) {
  Open();
  std::vector<PutResult> results;
  for (int i = 0; i < 5; ++i)
    results.push_back(Put("payload-" + std::to_string(i)));
  ASSERT_OK(log_->FlushAll());
  Close();
  // Flip one bit inside message 2's body (the body starts 88 bytes into a
  // v1/IPv4 record).
  auto region =
      fs_.mem()->Map(SegmentPath(0), 4096, io::OpenMode::kOpenExisting);
  ASSERT_TRUE(region.ok());
  size_t pos = static_cast<size_t>(results[2].phys_offset) + 88 + 3;
  char flipped =
      static_cast<char>(static_cast<uint8_t>((*region)->bytes()[pos]) ^ 0x10);
  region->reset();
  fs_.mem()->PatchForTesting(SegmentPath(0), pos, std::string(1, flipped));
  Open(false);
  ASSERT_EQ(recovered_.size(), 2u);
  EXPECT_EQ(log_->GetMaxOffset(), results[2].phys_offset);
  EXPECT_GT(stats_.bytes_truncated, 0);
  EXPECT_FALSE(
      log_->GetMessage(PhysOffset{results[2].phys_offset}, 8).has_value());
}

TEST_F(CommitLogTest, PowerLossKeepsOnlySyncedMessagesUnderAsyncFlush) {
  config_.flush_interval_commit_log =
      100000;  // the flush thread never runs on its own here
  config_.flush_commit_log_thorough_interval = 100000000;
  Open();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(Put("durable-" + std::to_string(i)).ok());
  ASSERT_OK(log_->FlushAll());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(Put("volatile-" + std::to_string(i)).ok());
  fs_.SimulatePowerLoss();
  log_.reset();  // the process died: no shutdown flush
  checkpoint_.reset();
  Open(false);
  ASSERT_EQ(recovered_.size(), 10u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(recovered_[i].body, "durable-" + std::to_string(i));
}

TEST_F(CommitLogTest, PowerLossUnderSyncFlushKeepsEveryAcknowledgedMessage) {
  config_.flush_disk_type = FlushDiskType::kSync;
  Open();
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> acked_bodies;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string body = "t" + std::to_string(t) + "-" + std::to_string(i);
        MessageToStore m;
        m.topic = "T";
        m.queue_id = t;
        m.body = AsBytes(body);
        m.store_host = HostAddress::V4(127, 0, 0, 1, 10911);
        m.born_host = m.store_host;
        PutResult r = log_->PutMessage(m);
        if (r.ok()) {
          EXPECT_GE(log_->flushed_where(), r.phys_offset + r.wrote_bytes);
          std::lock_guard<std::mutex> lock(mu);
          acked_bodies.push_back(body);
          ++acked;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), 200);
  fs_.SimulatePowerLoss();
  log_.reset();
  checkpoint_.reset();
  Open(false);
  std::set<std::string> got;
  for (auto& s : recovered_) got.insert(s.body);
  for (auto& b : acked_bodies) EXPECT_TRUE(got.count(b)) << b;
  // Queue offsets survive dense per queue.
  std::map<int32_t, int64_t> next;
  for (auto& s : recovered_) {
    EXPECT_EQ(s.queue_offset, next[s.queue_id]);
    next[s.queue_id] = s.queue_offset + 1;
  }
}

TEST_F(CommitLogTest, FailedFlushTurnsStoreReadOnly) {
  config_.flush_disk_type = FlushDiskType::kSync;
  Open();
  ASSERT_TRUE(Put("ok").ok());
  fs_.FailNth(FaultFileSystem::Op::kSync, 1);
  PutResult r = Put("fails");
  EXPECT_EQ(r.status, PutStatus::kServiceNotAvailable);
  EXPECT_FALSE(log_->writeable());
  PutResult later = Put("later");
  EXPECT_EQ(later.status, PutStatus::kServiceNotAvailable);
  EXPECT_NE(later.error.find("injected fault"), std::string::npos)
      << later.error;
}

TEST_F(CommitLogTest, AsyncFlushWritesBackWholePagesInOrderBehindTheWriter) {
  config_.mapped_file_size_commit_log = 65536;
  config_.commit_log_writeback_kb = 4;        // a step every 4 KiB
  config_.flush_interval_commit_log = 60000;  // no flush: writeback alone
  Open();
  const std::string body(1000, 'w');
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(body).ok());  // two segments
  const int64_t max = log_->GetMaxOffset();
  const int64_t page_end = max & ~int64_t{kOsPageSize - 1};
  auto started_end = [&] {
    int64_t end = 0;
    for (const auto& c :
         fs_.RangeCallsForTesting(FaultFileSystem::Op::kWriteback)) {
      if (!c.wait) end = std::max(end, c.stream_end());
    }
    return end;
  };
  ASSERT_TRUE(WaitUntil([&] { return started_end() >= page_end; }))
      << started_end() << " of " << page_end;
  log_->Shutdown();

  // The started ranges tile [0, page_end) without a gap or an overlap; a range
  // ends on a page boundary or at its segment's end, never beyond what was
  // written; every wait is for a range started before.
  int64_t next = 0;
  std::vector<FaultFileSystem::RangeCall> started;
  int waits = 0;
  for (const auto& c :
       fs_.RangeCallsForTesting(FaultFileSystem::Op::kWriteback)) {
    if (c.wait) {
      ++waits;
      bool known = false;
      for (const auto& s : started) {
        known |= s.path == c.path && s.begin == c.begin && s.end == c.end;
      }
      EXPECT_TRUE(known) << c.path << " [" << c.begin << ", " << c.end << ")";
      continue;
    }
    EXPECT_EQ(c.stream_begin(), next);
    EXPECT_LT(c.begin, c.end);
    EXPECT_TRUE(c.end % kOsPageSize == 0 || c.end == 65536) << c.end;
    EXPECT_LE(c.stream_end(), max);
    next = c.stream_end();
    started.push_back(c);
  }
  EXPECT_GE(next, page_end);
  // 8 steps of 4 KiB may be in flight: more than that was written, so the
  // oldest ranges were waited for.
  EXPECT_GT(waits, 0);
}

TEST_F(CommitLogTest, CacheKeepDropsWrittenPagesBehindButNeverUndispatched) {
  config_.mapped_file_size_commit_log = 1 << 20;
  config_.commit_log_writeback_kb = 64;
  config_.commit_log_cache_keep_mb = 1;
  config_.flush_interval_commit_log = 60000;
  std::atomic<int64_t> dispatched{0};
  Open();
  log_->SetDropFloor(&dispatched);
  const std::string body(1000, 'k');
  auto dropped_end = [&] {
    int64_t end = 0;
    for (const auto& d :
         fs_.RangeCallsForTesting(FaultFileSystem::Op::kDropCache)) {
      end = std::max(end, d.stream_end());
    }
    return end;
  };
  // Returns once every writeback pass that saw the bytes written so far has
  // finished, its drops included. A pass starts whole 64 KiB steps up to the
  // last whole page and stops there, or at a segment's end; it drops after its
  // starts. So once the starts caught up with the writer (less than a step
  // left), a range starting beyond where they stood can only come from a later
  // pass: the flush thread is one thread, so the earlier passes are over.
  auto passes_done = [&] {
    constexpr int64_t kStep = 64 * 1024;
    auto started_end = [&] {
      int64_t end = 0;
      for (const auto& c :
           fs_.RangeCallsForTesting(FaultFileSystem::Op::kWriteback)) {
        if (!c.wait) end = std::max(end, c.stream_end());
      }
      return end;
    };
    const int64_t page_end = log_->GetMaxOffset() & ~int64_t{kOsPageSize - 1};
    if (!WaitUntil([&] { return started_end() > page_end - kStep; }))
      return false;
    // At a segment's end the same pass may go on into the next segment: then
    // wait for the second range there.
    int64_t from = started_end();
    if (from % config_.mapped_file_size_commit_log == 0) ++from;
    // A few steps more, so a later pass has ranges to start.
    for (int i = 0; i < 200; ++i) {
      if (!Put(body).ok()) return false;
    }
    return WaitUntil([&] {
      for (const auto& c :
           fs_.RangeCallsForTesting(FaultFileSystem::Op::kWriteback)) {
        if (!c.wait && c.stream_begin() >= from) return true;
      }
      return false;
    });
  };
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(Put(body).ok());  // ~3.3 MiB
  // Dispatch "stuck" at 0: written pages stay cached however far behind.
  ASSERT_TRUE(passes_done());
  EXPECT_EQ(dropped_end(), 0);
  // Dispatch at 1.5 MiB: pages up to there may go, not beyond.
  dispatched.store(3 << 19);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(body).ok());
  ASSERT_TRUE(WaitUntil([&] { return dropped_end() > 0; }));
  ASSERT_TRUE(passes_done());
  EXPECT_LE(dropped_end(), int64_t{3 << 19});
  // Dispatch caught up: drops reach 1 MiB behind the writer, no closer.
  dispatched.store(log_->GetMaxOffset());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(body).ok());
  const int64_t max = log_->GetMaxOffset();
  ASSERT_TRUE(WaitUntil([&] { return dropped_end() > (3 << 19); }));
  EXPECT_LE(dropped_end(), max - (1 << 20));
  log_->Shutdown();
  for (int64_t phys : {int64_t{0}, int64_t{1 << 20}}) {
    EXPECT_EQ(ReadBody(phys), body);  // dropped pages still read back
  }
}

TEST_F(CommitLogTest, FailedWritebackTurnsStoreReadOnly) {
  config_.mapped_file_size_commit_log = 65536;
  config_.commit_log_writeback_kb = 4;
  Open();
  fs_.FailNth(FaultFileSystem::Op::kWriteback, 1);
  const std::string body(1000, 'w');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(body).ok());
  ASSERT_TRUE(WaitUntil([&] { return !log_->writeable(); }));
  PutResult later = Put("later");
  EXPECT_EQ(later.status, PutStatus::kServiceNotAvailable);
  EXPECT_NE(later.error.find("injected fault"), std::string::npos)
      << later.error;
}

TEST_F(CommitLogTest, HangingSyncAnswersFlushDiskTimeoutAfterSyncFlushTimeout) {
  config_.flush_disk_type = FlushDiskType::kSync;
  config_.sync_flush_timeout = 100;
  Open();
  ASSERT_TRUE(Put("before").ok());
  fs_.SetSyncDelayMs(1500);
  auto t0 = std::chrono::steady_clock::now();
  std::promise<PutResult> p;
  log_->AsyncPutMessage(Msg("slow"),
                        [&](PutResult r) { p.set_value(std::move(r)); });
  PutResult r = p.get_future().get();
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  EXPECT_EQ(r.status, PutStatus::kFlushDiskTimeout);
  EXPECT_LT(
      waited.count(),
      1000);  // answered by the watcher, not when the sync finally returned
  // A blocking put gives up at the same deadline (it waits on its own).
  t0 = std::chrono::steady_clock::now();
  PutResult blocking = Put("slow too");
  waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  EXPECT_EQ(blocking.status, PutStatus::kFlushDiskTimeout);
  EXPECT_GE(waited.count(), 90);
  EXPECT_LT(waited.count(), 1000);
  fs_.SetSyncDelayMs(0);
  EXPECT_EQ(ReadBody(blocking.phys_offset), "slow too");  // in the log anyway
}

TEST_F(CommitLogTest, BlockingSyncPutsFromManyThreadsAreDurableWhenAnswered) {
  config_.flush_disk_type = FlushDiskType::kSync;
  config_.mapped_file_size_commit_log = 65536;  // the puts span segments
  Open();
  constexpr int kThreads = 8, kPer = 50;
  std::atomic<int> durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string body(500, static_cast<char>('a' + t));
      for (int i = 0; i < kPer; ++i) {
        MessageToStore m;
        m.topic = "T";
        m.queue_id = t;
        m.body = AsBytes(body);
        PutResult r = log_->PutMessage(m);
        // Answered OK means synced: the flushed offset covers the record.
        if (r.ok() && log_->flushed_where() >= r.phys_offset + r.wrote_bytes)
          durable.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(durable.load(), kThreads * kPer);
}

TEST_F(CommitLogTest, SegmentCreationFailureIsReportedNotFatal) {
  Open();
  fs_.FailNth(FaultFileSystem::Op::kMap, 1);
  PutResult r = Put("x");
  EXPECT_EQ(r.status, PutStatus::kCreateMappedFileFailed);
  EXPECT_TRUE(Put("y").ok());
}

TEST_F(CommitLogTest, TransientPoolMakesBytesReadableOnlyAfterCommit) {
  config_.transient_store_pool_enable = true;
  config_.transient_store_pool_size = 2;
  config_.commit_interval_commit_log = 100000;  // commit only when woken
  config_.commit_commit_log_thorough_interval = 0;
  Open();
  PutResult r = Put("pooled");
  ASSERT_TRUE(r.ok());
  // The put wakes the commit thread; wait for it.
  WaitUntil([&] { return ReadBody(r.phys_offset) == "pooled"; });
  EXPECT_EQ(ReadBody(r.phys_offset), "pooled");
  ASSERT_OK(log_->FlushAll());
  EXPECT_GE(log_->flushed_where(), r.phys_offset + r.wrote_bytes);
}

TEST_F(CommitLogTest, ConcurrentAppendersGetDistinctOffsets) {
  Open();
  constexpr int kThreads = 4, kPer = 300;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> offsets;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPer; ++i) {
        std::string body = "concurrent";
        MessageToStore m;
        m.topic = "T";
        m.body = AsBytes(body);
        PutResult r = log_->PutMessage(m);
        ASSERT_TRUE(r.ok());
        std::lock_guard<std::mutex> lock(mu);
        offsets.insert(r.queue_offset);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(offsets.size(), static_cast<size_t>(kThreads * kPer));
  EXPECT_EQ(*offsets.rbegin(), kThreads * kPer - 1);
}

// kill -9 in the middle of a batch append leaves all of the batch or none of
// it after recovery, wherever the copy into the segment stopped.
TEST_F(CommitLogTest, KillDuringABatchCopyLeavesNoneOfTheBatch) {
  std::string batch;
  ByteWriter w(&batch);
  for (std::string body : {"one", "two", "three"}) {
    w.I32(static_cast<int32_t>(20 + body.size() + 2));
    w.I32(0);
    w.I32(0);
    w.I32(0);
    w.I32(static_cast<int32_t>(body.size()));
    w.Bytes(body);
    w.I16(0);
  }
  Open();
  ASSERT_TRUE(Put("before").ok());
  MessageToStore m = Msg("");
  m.body = AsBytes(batch);
  PutResult whole = log_->PutMessages(m);
  ASSERT_TRUE(whole.ok()) << whole.error;
  const int64_t size = whole.wrote_bytes;
  for (int64_t stop :
       {int64_t{0}, int64_t{1}, size / 3, size / 2, size - 5, size - 4}) {
    SCOPED_TRACE(stop);
    log_->StopNextBatchCopyForTesting(stop);
    EXPECT_FALSE(log_->PutMessages(m).ok());
    log_.reset();  // killed: no shutdown, the segment as the copy left it
    checkpoint_.reset();
    Open(false);
    ASSERT_EQ(recovered_.size(), 4u);
    EXPECT_EQ(recovered_.back().body, "three");
    EXPECT_EQ(log_->GetMaxOffset(), whole.phys_offset + size);
  }
  PutResult again = log_->PutMessages(m);
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.phys_offset, whole.phys_offset + size);
  EXPECT_EQ(again.queue_offset, 4);
  log_.reset();
  checkpoint_.reset();
  Open(false);
  ASSERT_EQ(recovered_.size(), 7u);
  EXPECT_EQ(recovered_[4].body, "one");
  EXPECT_EQ(recovered_[6].body, "three");
}

}  // namespace
}  // namespace thruster::store
