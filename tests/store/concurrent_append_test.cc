// Appends from many threads at once: single records and batches mixed, across
// many queues and many segment rolls. The CommitLog must come out exactly as a
// serial writer would have left it.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "message/batch_codec.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "store/message_store.h"
#include "store/store_verifier.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

using testing::MemFileSystem;

constexpr int kAppendThreads = 8;
constexpr int kAppendsPerThread = 150;
constexpr int kAppendQueues = 12;
constexpr char kAppendTopic[] = "ConcurrentTopic";

struct AppendedRecord {
  int32_t queue_id;
  int64_t queue_offset;
  int64_t phys;
  std::string body;
};

class ConcurrentAppendTest : public ::testing::Test {
 protected:
  ConcurrentAppendTest() {
    config_.store_path_root_dir = "/store";
    // Small segments: many rolls while other threads have copies in flight.
    config_.mapped_file_size_commit_log = 32 * 1024;
    config_.mapped_file_size_consume_queue = 20 * 64;
    config_.max_hash_slot_num = 64;
    config_.max_index_num = 4096;
    config_.flush_interval_commit_log = 10;
    config_.flush_interval_consume_queue = 10;
    config_.pre_touch_mapped_file = false;
  }
  ~ConcurrentAppendTest() override { store_.reset(); }

  void Open() {
    store_.reset();
    store_ = std::make_unique<MessageStore>(&fs_, config_);
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
  }

  // Thread `t` appends kAppendsPerThread messages: mostly single records of
  // random sizes, every fifth a batch of three. Returns what it was told.
  std::vector<AppendedRecord> AppendFrom(int t, uint64_t seed) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
    std::vector<AppendedRecord> out;
    for (int i = 0; i < kAppendsPerThread; ++i) {
      const int32_t queue_id = static_cast<int32_t>(rng() % kAppendQueues);
      const std::string tag = "t" + std::to_string(t) + "-" + std::to_string(i);
      message::MessageToStore m;
      m.topic = kAppendTopic;
      m.queue_id = queue_id;
      m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
      m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
      if (i % 5 == 4) {
        std::string batch;
        std::vector<std::string> bodies;
        for (int j = 0; j < 3; ++j) {
          bodies.push_back(tag + "-b" + std::to_string(j));
          EXPECT_OK(message::EncodeBatchEntry(
              message::BatchEntry{0, AsBytes(bodies.back()), ""}, &batch));
        }
        m.body = AsBytes(batch);
        m.sys_flag = 0;
        PutResult r = store_->PutMessages(m);
        EXPECT_TRUE(r.ok()) << r.error;
        if (!r.ok()) return out;
        EXPECT_EQ(r.batch_phys_offsets.size(), 3u);
        for (int j = 0;
             j < 3 && j < static_cast<int>(r.batch_phys_offsets.size()); ++j) {
          out.push_back(AppendedRecord{queue_id, r.queue_offset + j,
                                       r.batch_phys_offsets[j], bodies[j]});
        }
      } else {
        const std::string body =
            tag + std::string(static_cast<size_t>(rng() % 900), 'x');
        m.body = AsBytes(body);
        PutResult r = store_->PutMessage(m);
        EXPECT_TRUE(r.ok()) << r.error;
        if (!r.ok()) return out;
        out.push_back(
            AppendedRecord{queue_id, r.queue_offset, r.phys_offset, body});
      }
    }
    return out;
  }

  std::vector<AppendedRecord> AppendFromManyThreads(uint64_t seed) {
    std::vector<std::vector<AppendedRecord>> per_thread(kAppendThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kAppendThreads; ++t) {
      threads.emplace_back([&, t] { per_thread[t] = AppendFrom(t, seed); });
    }
    for (auto& th : threads) th.join();
    std::vector<AppendedRecord> all;
    for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

  // Every record can be read back at the phys offset its put returned, and
  // through its queue at the queue offset the put returned.
  void ExpectEveryRecordReadable(const std::vector<AppendedRecord>& all) {
    for (const auto& a : all) {
      auto rec = store_->LookMessageByOffset(a.phys);
      ASSERT_TRUE(rec.has_value()) << a.phys;
      message::RecordCheck c = message::CheckRecord(rec->bytes, true);
      ASSERT_EQ(c.status, message::RecordStatus::kOk) << a.phys;
      EXPECT_EQ(AsStringView(c.record.body), a.body);
      EXPECT_EQ(c.record.queue_id, a.queue_id);
      EXPECT_EQ(c.record.queue_offset, a.queue_offset);
      EXPECT_EQ(store_->GetCommitLogOffsetInQueue(kAppendTopic, a.queue_id,
                                                  a.queue_offset),
                a.phys);
    }
  }

  MemFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
};

TEST_F(ConcurrentAppendTest, QueueOffsetsStayContiguousAndEveryRecordIsWhole) {
  const uint64_t seed = testing::TestSeed();
  Open();
  const std::vector<AppendedRecord> all = AppendFromManyThreads(seed);
  ASSERT_TRUE(store_->WaitForDispatch(10000));

  // Per queue the offsets handed out are exactly 0 .. n-1, and a later queue
  // offset always lies further into the log.
  std::map<int32_t, std::map<int64_t, int64_t>> by_queue;  // offset → phys
  std::set<int64_t> phys_seen;
  for (const auto& a : all) {
    EXPECT_TRUE(by_queue[a.queue_id].emplace(a.queue_offset, a.phys).second)
        << "queue " << a.queue_id << " offset " << a.queue_offset << " twice";
    EXPECT_TRUE(phys_seen.insert(a.phys).second) << a.phys;
  }
  for (const auto& [queue_id, offsets] : by_queue) {
    EXPECT_EQ(offsets.begin()->first, 0) << queue_id;
    EXPECT_EQ(offsets.rbegin()->first, static_cast<int64_t>(offsets.size()) - 1)
        << queue_id;
    int64_t last_phys = -1;
    for (const auto& [offset, phys] : offsets) {
      EXPECT_GT(phys, last_phys)
          << "queue " << queue_id << " offset " << offset;
      last_phys = phys;
    }
    EXPECT_EQ(store_->GetMaxOffsetInQueue(kAppendTopic, queue_id),
              static_cast<int64_t>(offsets.size()));
  }
  ExpectEveryRecordReadable(all);

  // The files hold exactly these records, back to back, and the queues and
  // index agree with them.
  store_->Shutdown();
  ASSERT_OK_AND_ASSIGN(StoreVerifyReport report,
                       VerifyStore(&fs_, "/store", VerifyOptions{}));
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.commit_log.records, static_cast<int64_t>(all.size()));
  EXPECT_GT(report.commit_log.segments, 3);
  EXPECT_EQ(report.queue_units, static_cast<int64_t>(all.size()));
}

TEST_F(ConcurrentAppendTest, AbnormalRecoveryAfterConcurrentAppendsKeepsAll) {
  const uint64_t seed = testing::TestSeed();
  Open();
  const std::vector<AppendedRecord> all = AppendFromManyThreads(seed);
  ASSERT_TRUE(store_->WaitForDispatch(10000));
  const int64_t max_phys = store_->GetMaxPhyOffset();
  // Stop as a crashed process would leave it: everything in the files (the
  // page cache survives a process crash), `abort` still there, so the next
  // start re-verifies every record from the checkpoint.
  store_->Shutdown();
  ASSERT_OK(fs_.WriteFile(config_.AbortPath(), "1"));
  Open();
  EXPECT_FALSE(store_->recovery_report().last_exit_ok);
  EXPECT_EQ(store_->GetMaxPhyOffset(), max_phys);
  ExpectEveryRecordReadable(all);
}

}  // namespace
}  // namespace thruster::store
