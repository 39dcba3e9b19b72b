#include "store/store_verifier.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "message/properties.h"
#include "store/consume_queue_format.h"
#include "store/index_file_format.h"
#include "store/mapped_file.h"
#include "store/message_store.h"
#include "store/store_inspector.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster::store {

using message::EncodeProperties;
using message::HostAddress;
using message::MessageToStore;
namespace {

using testing::MemFileSystem;

constexpr int64_t kSegmentSize = 8192;
constexpr int kBodyPos =
    88;  // BODY of a v1 record with IPv4 hosts (commit_log_format.h)

// Writes a small store through MessageStore (so queues and index are built by
// dispatch), shuts it down, then verifies and inspects it offline, with
// corruption planted in between.
class StoreVerifierTest : public ::testing::Test {
 protected:
  StoreVerifierTest() : fs_(&clock_), config_(testing::SmallStoreConfig()) {
    config_.mapped_file_size_commit_log = kSegmentSize;
  }

  // Appends `n` messages over two queues, each with KEYS "key-<i>", and shuts
  // the store down cleanly.
  void WriteStore(int n) {
    MessageStore ms(&fs_, config_, &clock_);
    ASSERT_OK(ms.Load());
    ASSERT_OK(ms.Start());
    for (int i = 0; i < n; ++i) {
      std::string body = "body-" + std::to_string(i) + std::string(200, 'x');
      std::string props = EncodeProperties(
          {{"TAGS", "TagA"}, {"KEYS", "key-" + std::to_string(i)}});
      MessageToStore m;
      m.topic = "TopicA";
      m.queue_id = i % 2;
      m.body = AsBytes(body);
      m.properties = props;
      m.born_host = HostAddress::V4(127, 0, 0, 1, 50000);
      m.store_host = HostAddress::V4(127, 0, 0, 1, 10911);
      PutResult r = ms.PutMessage(m);
      ASSERT_TRUE(r.ok()) << r.error;
      phys_.push_back(r.phys_offset);
    }
    ASSERT_TRUE(ms.WaitForDispatch(5000));
    ms.Shutdown();
  }

  StoreVerifyReport Verify() {
    auto r = VerifyStore(&fs_, "/store", VerifyOptions{});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : StoreVerifyReport{};
  }

  std::string SegmentPath(int64_t phys) const {
    return "/store/commitlog/" + OffsetToFileName(phys - phys % kSegmentSize);
  }
  void CorruptByte(const std::string& path, int64_t pos) {
    fs_.PatchForTesting(path, static_cast<size_t>(pos), "\x5A");
  }
  // Rewrites the unit for `queue_offset` of TopicA:`queue_id` (all units live
  // in the first file here).
  void PatchUnit(int32_t queue_id, int64_t queue_offset,
                 const cq_format::Entry& e) {
    std::string bytes(cq_format::kEntrySize, '\0');
    cq_format::EncodeEntry(
        e, std::span<std::byte>(reinterpret_cast<std::byte*>(bytes.data()),
                                bytes.size()));
    fs_.PatchForTesting(
        QueuePath(queue_id),
        static_cast<size_t>(queue_offset) * cq_format::kEntrySize, bytes);
  }
  static std::string QueuePath(int32_t queue_id) {
    return "/store/consumequeue/TopicA/" + std::to_string(queue_id) + "/" +
           OffsetToFileName(0);
  }
  std::string IndexPath() {
    auto names = ListIndexFiles(&fs_, "/store");
    EXPECT_TRUE(names.ok() && !names->empty());
    return names.ok() && !names->empty() ? "/store/index/" + names->front()
                                         : "";
  }

  ManualClock clock_;
  MemFileSystem fs_;
  MessageStoreConfig config_;
  std::vector<int64_t> phys_;
};

TEST_F(StoreVerifierTest, CleanStoreVerifiesWithEveryUnitAndEntryChecked) {
  WriteStore(60);
  StoreVerifyReport rep = Verify();
  EXPECT_TRUE(rep.ok) << rep.error;
  EXPECT_EQ(rep.commit_log.records, 60);
  EXPECT_GT(rep.commit_log.segments,
            1);  // the records roll over several 8 KiB segments
  EXPECT_EQ(rep.queues, 2);
  EXPECT_EQ(rep.queue_units, 60);
  EXPECT_EQ(rep.records_not_in_queue, 0);
  EXPECT_EQ(rep.index_files, 1);
  EXPECT_EQ(rep.index_entries, 60);
}

// The progress callback sees every stage advance to its total, in order.
TEST_F(StoreVerifierTest, ProgressReportsEachStageUpToItsTotal) {
  WriteStore(60);
  struct Seen {
    int64_t calls = 0;
    int64_t last_done = 0;
    int64_t total = 0;
    bool monotonic = true;
  };
  std::map<std::string, Seen> seen;
  std::vector<std::string> order;
  VerifyOptions vo;
  vo.progress = [&](std::string_view stage, int64_t done, int64_t total) {
    Seen& s = seen[std::string(stage)];
    if (s.calls == 0) order.emplace_back(stage);
    if (done < s.last_done || done > total) s.monotonic = false;
    s.calls++;
    s.last_done = done;
    s.total = total;
  };
  auto r = VerifyStore(&fs_, "/store", vo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->ok) << r->error;
  EXPECT_EQ(order, (std::vector<std::string>{"commitlog", "consume queues",
                                             "index files"}));
  EXPECT_EQ(seen["commitlog"].calls, 60);
  EXPECT_TRUE(seen["commitlog"].monotonic);
  // The last record ends in the last segment, which spans to its full size.
  EXPECT_EQ(seen["commitlog"].last_done, r->commit_log.end_offset);
  EXPECT_EQ(seen["commitlog"].total % kSegmentSize, 0);
  EXPECT_GE(seen["commitlog"].total, seen["commitlog"].last_done);
  EXPECT_EQ(seen["consume queues"].last_done, 2);
  EXPECT_EQ(seen["consume queues"].total, 2);
  EXPECT_EQ(seen["index files"].last_done, 1);
  EXPECT_EQ(seen["index files"].total, 1);
}

TEST_F(StoreVerifierTest, FlippedBodyByteNamesSegmentAndOffset) {
  WriteStore(20);
  int64_t victim = phys_[7];
  CorruptByte(SegmentPath(victim), victim % kSegmentSize + kBodyPos + 2);
  StoreVerifyReport rep = Verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error_file, SegmentPath(victim));
  EXPECT_EQ(rep.error_offset, victim);
  EXPECT_NE(rep.error.find(std::to_string(victim)), std::string::npos)
      << rep.error;
}

TEST_F(StoreVerifierTest, TailCutByRecoveryEndsTheDataWithoutError) {
  WriteStore(20);
  // Recovery zeroes TOTALSIZE and MAGICCODE where it cut; the stale record
  // bytes behind stay (spec §10.5). The queues still point at the cut records,
  // which the verifier reports as dangling, so check the CommitLog alone.
  int64_t cut = phys_[19];
  fs_.PatchForTesting(SegmentPath(cut), static_cast<size_t>(cut % kSegmentSize),
                      std::string(8, '\0'));
  auto rep = VerifyCommitLog(&fs_, "/store/commitlog");
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(rep->ok) << rep->error;
  EXPECT_EQ(rep->records, 19);
  EXPECT_EQ(rep->end_offset, cut);
}

TEST_F(StoreVerifierTest, StoreRecoveredFromACorruptTailVerifies) {
  WriteStore(20);
  int64_t victim = phys_[19];
  CorruptByte(SegmentPath(victim), victim % kSegmentSize + kBodyPos + 2);
  ASSERT_OK(fs_.WriteFile("/store/abort", "1"));
  {
    MessageStore ms(&fs_, config_, &clock_);
    ASSERT_OK(ms.Load());  // abnormal recovery cuts the last record
    EXPECT_EQ(ms.recovery_report().commit_log.process_offset, victim);
    ms.Shutdown();
  }
  StoreVerifyReport rep = Verify();
  EXPECT_TRUE(rep.ok) << rep.error;
  EXPECT_EQ(rep.commit_log.records, 19);
  EXPECT_EQ(rep.queue_units, 19);
  // The cut record's index entry stays behind (the index is not truncated).
  EXPECT_EQ(rep.index_entries + rep.index_entries_stale, 20);
}

TEST_F(StoreVerifierTest, UnitPointingInsideARecordIsReported) {
  WriteStore(20);
  // Queue 0 holds the even messages; its unit 3 is message 6.
  PatchUnit(0, 3, cq_format::Entry{phys_[6] + 4, 100, 0});
  StoreVerifyReport rep = Verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error_file, QueuePath(0));
  EXPECT_EQ(rep.error_offset, 3 * 20);
  EXPECT_NE(rep.error.find("not a record start"), std::string::npos)
      << rep.error;
}

TEST_F(StoreVerifierTest, UnitPointingAtAnotherQueuesRecordIsReported) {
  WriteStore(20);
  // Message 5 is a valid record start, but it belongs to queue 1.
  auto cq = ConsumeQueueReader::Open(&fs_, "/store", QueueId{"TopicA", 0});
  ASSERT_TRUE(cq.ok());
  cq_format::Entry original;
  (*cq)->Walk(2, [&](int64_t, const cq_format::Entry& e, size_t, int64_t) {
    original = e;
    return false;
  });
  cq->reset();
  PatchUnit(0, 2,
            cq_format::Entry{phys_[5], original.size, original.tags_code});
  StoreVerifyReport rep = Verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error_file, QueuePath(0));
  EXPECT_EQ(rep.error_offset, 2 * 20);
}

TEST_F(StoreVerifierTest, IndexEntryWithForeignKeyHashIsReported) {
  WriteStore(10);
  std::string path = IndexPath();
  // Entry 4's key hash becomes that of a key no record carries; its slot chain
  // still holds it, so point the hash at the same slot (hash + slots keeps hash
  // % slots).
  auto f = IndexFileReader::Open(&fs_, path, std::nullopt);
  ASSERT_TRUE(f.ok());
  index_format::Entry e = (*f)->EntryAt(4);
  int64_t pos = index_format::EntryPos(64, 4);
  f->reset();
  e.key_hash += 64;
  std::string bytes(index_format::kEntrySize, '\0');
  index_format::EncodeEntry(
      e, std::span<std::byte>(reinterpret_cast<std::byte*>(bytes.data()),
                              bytes.size()));
  fs_.PatchForTesting(path, static_cast<size_t>(pos), bytes);
  StoreVerifyReport rep = Verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error_file, path);
  EXPECT_EQ(rep.error_offset, pos);
  EXPECT_NE(rep.error.find("matches none"), std::string::npos) << rep.error;
}

TEST_F(StoreVerifierTest, InspectReportsOffsetsOfEveryPart) {
  WriteStore(30);
  auto info = InspectStore(&fs_, "/store");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->segment_size, kSegmentSize);
  EXPECT_EQ(info->min_phys_offset, 0);
  EXPECT_EQ(info->first_record_offset, 0);
  EXPECT_EQ(info->last_record_offset, phys_.back());
  ASSERT_EQ(info->queues.size(), 2u);
  EXPECT_EQ(info->queues[0].min_offset, 0);
  EXPECT_EQ(info->queues[0].max_offset, 15);
  EXPECT_EQ(info->queues[1].max_phys_offset, phys_.back());
  ASSERT_EQ(info->index_files.size(), 1u);
  EXPECT_EQ(info->index_files[0].geometry.slot_num, 64);
  EXPECT_EQ(info->index_files[0].header.index_count, 31);
  EXPECT_TRUE(info->has_checkpoint);
  EXPECT_FALSE(info->has_abort);
}

TEST(DetectIndexGeometryTest, DefaultSizeAndOneToFourRatio) {
  auto d = DetectIndexGeometry(420000040);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->slot_num, 5000000);
  EXPECT_EQ(d->index_num, 20000000);
  auto small = DetectIndexGeometry(
      1680040);  // the RocketMQ fixture stores: 20000 slots, 80000 entries
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->slot_num, 20000);
  EXPECT_EQ(small->index_num, 80000);
  EXPECT_FALSE(DetectIndexGeometry(1000).ok());
}

}  // namespace
}  // namespace thruster::store
