#include "store/index_service.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/io/posix_file_system.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
using message::EncodeProperties;
using message::JHash;
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::MemFileSystem;

constexpr char kServiceDir[] = "/store/index";
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
constexpr int64_t kT0 = 1700000000000;

class IndexServiceTest : public ::testing::Test {
 protected:
  // 8 entries per file: 7 usable (entry 0 is never used).
  static IndexServiceOptions SmallOptions() {
    return IndexServiceOptions{16, 8, 64};
  }
  std::unique_ptr<IndexService> Open(
      bool last_exit_ok = true, int64_t checkpoint_ts = 0,
      IndexServiceOptions options = SmallOptions()) {
    auto s = std::make_unique<IndexService>(&fs_, kServiceDir, &clock_, options);
    Status st = s->Load(last_exit_ok, checkpoint_ts);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }
  // Record i: topic T, phys offset i * 100, stored at kT0 + i seconds, KEYS
  // "key-i", UNIQ_KEY "U<i>".
  static IndexRecord Record(int64_t i, int32_t sys_flag = 0) {
    keys_storage_[i] = "key-" + std::to_string(i);
    uniq_storage_[i] = "U" + std::to_string(i);
    return IndexRecord{"T",     keys_storage_[i], uniq_storage_[i],
                       i * 100, kT0 + i * 1000,   sys_flag};
  }
  static void Build(IndexService& s, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) ASSERT_OK(s.BuildIndex(Record(i)));
  }
  static std::vector<int64_t> Query(const IndexService& s, std::string_view key,
                                    int max = 64, int64_t begin = 0,
                                    int64_t end = kMaxTime) {
    return s.QueryOffsets("T", key, max, begin, end).phys_offsets;
  }

  MemFileSystem fs_;
  ManualClock clock_{kT0};
  static inline std::map<int64_t, std::string> keys_storage_;
  static inline std::map<int64_t, std::string> uniq_storage_;
};

TEST(IndexServiceNameTest, FileNameIsLocalTimeWithMillis) {
  // Spec A.5: created at 2023-11-14 22:13:20.123 local time.
  std::tm tm{};
  tm.tm_year = 2023 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 14;
  tm.tm_hour = 22;
  tm.tm_min = 13;
  tm.tm_sec = 20;
  tm.tm_isdst = -1;
  int64_t ms = static_cast<int64_t>(std::mktime(&tm)) * 1000 + 123;
  EXPECT_EQ(IndexService::FormatFileName(ms), "20231114221320123");
}

TEST(IndexServiceKeyTest, MessageHasKeyChecksUniqKeyAndEveryKey) {
  std::string props = EncodeProperties(
      {{"KEYS", "a bb  c"}, {"UNIQ_KEY", "U1"}, {"TAGS", "t"}});
  EXPECT_TRUE(MessageHasKey(props, "a"));
  EXPECT_TRUE(MessageHasKey(props, "bb"));
  EXPECT_TRUE(MessageHasKey(props, "c"));
  EXPECT_TRUE(MessageHasKey(props, "U1"));
  EXPECT_FALSE(MessageHasKey(props, "b"));
  EXPECT_FALSE(MessageHasKey(props, "t"));
  EXPECT_FALSE(MessageHasKey(props, ""));
  IndexRecord r = IndexRecord::FromProperties("T", props, 5, 6, 0);
  EXPECT_EQ(r.keys, "a bb  c");
  EXPECT_EQ(r.uniq_key, "U1");
  EXPECT_EQ(r.phys_offset, 5);
}

TEST_F(IndexServiceTest, BuildsAndFindsEveryKey) {
  auto s = Open();
  Build(*s, 0, 5);
  EXPECT_THAT(Query(*s, "key-3"), ElementsAre(300));
  EXPECT_THAT(Query(*s, "U3"), ElementsAre(300));
  EXPECT_THAT(Query(*s, "key-9"), IsEmpty());
  EXPECT_THAT(s->QueryOffsets("OtherTopic", "key-3", 64, 0, kMaxTime).phys_offsets,
              IsEmpty());
  auto r = s->QueryOffsets("T", "key-1", 64, 0, kMaxTime);
  EXPECT_EQ(r.index_last_update_phys_offset, 400);
  EXPECT_EQ(r.index_last_update_timestamp, kT0 + 4000);
}

TEST_F(IndexServiceTest, SplitsKeysOnSpacesAndSkipsRollback) {
  auto s = Open();
  ASSERT_OK(
      s->BuildIndex(IndexRecord{"T", " a  b ", std::nullopt, 100, kT0, 0}));
  ASSERT_OK(s->BuildIndex(IndexRecord{"T", "c", std::nullopt, 200, kT0,
                                      sysflag::kTransactionRollbackType}));
  ASSERT_OK(s->BuildIndex(IndexRecord{"T", "d", std::nullopt, 300, kT0,
                                      sysflag::kTransactionPreparedType}));
  EXPECT_THAT(Query(*s, "a"), ElementsAre(100));
  EXPECT_THAT(Query(*s, "b"), ElementsAre(100));
  EXPECT_THAT(Query(*s, "c"), IsEmpty());
  EXPECT_THAT(Query(*s, "d"), ElementsAre(300));
  EXPECT_EQ(s->SnapshotForTesting().front()->index_count(),
            4);  // empty tokens are not indexed
}

TEST_F(IndexServiceTest, RedispatchIsIdempotent) {
  auto s = Open();
  Build(*s, 0, 3);
  Build(*s, 0, 3);
  EXPECT_THAT(Query(*s, "key-2"), ElementsAre(200));
  EXPECT_THAT(Query(*s, "key-0"), ElementsAre(0));
  EXPECT_EQ(s->SnapshotForTesting().back()->index_count(), 7);
}

TEST_F(IndexServiceTest, ForcedHashCollisionIsResolvedByTheRecordsKeys) {
  auto s = Open();
  // "T#Aa" and "T#BB" have the same Java hash code.
  ASSERT_EQ(JHash("T#Aa"), JHash("T#BB"));
  std::string pa = EncodeProperties({{"KEYS", "Aa"}});
  std::string pb = EncodeProperties({{"KEYS", "BB"}});
  ASSERT_OK(s->BuildIndex(IndexRecord::FromProperties("T", pa, 100, kT0, 0)));
  ASSERT_OK(
      s->BuildIndex(IndexRecord::FromProperties("T", pb, 200, kT0 + 1, 0)));
  std::map<int64_t, std::string> props{{100, pa}, {200, pb}};
  auto candidates = Query(*s, "Aa");
  EXPECT_THAT(candidates, ElementsAre(200, 100));
  std::vector<int64_t> confirmed;
  for (int64_t phys : candidates) {
    if (MessageHasKey(props[phys], "Aa")) confirmed.push_back(phys);
  }
  EXPECT_THAT(confirmed, ElementsAre(100));
}

TEST_F(IndexServiceTest, RollsToNewFileAndQueriesNewestFirst) {
  auto s = Open();
  // Every record puts 2 keys, "hot" and its own; a file takes 7, so 3 records
  // per file: a record's keys never straddle two files.
  for (int64_t i = 0; i < 10; ++i) {
    ASSERT_OK(
        s->BuildIndex(IndexRecord{"T", "hot key-" + std::to_string(i),
                                  std::nullopt, i * 100, kT0 + i * 1000, 0}));
  }
  auto files = s->SnapshotForTesting();
  ASSERT_EQ(files.size(), 4u);
  // Same millisecond on the clock: later names still sort after earlier ones.
  EXPECT_EQ(files[0]->file_name(), IndexService::FormatFileName(kT0));
  EXPECT_LT(files[0]->file_name(), files[1]->file_name());
  EXPECT_LT(files[1]->file_name(), files[2]->file_name());
  EXPECT_LT(files[2]->file_name(), files[3]->file_name());
  EXPECT_EQ(files[0]->index_count(), 7);
  EXPECT_EQ(files[1]->begin_phys_offset(), 300);
  EXPECT_EQ(files[1]->end_phys_offset(), 500);
  EXPECT_EQ(files[1]->begin_timestamp(), kT0 + 3000);
  EXPECT_THAT(Query(*s, "hot"),
              ElementsAre(900, 800, 700, 600, 500, 400, 300, 200, 100, 0));
  EXPECT_THAT(Query(*s, "hot", 3), ElementsAre(900, 800, 700));
  EXPECT_THAT(Query(*s, "key-0"), ElementsAre(0));
  // Time range: only records 2..4.
  EXPECT_THAT(Query(*s, "hot", 64, kT0 + 2000, kT0 + 4000),
              ElementsAre(400, 300, 200));
}

TEST_F(IndexServiceTest, FullFileRollsEvenForOneKey) {
  auto s = Open();
  for (int64_t i = 0; i < 8; ++i)
    ASSERT_OK(s->BuildIndex(IndexRecord{"T", "k", std::nullopt, i, kT0, 0}));
  auto files = s->SnapshotForTesting();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(files[0]->IsFull());
  EXPECT_THAT(Query(*s, "k", 64), ElementsAre(7, 6, 5, 4, 3, 2, 1, 0));
}

TEST_F(IndexServiceTest, QueryIsCappedByMaxMsgsNumBatch) {
  auto s = Open(true, 0, IndexServiceOptions{16, 100, 4});
  for (int64_t i = 0; i < 10; ++i)
    ASSERT_OK(s->BuildIndex(IndexRecord{"T", "k", std::nullopt, i, kT0, 0}));
  EXPECT_THAT(Query(*s, "k", 64), ElementsAre(9, 8, 7, 6));
}

TEST_F(IndexServiceTest, FlushRolledFilesAdvancesIndexMsgTimestamp) {
  auto s = Open();
  Build(*s, 0,
        5);  // 2 keys each: records 0-2 in a rolled file, 3-4 in the active one
  EXPECT_EQ(s->index_msg_timestamp(), 0);
  ASSERT_OK(s->FlushRolledFiles());
  auto files = s->SnapshotForTesting();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(s->index_msg_timestamp(), files[0]->end_timestamp());
  EXPECT_FALSE(files[0]->dirty());
  EXPECT_TRUE(files[1]->dirty());
  ASSERT_OK(s->Flush());
  EXPECT_EQ(s->index_msg_timestamp(), kT0 + 4000);
  EXPECT_FALSE(files[1]->dirty());
}

TEST_F(IndexServiceTest, AbnormalStopDestroysFilesNewerThanCheckpoint) {
  int64_t checkpoint_ts;
  {
    auto s = Open();
    Build(*s, 0, 5);
    ASSERT_OK(s->FlushRolledFiles());
    checkpoint_ts = s->index_msg_timestamp();
  }
  {
    auto s = Open(true, checkpoint_ts);  // clean stop: everything stays
    EXPECT_EQ(s->SnapshotForTesting().size(), 2u);
  }
  auto s = Open(false, checkpoint_ts);
  ASSERT_EQ(s->SnapshotForTesting().size(), 1u);
  EXPECT_EQ(fs_.ListDir(kServiceDir)->size(), 1u);
  EXPECT_THAT(Query(*s, "key-0"), ElementsAre(0));
  EXPECT_THAT(Query(*s, "key-4"), IsEmpty());
  // Recovery re-dispatches; records the full file holds are skipped, the rest
  // go to a new file.
  Build(*s, 0, 5);
  for (int64_t i = 0; i < 5; ++i)
    EXPECT_THAT(Query(*s, "key-" + std::to_string(i)), ElementsAre(i * 100));
}

TEST_F(IndexServiceTest, PowerLossKeepsRolledAndFlushedFile) {
  int64_t checkpoint_ts;
  {
    auto s = Open();
    Build(*s, 0, 6);
    ASSERT_OK(s->FlushRolledFiles());
    checkpoint_ts = s->index_msg_timestamp();
  }
  fs_.SimulatePowerLoss();
  auto s = Open(false, checkpoint_ts);
  auto files = s->SnapshotForTesting();
  ASSERT_EQ(
      files.size(),
      1u);  // the active file's name survived, its content did not: deleted
  EXPECT_EQ(files[0]->index_count(), 7);
  EXPECT_EQ(s->index_msg_timestamp(), checkpoint_ts);
  Build(*s, 0, 6);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_THAT(Query(*s, "key-" + std::to_string(i)), ElementsAre(i * 100));
    EXPECT_THAT(Query(*s, "U" + std::to_string(i)), ElementsAre(i * 100));
  }
}

TEST_F(IndexServiceTest, DeleteExpiredFileNeverTakesNewest) {
  auto s = Open();
  Build(*s, 0, 10);  // 2 keys each: 4 files ending at phys 200, 500, 800, 900
  ASSERT_EQ(s->SnapshotForTesting().size(), 4u);
  ASSERT_OK_AND_ASSIGN(int n, s->DeleteExpiredFile(200));
  EXPECT_EQ(n, 0);  // end phys offset 200 is not below 200
  ASSERT_OK_AND_ASSIGN(n, s->DeleteExpiredFile(201));
  EXPECT_EQ(n, 1);
  EXPECT_THAT(Query(*s, "key-0"), IsEmpty());
  EXPECT_THAT(Query(*s, "key-5"), ElementsAre(500));
  ASSERT_OK_AND_ASSIGN(n, s->DeleteExpiredFile(100000));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(s->SnapshotForTesting().size(), 1u);
  EXPECT_EQ(fs_.ListDir(kServiceDir)->size(), 1u);
}

TEST_F(IndexServiceTest, LoadSkipsForeignNamesAndRejectsWrongSize) {
  { Build(*Open(), 0, 2); }
  ASSERT_OK(fs_.WriteFile(std::string(kServiceDir) + "/README", "x"));
  EXPECT_EQ(Open()->SnapshotForTesting().size(), 1u);
  IndexService other(&fs_, kServiceDir, &clock_, IndexServiceOptions{17, 8, 64});
  EXPECT_TRUE(other.Load(true, 0).IsCorruption());
}

TEST(IndexServiceFaultTest, FailedRollAndFlushAreReported) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ManualClock clock(kT0);
  IndexService s(&fs, kServiceDir, &clock, IndexServiceOptions{16, 8, 64});
  ASSERT_OK(s.Load(true, 0));
  fs.FailNth(testing::FaultFileSystem::Op::kMap, 1);
  EXPECT_FALSE(
      s.BuildIndex(IndexRecord{"T", "a", std::nullopt, 0, kT0, 0}).ok());
  ASSERT_OK(
      s.BuildIndex(IndexRecord{"T", "a", std::nullopt, 0, kT0, 0}));  // retry
  for (int64_t i = 1; i < 8; ++i)
    ASSERT_OK(s.BuildIndex(IndexRecord{"T", "a", std::nullopt, i, kT0, 0}));
  ASSERT_EQ(s.SnapshotForTesting().size(), 2u);
  fs.FailNth(testing::FaultFileSystem::Op::kSync, 1);
  EXPECT_FALSE(s.FlushRolledFiles().ok());
  EXPECT_EQ(s.index_msg_timestamp(), 0);
  EXPECT_TRUE(s.SnapshotForTesting().front()->dirty());
  ASSERT_OK(s.FlushRolledFiles());
  EXPECT_EQ(s.index_msg_timestamp(), kT0);
  EXPECT_THAT(s.QueryOffsets("T", "a", 64, 0, kMaxTime).phys_offsets,
              ElementsAre(7, 6, 5, 4, 3, 2, 1, 0));
}

// The index of a store written by RocketMQ itself: every key of every manifest
// message finds it.
class IndexServiceFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(IndexServiceFixtureTest, EveryManifestKeyFindsItsMessage) {
  testing::TempDir tmp;
  const std::string src =
      testing::FixturePath(GetParam() + "/index");
  ASSERT_TRUE(std::filesystem::exists(src)) << src;
  testing::CopyWritable(src, tmp.path() + "/index");
  io::PosixFileSystem pfs;
  IndexService s(&pfs, tmp.path() + "/index", SystemClock::Default(),
                 IndexServiceOptions{20000, 80000, 64});
  ASSERT_OK(s.Load(true, 0));
  ASSERT_EQ(s.SnapshotForTesting().size(), 1u);

  std::ifstream manifest(
      testing::FixturePath(GetParam() + ".manifest.jsonl"));
  ASSERT_TRUE(manifest.good());
  std::string line;
  int messages = 0;
  int keys = 0;
  int64_t last_phys = -1;
  while (std::getline(manifest, line)) {
    auto m = nlohmann::json::parse(line);
    const auto topic = m["topic"].get<std::string>();
    const auto phys = m["physOffset"].get<int64_t>();
    const auto ts = m["storeTimestamp"].get<int64_t>();
    last_phys = std::max(last_phys, phys);
    std::vector<std::string> wanted;
    std::string all = m["keys"].get<std::string>();
    for (size_t pos = 0; pos <= all.size();) {
      size_t sp = std::min(all.find(' ', pos), all.size());
      if (sp > pos) wanted.push_back(all.substr(pos, sp - pos));
      pos = sp + 1;
    }
    wanted.push_back(m["properties"]["UNIQ_KEY"].get<std::string>());
    std::string props =
        EncodeProperties({{"KEYS", all}, {"UNIQ_KEY", wanted.back()}});
    for (const auto& key : wanted) {
      auto r = s.QueryOffsets(topic, key, 64, 0, kMaxTime);
      EXPECT_THAT(r.phys_offsets, Contains(phys)) << key << " " << line;
      EXPECT_TRUE(MessageHasKey(props, key));
      // A window of one second around the store time still finds it (time diffs
      // are in seconds).
      EXPECT_THAT(
          s.QueryOffsets(topic, key, 64, ts - 1000, ts + 1000).phys_offsets,
          Contains(phys))
          << key;
      ++keys;
    }
    ++messages;
  }
  EXPECT_EQ(messages, 2000);
  EXPECT_GT(keys, 4000);
  auto file = s.SnapshotForTesting().front();
  EXPECT_EQ(file->end_phys_offset(), last_phys);
  EXPECT_EQ(file->index_count(), keys + 1);
  // Re-dispatching a message already indexed changes nothing.
  ASSERT_OK(s.BuildIndex(
      IndexRecord{"SampleTopicA", "key-0", std::nullopt, 0, 1, 0}));
  EXPECT_EQ(file->index_count(), keys + 1);
}

INSTANTIATE_TEST_SUITE_P(RocketMQ, IndexServiceFixtureTest,
                         ::testing::Values("rocketmq-4.9.8-store",
                                           "rocketmq-5-store"),
                         [](const auto& info) {
                           return info.param == "rocketmq-5-store" ? "V5"
                                                                   : "V4_9_8";
                         });

}  // namespace
}  // namespace thruster::store
