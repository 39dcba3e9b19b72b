#include "store/consume_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/coding.h"
#include "message/message.h"
#include "store/consume_queue_format.h"
#include "store/io/posix_file_system.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {

using message::JHash;
using message::TagsCode;
namespace {

using cq_format::Entry;
using testing::MemFileSystem;

constexpr char kRoot[] = "/store/consumequeue";
constexpr int64_t kUnits = 10;  // entries per file in these tests
constexpr int64_t kFileSize = kUnits * 20;

class ConsumeQueueTest : public ::testing::Test {
 protected:
  // Opens (or reopens) topic T queue 3 and recovers it.
  std::unique_ptr<ConsumeQueue> Open(int64_t file_size = kFileSize) {
    auto cq = std::make_unique<ConsumeQueue>(&fs_, kRoot, "T", 3, file_size);
    Status s = cq->Load();
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = cq->Recover();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return cq;
  }
  // Message i: phys offset i * 100, size 100, tags code 1000 + i.
  static void Put(ConsumeQueue& cq, int64_t i) {
    ASSERT_OK(cq.PutMessagePositionInfo(PhysOffset{i * 100}, 100, 1000 + i,
                                        QueueOffset{i}));
  }
  static void PutRange(ConsumeQueue& cq, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) Put(cq, i);
  }
  static void FlushAll(ConsumeQueue& cq) {
    for (int i = 0; i < 100; ++i) {
      Result<bool> r = cq.Flush(0);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (*r) return;
    }
    FAIL() << "flush did not settle";
  }
  static void ExpectEntries(const ConsumeQueue& cq, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) {
      auto e = cq.GetEntry(QueueOffset{i});
      ASSERT_TRUE(e.has_value()) << "queue offset " << i;
      EXPECT_EQ(*e, (Entry{i * 100, 100, 1000 + i})) << "queue offset " << i;
    }
  }
  std::string FilePath(int64_t base) {
    return std::string(kRoot) + "/T/3/" + OffsetToFileName(base);
  }

  MemFileSystem fs_;
};

TEST(ConsumeQueueFormatTest, GoldenEntryOfWorkedExample) {
  // Spec §4.9: phys offset 1073741824, size 107, TAGS "TagA".
  std::array<std::byte, cq_format::kEntrySize> buf{};
  cq_format::EncodeEntry(Entry{1073741824, 107, JHash("TagA")}, buf);
  EXPECT_EQ(testing::UpperHex(buf), "00000000400000000000006B000000000027A807");
  ASSERT_OK_AND_ASSIGN(Entry e, cq_format::DecodeEntry(buf));
  EXPECT_EQ(e, (Entry{1073741824, 107, 0x27A807}));
}

TEST(ConsumeQueueFormatTest, DecodeRejectsShortSpan) {
  std::array<std::byte, 19> buf{};
  EXPECT_FALSE(cq_format::DecodeEntry(buf).ok());
}

TEST(ConsumeQueueFormatTest, FileSizeRoundsUpToWholeEntries) {
  EXPECT_EQ(cq_format::RoundFileSize(6000000), 6000000);
  EXPECT_EQ(cq_format::RoundFileSize(6000001), 6000020);
  EXPECT_EQ(cq_format::RoundFileSize(1), 20);
  EXPECT_EQ(cq_format::kDefaultFileSize, 6000000);
}

TEST_F(ConsumeQueueTest, WorkedExampleLandsAtByte140WithPreBlankInFront) {
  auto cq = Open(cq_format::kDefaultFileSize);
  ASSERT_OK(cq->PutMessagePositionInfo(PhysOffset{1073741824}, 107,
                                       TagsCode("TagA"), QueueOffset{7}));
  ASSERT_OK_AND_ASSIGN(std::string bytes, fs_.ReadFile(FilePath(0)));
  EXPECT_EQ(bytes.size(), 6000000u);
  EXPECT_EQ(testing::UpperHex(AsBytes(bytes).subspan(140, 20)),
            "00000000400000000000006B000000000027A807");
  EXPECT_EQ(testing::UpperHex(AsBytes(bytes).subspan(0, 20)),
            "00000000000000007FFFFFFF0000000000000000");
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 7);
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 8);
  EXPECT_FALSE(cq->GetEntry(QueueOffset{6}).has_value());
  EXPECT_EQ(cq->max_phys_offset(), 1073741824 + 107);
}

TEST_F(ConsumeQueueTest, PutAndGetAcrossFiles) {
  auto cq = Open();
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 0);
  EXPECT_EQ(cq->max_phys_offset(), -1);
  EXPECT_FALSE(cq->GetLastEntry().has_value());
  PutRange(*cq, 0, 25);
  EXPECT_TRUE(fs_.Exists(FilePath(2 * kFileSize)));
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 0);
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 25);
  EXPECT_EQ(cq->max_phys_offset(), 2500);
  EXPECT_EQ(cq->GetLastEntry(), (Entry{2400, 100, 1024}));
  ExpectEntries(*cq, 0, 25);
  EXPECT_FALSE(cq->GetEntry(QueueOffset{25}).has_value());

  auto buf = cq->GetIndexBuffer(QueueOffset{13});
  ASSERT_TRUE(buf.has_value());
  EXPECT_EQ(buf->start_offset, 13 * 20);
  EXPECT_EQ(buf->bytes.size(),
            7u * 20);  // to the end of the file holding offset 13
  ASSERT_OK_AND_ASSIGN(Entry last,
                       cq_format::DecodeEntry(buf->bytes.subspan(6 * 20)));
  EXPECT_EQ(last.phys_offset, 1900);
  ASSERT_TRUE(cq->GetIndexBuffer(QueueOffset{24}).has_value());
  EXPECT_EQ(cq->GetIndexBuffer(QueueOffset{24})->bytes.size(), 20u);
}

TEST_F(ConsumeQueueTest, RedispatchIsIdempotent) {
  auto cq = Open();
  PutRange(*cq, 0, 15);
  PutRange(*cq, 0, 15);  // recovery re-dispatching what the queue already holds
  ASSERT_OK(
      cq->PutMessagePositionInfo(PhysOffset{700}, 100, 9, QueueOffset{7}));
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 15);
  ExpectEntries(*cq, 0, 15);
}

TEST_F(ConsumeQueueTest, WrittenQueueOffsetIsNotOverwritten) {
  auto cq = Open();
  PutRange(*cq, 0, 5);
  ASSERT_OK(cq->PutMessagePositionInfo(
      PhysOffset{9000}, 100, 1,
      QueueOffset{3}));  // newer record claiming queue offset 3
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 5);
  ExpectEntries(*cq, 0, 5);
}

TEST_F(ConsumeQueueTest, HoleIsFilledWithPreBlankSoOffsetsStayAligned) {
  auto cq = Open();
  PutRange(*cq, 0, 2);
  Put(*cq, 4);
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 5);
  EXPECT_EQ(cq->GetEntry(QueueOffset{2}), cq_format::kPreBlankEntry);
  EXPECT_EQ(cq->GetEntry(QueueOffset{3}), cq_format::kPreBlankEntry);
  EXPECT_EQ(cq->GetEntry(QueueOffset{4}), (Entry{400, 100, 1004}));
  EXPECT_EQ(
      cq->PutMessagePositionInfo(PhysOffset{50000}, 100, 0, QueueOffset{500})
          .code(),
      Status::Code::kInvalidArgument);
}

TEST_F(ConsumeQueueTest, FirstEntryInLaterFileStartsQueueThere) {
  {
    auto cq = Open();
    Put(*cq, 13);
    EXPECT_FALSE(fs_.Exists(FilePath(0)));
    EXPECT_TRUE(fs_.Exists(FilePath(kFileSize)));
    EXPECT_EQ(cq->GetMinOffsetInQueue(), 13);
    EXPECT_EQ(cq->GetMaxOffsetInQueue(), 14);
    EXPECT_FALSE(cq->GetEntry(QueueOffset{12}).has_value());
    ExpectEntries(*cq, 13, 14);
    PutRange(*cq, 14, 22);
    FlushAll(*cq);
  }
  auto cq = Open();
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 22);
  EXPECT_EQ(cq->max_phys_offset(), 2200);
  cq->CorrectMinOffset(
      PhysOffset{0});  // pre-blank filler never counts as a message
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 13);
  ExpectEntries(*cq, 13, 22);
}

TEST_F(ConsumeQueueTest, RecoveryStopsAtTornTail) {
  {
    auto cq = Open();
    PutRange(*cq, 0, 15);
    FlushAll(*cq);
  }
  // Entry 12 half written: its size is still zero.
  fs_.PatchForTesting(FilePath(kFileSize), 2 * 20 + 8, std::string(4, '\0'));
  auto cq = Open();
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 12);
  EXPECT_EQ(cq->max_phys_offset(), 1200);
  EXPECT_EQ(cq->GetLastEntry(), (Entry{1100, 100, 1011}));
  PutRange(*cq, 12, 16);
  ExpectEntries(*cq, 0, 16);
}

TEST_F(ConsumeQueueTest, RecoveryEndsAtEntryPointingBackAndClearsIt) {
  {
    auto cq = Open();
    PutRange(*cq, 0, 15);
    FlushAll(*cq);
  }
  std::array<std::byte, 20> stale{};
  cq_format::EncodeEntry(
      Entry{500, 100, 7},
      stale);  // a stale unit that points back in the commit log
  fs_.PatchForTesting(FilePath(kFileSize), 2 * 20,
                      std::string(AsStringView(stale)));
  {
    auto cq = Open();
    EXPECT_EQ(cq->GetMaxOffsetInQueue(), 12);
  }
  fs_.SimulatePowerLoss();  // the clearing was synced: the stale unit stays
                            // gone
  ASSERT_OK_AND_ASSIGN(std::string bytes, fs_.ReadFile(FilePath(kFileSize)));
  EXPECT_EQ(bytes.substr(40, 20), std::string(20, '\0'));
}

TEST_F(ConsumeQueueTest, PowerLossKeepsOnlyFlushedEntries) {
  {
    auto cq = Open();
    PutRange(*cq, 0, 15);
    FlushAll(*cq);
    PutRange(*cq, 15, 25);  // never flushed; creates a third file
    EXPECT_EQ(cq->GetMaxOffsetInQueue(), 25);
  }
  fs_.SimulatePowerLoss();
  auto cq = Open();
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 15);
  EXPECT_EQ(cq->max_phys_offset(), 1500);
  EXPECT_FALSE(fs_.Exists(FilePath(2 * kFileSize)));
  PutRange(*cq, 15, 25);  // re-dispatch refills the queue
  ExpectEntries(*cq, 0, 25);
}

TEST_F(ConsumeQueueTest, TruncateDropsEntriesAtOrPastPhysOffset) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  FlushAll(*cq);
  ASSERT_OK(
      cq->TruncateDirtyLogicFiles(PhysOffset{1250}));  // cuts inside message 12
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 13);
  EXPECT_EQ(cq->max_phys_offset(), 1300);
  EXPECT_FALSE(cq->GetEntry(QueueOffset{13}).has_value());
  EXPECT_FALSE(fs_.Exists(FilePath(2 * kFileSize)));
  // The synced zeroes keep a second crash from bringing entry 13 back.
  fs_.SimulatePowerLoss();
  cq = Open();
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 13);
  PutRange(*cq, 13, 20);
  ExpectEntries(*cq, 0, 20);
}

TEST_F(ConsumeQueueTest, TruncateAtFileBoundaryKeepsFullFile) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  ASSERT_OK(cq->TruncateDirtyLogicFiles(PhysOffset{1000}));
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 10);
  EXPECT_EQ(cq->max_phys_offset(), 1000);
  PutRange(*cq, 10, 12);
  ExpectEntries(*cq, 0, 12);
}

TEST_F(ConsumeQueueTest, TruncateBelowEverythingEmptiesQueue) {
  auto cq = Open();
  PutRange(*cq, 5, 25);
  ASSERT_OK(cq->TruncateDirtyLogicFiles(PhysOffset{100}));
  EXPECT_EQ(cq->max_phys_offset(), -1);
  EXPECT_EQ(cq->GetMaxOffsetInQueue(),
            5);  // the pre-blank filler in front of message 5 stays
  PutRange(*cq, 5, 7);
  ExpectEntries(*cq, 5, 7);
}

TEST_F(ConsumeQueueTest, DeletingExpiredFilesMovesMinOffset) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  ASSERT_OK_AND_ASSIGN(int deleted, cq->DeleteExpiredFile(PhysOffset{1050}));
  EXPECT_EQ(deleted, 1);  // file 0's last entry (phys 900) is below 1050; file
                          // 1's (1900) is not
  EXPECT_FALSE(fs_.Exists(FilePath(0)));
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 11);
  EXPECT_FALSE(cq->GetEntry(QueueOffset{10}).has_value());
  ExpectEntries(*cq, 11, 25);

  ASSERT_OK_AND_ASSIGN(deleted, cq->DeleteExpiredFile(PhysOffset{5000}));
  EXPECT_EQ(deleted, 1);  // never the newest file
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 25);
  EXPECT_EQ(cq->GetMaxOffsetInQueue(), 25);

  cq = Open();  // reload: min offset starts at the first file and is corrected
                // again
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 20);
  cq->CorrectMinOffset(PhysOffset{5000});
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 25);
}

TEST_F(ConsumeQueueTest, CorrectMinOffsetFindsFirstLiveEntry) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  cq->CorrectMinOffset(PhysOffset{0});
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 0);
  cq->CorrectMinOffset(PhysOffset{1701});
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 18);
  cq->CorrectMinOffset(PhysOffset{1800});
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 18);
}

class ConsumeQueueTimeTest : public ConsumeQueueTest {
 protected:
  // Message i is stored at 1000 + (i / 2) * 10: pairs share a store time.
  static int64_t TimeOf(int64_t phys) { return 1000 + (phys / 100) / 2 * 10; }
  int64_t Find(const ConsumeQueue& cq, int64_t ts, BoundaryType b,
               int64_t cl_min = 0) {
    return cq.GetOffsetInQueueByTime(ts, b, cl_min,
                                     [this](int64_t phys, int32_t size) {
                                       ++lookups_;
                                       EXPECT_EQ(size, 100);
                                       return TimeOf(phys);
                                     });
  }
  int lookups_ = 0;
};

TEST_F(ConsumeQueueTimeTest, BinarySearchFindsBoundaries) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  EXPECT_EQ(Find(*cq, 1050, BoundaryType::kLower), 10);
  EXPECT_EQ(Find(*cq, 1050, BoundaryType::kUpper), 11);
  EXPECT_EQ(Find(*cq, 1055, BoundaryType::kLower), 12);
  EXPECT_EQ(Find(*cq, 1055, BoundaryType::kUpper), 11);
  EXPECT_EQ(Find(*cq, 1045, BoundaryType::kLower),
            10);  // first entry of the second file
  EXPECT_EQ(Find(*cq, 1040, BoundaryType::kLower), 8);
  EXPECT_EQ(Find(*cq, 1095, BoundaryType::kUpper),
            19);  // last entry of the second file
  EXPECT_EQ(Find(*cq, 1095, BoundaryType::kLower), 20);
  EXPECT_EQ(Find(*cq, 0, BoundaryType::kLower), 0);
  EXPECT_EQ(Find(*cq, 0, BoundaryType::kUpper), 0);
  EXPECT_EQ(Find(*cq, 99999, BoundaryType::kLower), 25);
  EXPECT_EQ(Find(*cq, 99999, BoundaryType::kUpper), 24);
  lookups_ = 0;
  Find(*cq, 1077, BoundaryType::kLower);
  EXPECT_LE(lookups_, 10);  // logarithmic, not a scan
}

TEST_F(ConsumeQueueTimeTest, EntriesBelowCommitLogMinCountAsOlder) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  EXPECT_EQ(Find(*cq, 0, BoundaryType::kLower, 1200), 12);
  ASSERT_OK(cq->DeleteExpiredFile(PhysOffset{1200}).status());
  EXPECT_EQ(cq->GetMinOffsetInQueue(), 12);
  EXPECT_EQ(Find(*cq, 0, BoundaryType::kUpper, 1200),
            12);  // clamped to the min offset
}

TEST_F(ConsumeQueueTimeTest, UnreadableStoreTimeGivesMinOffset) {
  auto cq = Open();
  PutRange(*cq, 0, 25);
  EXPECT_EQ(cq->GetOffsetInQueueByTime(1050, BoundaryType::kLower, 0,
                                       [](int64_t, int32_t) { return -1; }),
            0);
  auto empty = std::make_unique<ConsumeQueue>(&fs_, kRoot, "T", 4, kFileSize);
  ASSERT_OK(empty->Load());
  ASSERT_OK(empty->Recover());
  EXPECT_EQ(Find(*empty, 1050, BoundaryType::kLower), 0);
}

TEST_F(ConsumeQueueTest, ReadersSeeWholeEntriesWhileDispatchAppends) {
  auto cq = Open();
  constexpr int64_t kCount = 2000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    int64_t next = 0;
    while (next < kCount) {
      auto buf = cq->GetIndexBuffer(QueueOffset{next});
      if (!buf) {
        if (done.load() && !cq->GetIndexBuffer(QueueOffset{next})) break;
        std::this_thread::yield();
        continue;
      }
      for (size_t pos = 0; pos + 20 <= buf->bytes.size(); pos += 20, ++next) {
        auto e = cq_format::DecodeEntry(buf->bytes.subspan(pos)).value();
        ASSERT_EQ(e, (Entry{next * 100, 100, 1000 + next}));
      }
    }
    EXPECT_EQ(next, kCount);
  });
  PutRange(*cq, 0, kCount);
  done.store(true);
  reader.join();
}

TEST(ConsumeQueueFaultTest, FailedSyncAndCreateAreReported) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ConsumeQueue cq(&fs, kRoot, "T", 0, kFileSize);
  ASSERT_OK(cq.Load());
  ASSERT_OK(cq.Recover());
  ASSERT_OK(cq.PutMessagePositionInfo(PhysOffset{0}, 100, 0, QueueOffset{0}));
  fs.FailNth(testing::FaultFileSystem::Op::kSync, 1);
  EXPECT_FALSE(cq.Flush(0).ok());
  for (int64_t i = 1; i < kUnits; ++i)
    ASSERT_OK(
        cq.PutMessagePositionInfo(PhysOffset{i * 100}, 100, 0, QueueOffset{i}));
  fs.FailNth(testing::FaultFileSystem::Op::kMap,
             1);  // the next file cannot be created
  EXPECT_FALSE(cq.PutMessagePositionInfo(PhysOffset{kUnits * 100}, 100, 0,
                                         QueueOffset{kUnits})
                   .ok());
  EXPECT_EQ(cq.GetMaxOffsetInQueue(), kUnits);
  EXPECT_EQ(cq.max_phys_offset(), kUnits * 100);
  ASSERT_OK(cq.PutMessagePositionInfo(PhysOffset{kUnits * 100}, 100, 0,
                                      QueueOffset{kUnits}));  // retry
  EXPECT_EQ(cq.GetMaxOffsetInQueue(), kUnits + 1);
}

// The consume queues of a store written by RocketMQ itself (tests/fixtures,
// spec README): every manifest message is found at its queue offset with its
// phys offset, size and tags code.
class ConsumeQueueFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConsumeQueueFixtureTest, EveryManifestMessageIsFoundByQueueOffset) {
  namespace fs = std::filesystem;
  testing::TempDir tmp;
  const std::string src = testing::FixturePath(GetParam() + "/consumequeue");
  ASSERT_TRUE(fs::exists(src)) << src;
  const std::string root = tmp.path() + "/consumequeue";
  testing::CopyWritable(src, root);

  io::PosixFileSystem pfs;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<ConsumeQueue>>
      queues;
  std::map<std::pair<std::string, int32_t>, int64_t> counts;
  std::ifstream manifest(testing::FixturePath(GetParam() + ".manifest.jsonl"));
  ASSERT_TRUE(manifest.good());
  std::string line;
  int checked = 0;
  while (std::getline(manifest, line)) {
    auto m = nlohmann::json::parse(line);
    auto key = std::make_pair(m["topic"].get<std::string>(),
                              m["queueId"].get<int32_t>());
    auto& cq = queues[key];
    if (!cq) {
      cq = std::make_unique<ConsumeQueue>(&pfs, root, key.first, key.second,
                                          1000 * 20);
      ASSERT_OK(cq->Load());
      ASSERT_OK(cq->Recover());
      cq->CorrectMinOffset(PhysOffset{0});
    }
    ++counts[key];
    auto e = cq->GetEntry(QueueOffset{m["queueOffset"].get<int64_t>()});
    ASSERT_TRUE(e.has_value()) << line;
    EXPECT_EQ(e->phys_offset, m["physOffset"].get<int64_t>()) << line;
    EXPECT_EQ(e->size, m["size"].get<int32_t>()) << line;
    std::optional<std::string> tags;
    if (m.contains("tags") && m["tags"].is_string() &&
        !m["tags"].get<std::string>().empty()) {
      tags = m["tags"].get<std::string>();
    }
    EXPECT_EQ(
        e->tags_code,
        TagsCode(tags ? std::optional<std::string_view>(*tags) : std::nullopt))
        << line;
    ++checked;
  }
  EXPECT_EQ(checked, 2000);
  for (const auto& [key, cq] : queues) {
    EXPECT_EQ(cq->GetMinOffsetInQueue(), 0) << key.first << "/" << key.second;
    EXPECT_EQ(cq->GetMaxOffsetInQueue(), counts[key])
        << key.first << "/" << key.second;
    EXPECT_EQ(cq->max_phys_offset(),
              cq->GetLastEntry()->phys_offset + cq->GetLastEntry()->size);
  }
}

INSTANTIATE_TEST_SUITE_P(RocketMQ, ConsumeQueueFixtureTest,
                         ::testing::Values("rocketmq-4.9.8-store",
                                           "rocketmq-5-store"),
                         [](const auto& info) {
                           return info.param == "rocketmq-5-store" ? "V5"
                                                                   : "V4_9_8";
                         });

}  // namespace
}  // namespace thruster::store
