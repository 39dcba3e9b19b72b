#include "store/index_file.h"

#include <gtest/gtest.h>

#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "message/message.h"
#include "store/index_file_format.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {

using message::JHash;
namespace {

using index_format::Header;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::MemFileSystem;

constexpr char kDir[] = "/store/index";
constexpr char kPath[] = "/store/index/20231114221320123";
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

class IndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(fs_.CreateDirs(kDir)); }
  std::shared_ptr<IndexFile> Create(int32_t slots, int32_t entries,
                                    int64_t prev_phys = 0,
                                    int64_t prev_ts = 0) {
    auto f = IndexFile::Create(&fs_, kPath, slots, entries, prev_phys, prev_ts);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_OK(fs_.SyncDir(kDir));
    return f.ok() ? *f : nullptr;
  }
  static std::vector<int64_t> Select(const IndexFile& f, std::string_view key,
                                     size_t max = 64, int64_t begin = 0,
                                     int64_t end = kMax) {
    std::vector<int64_t> out;
    f.SelectPhyOffsets(index_format::IndexHash(key), max, begin, end, &out);
    return out;
  }
  std::string Bytes(size_t pos, size_t n) {
    auto all = fs_.ReadFile(kPath);
    EXPECT_TRUE(all.ok());
    return testing::UpperHex(AsBytes(*all).subspan(pos, n));
  }

  MemFileSystem fs_;
};

TEST(IndexFileFormatTest, HashSlotAndPositionsOfWorkedExample) {
  // Spec §5.8: key T#order-1 with the default 5000000 slots.
  EXPECT_EQ(JHash("T#order-1"), -1840611261);
  EXPECT_EQ(index_format::IndexHash("T#order-1"), 0x6DB57FBD);
  EXPECT_EQ(index_format::SlotPos(0x6DB57FBD, 5000000), 2445084);
  EXPECT_EQ(index_format::EntryPos(5000000, 1), 20000060);
  EXPECT_EQ(index_format::EntryPos(5000000, 2), 20000080);
  EXPECT_EQ(index_format::FileSize(5000000, 20000000), 420000040);
  EXPECT_EQ(index_format::BuildKey("T", "order-1"), "T#order-1");
}

TEST(IndexFileFormatTest, HashOfIntMinIsZero) {
  ASSERT_EQ(JHash("polygenelubricants"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(index_format::IndexHash("polygenelubricants"), 0);
  EXPECT_EQ(index_format::IndexHash("Aa"),
            index_format::IndexHash("BB"));  // equal Java hash codes
}

TEST(IndexFileFormatTest, HashOfTopicAndKeyEqualsHashOfTheBuiltKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"T", "order-1"},
      {"IrPerMessage", "C0A80A0B00002A9F0000000000000001"},
      {"Topic\xC3\xA9", "cl\xC3\xA9 \xF0\x9F\x98\x80"},
      {"T\xC3", "k"},  // a malformed topic tail
      {"", ""},
      {"T", ""}};
  for (const auto& [topic, key] : cases) {
    EXPECT_EQ(index_format::IndexHashOf(JHash(topic), key),
              index_format::IndexHash(index_format::BuildKey(topic, key)))
        << topic << "#" << key;
  }
  // Equal Java hash codes stay equal ("Aa" and "BB").
  EXPECT_EQ(index_format::IndexHashOf(JHash("Aa"), "x"),
            index_format::IndexHash("BB#x"));
}

TEST(IndexFileFormatTest, GoldenHeaderAndEntries) {
  std::array<std::byte, index_format::kHeaderSize> h{};
  index_format::EncodeHeader(
      Header{1700000000123, 1700000005123, 1073741824, 1073741931, 1, 3}, h);
  EXPECT_EQ(testing::UpperHex(h),
            "0000018BCFE5687B0000018BCFE57C030000000040000000000000004000006B00"
            "00000100000003");
  ASSERT_OK_AND_ASSIGN(Header back, index_format::DecodeHeader(h));
  EXPECT_EQ(back, (Header{1700000000123, 1700000005123, 1073741824, 1073741931,
                          1, 3}));

  std::array<std::byte, index_format::kEntrySize> e{};
  index_format::EncodeEntry({0x6DB57FBD, 1073741931, 5, 1}, e);
  EXPECT_EQ(testing::UpperHex(e), "6DB57FBD000000004000006B0000000500000001");
  ASSERT_OK_AND_ASSIGN(index_format::Entry eb, index_format::DecodeEntry(e));
  EXPECT_EQ(eb, (index_format::Entry{0x6DB57FBD, 1073741931, 5, 1}));
  EXPECT_FALSE(index_format::DecodeEntry(std::span(e).first(19)).ok());
  EXPECT_FALSE(index_format::DecodeHeader(std::span(h).first(39)).ok());
}

TEST(IndexFileFormatTest, TimeDiffIsWholeSecondsClamped) {
  EXPECT_EQ(index_format::TimeDiffSeconds(1700000005123, 1700000000123), 5);
  EXPECT_EQ(index_format::TimeDiffSeconds(1700000005122, 1700000000123), 4);
  EXPECT_EQ(index_format::TimeDiffSeconds(1700000000000, 1700000000123), 0);
  EXPECT_EQ(index_format::TimeDiffSeconds(1700000005123, 0), 0);
  EXPECT_EQ(index_format::TimeDiffSeconds(kMax, 1),
            std::numeric_limits<int32_t>::max());
}

TEST_F(IndexFileTest, WorkedExampleBytesAndLookup) {
  // Spec §5.8 with the default slot count; 3 entries keep the file at 20 MB.
  auto f = Create(5000000, 3);
  ASSERT_TRUE(f->PutKey("T#order-1", 1073741824, 1700000000123));
  ASSERT_TRUE(f->PutKey("T#order-1", 1073741931, 1700000005123));
  EXPECT_TRUE(f->IsFull());
  EXPECT_FALSE(f->PutKey("T#order-2", 1073742000, 1700000006000));
  EXPECT_EQ(Bytes(20000060, 20), "6DB57FBD00000000400000000000000000000000");
  EXPECT_EQ(Bytes(20000080, 20), "6DB57FBD000000004000006B0000000500000001");
  EXPECT_EQ(Bytes(2445084, 4), "00000002");
  EXPECT_EQ(Bytes(0, 40),
            "0000018BCFE5687B0000018BCFE57C030000000040000000000000004000006B00"
            "00000100000003");
  EXPECT_THAT(Select(*f, "T#order-1", 64, 1700000000000, 1700000010000),
              ElementsAre(1073741931, 1073741824));
  EXPECT_THAT(Select(*f, "T#order-2"), IsEmpty());
}

TEST_F(IndexFileTest, PutKeysWritesWhatPutKeyWritesKeyAfterKey) {
  // Two files side by side: one takes each record's keys with PutKey, the
  // other with one PutKeys; 4 slots make keys share slots and chains.
  constexpr char kOther[] = "/store/index/20231114221320124";
  auto one = Create(4, 12);
  ASSERT_OK_AND_ASSIGN(auto all, IndexFile::Create(&fs_, kOther, 4, 12, 0, 0));
  const std::vector<std::vector<std::string>> records = {
      {"T#u1", "T#k1", "T#k2"}, {"T#u2"}, {"T#u3", "T#k1"}, {"T#u4", "T#k2"}};
  int64_t phys = 100;
  int64_t ts = 1700000000123;
  for (const auto& keys : records) {
    std::vector<int32_t> hashes;
    for (const std::string& k : keys) {
      ASSERT_TRUE(one->PutKey(k, phys, ts));
      hashes.push_back(index_format::IndexHash(k));
    }
    EXPECT_EQ(all->PutKeys(hashes, phys, ts), IndexFile::PutKeysOutcome::kPut);
    phys += 100;
    ts += 1500;
  }
  ASSERT_OK_AND_ASSIGN(std::string a, fs_.ReadFile(kPath));
  ASSERT_OK_AND_ASSIGN(std::string b, fs_.ReadFile(kOther));
  EXPECT_EQ(testing::UpperHex(AsBytes(a)), testing::UpperHex(AsBytes(b)));
  EXPECT_EQ(one->header(), all->header());
  EXPECT_THAT(Select(*all, "T#k1"), ElementsAre(300, 100));

  // The same record again, or an older one: nothing written.
  const Header before = all->header();
  const int32_t k3[] = {index_format::IndexHash("T#k3")};
  EXPECT_EQ(all->PutKeys(k3, 400, ts),
            IndexFile::PutKeysOutcome::kAlreadyIndexed);
  EXPECT_EQ(all->PutKeys(k3, 50, ts),
            IndexFile::PutKeysOutcome::kAlreadyIndexed);
  // 8 of 12 entries used (entry 0 is never used): 3 free, so 4 keys do not
  // fit and nothing is written; 3 do.
  const int32_t four[] = {k3[0], k3[0], k3[0], k3[0]};
  EXPECT_EQ(all->PutKeys(four, 500, ts), IndexFile::PutKeysOutcome::kNoRoom);
  EXPECT_EQ(all->header(), before);
  ASSERT_OK_AND_ASSIGN(std::string c, fs_.ReadFile(kOther));
  EXPECT_EQ(c, b);
  EXPECT_EQ(all->PutKeys(std::span(four).first(3), 500, ts),
            IndexFile::PutKeysOutcome::kPut);
  EXPECT_TRUE(all->IsFull());
  EXPECT_EQ(all->PutKeys({}, 600, ts), IndexFile::PutKeysOutcome::kNoRoom);
  EXPECT_THAT(Select(*all, "T#k3"), ElementsAre(500, 500, 500));
}

TEST_F(IndexFileTest, ForcedHashCollisionReturnsBothCandidates) {
  auto f = Create(100, 10);
  ASSERT_TRUE(f->PutKey("Aa", 100, 1700000000000));
  ASSERT_TRUE(f->PutKey("BB", 200, 1700000001000));
  ASSERT_TRUE(f->PutKey("Cc", 300, 1700000002000));
  // Only hashes are stored: "Aa" and "BB" cannot be told apart; the caller
  // checks the record's keys.
  EXPECT_THAT(Select(*f, "Aa"), ElementsAre(200, 100));
  EXPECT_THAT(Select(*f, "BB"), ElementsAre(200, 100));
  EXPECT_THAT(Select(*f, "Cc"), ElementsAre(300));
  EXPECT_EQ(f->header().hash_slot_count, 2);
}

TEST_F(IndexFileTest, SlotCollisionIsFilteredByStoredHash) {
  auto f = Create(1, 10);  // every key shares the single slot
  ASSERT_TRUE(f->PutKey("k1", 100, 1700000000000));
  ASSERT_TRUE(f->PutKey("k2", 200, 1700000000000));
  ASSERT_TRUE(f->PutKey("k1", 300, 1700000000000));
  EXPECT_THAT(Select(*f, "k1"), ElementsAre(300, 100));
  EXPECT_THAT(Select(*f, "k2"), ElementsAre(200));
}

TEST_F(IndexFileTest, TimeRangeAndMaxCountLimitResults) {
  auto f = Create(100, 20);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(f->PutKey("k", i * 100, 1700000000000 + i * 1000));
  EXPECT_THAT(Select(*f, "k", 64, 1700000003000, 1700000005000),
              ElementsAre(500, 400, 300));
  EXPECT_THAT(Select(*f, "k", 2), ElementsAre(900, 800));
  EXPECT_THAT(Select(*f, "k", 64, 1700000009500, kMax), IsEmpty());
  EXPECT_TRUE(f->IsTimeMatched(1700000003000, 1700000005000));
  EXPECT_TRUE(f->IsTimeMatched(0, kMax));
  EXPECT_FALSE(f->IsTimeMatched(1700000009500, kMax));
  EXPECT_FALSE(f->IsTimeMatched(0, 1699999999999));
  EXPECT_EQ(f->begin_timestamp(), 1700000000000);
  EXPECT_EQ(f->end_timestamp(), 1700000009000);
  EXPECT_EQ(f->begin_phys_offset(), 0);
  EXPECT_EQ(f->end_phys_offset(), 900);
  EXPECT_EQ(f->index_count(), 11);
}

TEST_F(IndexFileTest, SeededFileGivesFirstEntryTimeDiffZero) {
  // The predecessor ended an hour earlier; entry 1 must still read back at its
  // own store time (spec §16.5).
  auto f = Create(100, 10, 5000, 1700000000000);
  EXPECT_EQ(f->begin_timestamp(), 1700000000000);
  EXPECT_EQ(f->end_phys_offset(), 5000);
  ASSERT_TRUE(f->PutKey("k", 6000, 1700003600000));
  EXPECT_EQ(f->begin_timestamp(), 1700003600000);
  EXPECT_EQ(f->begin_phys_offset(), 6000);
  EXPECT_THAT(Select(*f, "k", 64, 1700003600000, 1700003600000),
              ElementsAre(6000));
}

TEST_F(IndexFileTest, ReopenReadsHeaderAndPowerLossKeepsFlushedPart) {
  {
    auto f = Create(100, 20);
    ASSERT_TRUE(f->PutKey("a", 100, 1700000000000));
    ASSERT_TRUE(f->PutKey("b", 200, 1700000001000));
    ASSERT_OK_AND_ASSIGN(Header h, f->Flush());
    EXPECT_EQ(h.index_count, 3);
    EXPECT_FALSE(f->dirty());
    ASSERT_TRUE(f->PutKey("a", 300, 1700000002000));  // never flushed
    EXPECT_TRUE(f->dirty());
  }
  fs_.SimulatePowerLoss();
  ASSERT_OK_AND_ASSIGN(auto f, IndexFile::Open(&fs_, kPath, 100, 20));
  EXPECT_EQ(f->index_count(), 3);
  EXPECT_EQ(f->end_phys_offset(), 200);
  EXPECT_THAT(Select(*f, "a"), ElementsAre(100));
  EXPECT_THAT(Select(*f, "b"), ElementsAre(200));
  ASSERT_TRUE(f->PutKey("a", 300, 1700000002000));
  EXPECT_THAT(Select(*f, "a"), ElementsAre(300, 100));
}

TEST_F(IndexFileTest, OpenRejectsWrongSizeAndDamagedHeader) {
  { Create(100, 20); }
  EXPECT_TRUE(IndexFile::Open(&fs_, kPath, 100, 21).status().IsCorruption());
  std::string count(4, '\0');
  StoreI32(count.data(), 21);
  fs_.PatchForTesting(kPath, index_format::kIndexCountPos, count);
  EXPECT_TRUE(IndexFile::Open(&fs_, kPath, 100, 20).status().IsCorruption());
  EXPECT_FALSE(IndexFile::Create(&fs_, kPath, 100, 20, 0, 0)
                   .ok());  // never overwrites a file
}

TEST_F(IndexFileTest, FreshHeaderWithZeroCountReadsAsEmpty) {
  ASSERT_OK(fs_.WriteFile(
      kPath,
      std::string(static_cast<size_t>(index_format::FileSize(10, 10)), '\0')));
  ASSERT_OK_AND_ASSIGN(auto f, IndexFile::Open(&fs_, kPath, 10, 10));
  EXPECT_EQ(f->index_count(), 1);
  EXPECT_THAT(Select(*f, "a"), IsEmpty());
  ASSERT_TRUE(f->PutKey("a", 1, 1700000000000));
  EXPECT_THAT(Select(*f, "a"), ElementsAre(1));
}

TEST_F(IndexFileTest, DamagedChainEndsWalkInsideFile) {
  auto f = Create(10, 10);
  ASSERT_TRUE(f->PutKey("k", 100, 1700000000000));
  ASSERT_TRUE(f->PutKey("k", 200, 1700000000000));
  ASSERT_OK(f->Flush().status());
  // Entry 1's prev index points forward to entry 2: a loop. The walk must stop,
  // not spin.
  std::string prev(4, '\0');
  StoreI32(prev.data(), 2);
  fs_.PatchForTesting(kPath,
                      static_cast<size_t>(index_format::EntryPos(10, 1)) +
                          index_format::kPrevIndexPos,
                      prev);
  ASSERT_OK_AND_ASSIGN(auto g, IndexFile::Open(&fs_, kPath, 10, 10));
  EXPECT_THAT(Select(*g, "k"), ElementsAre(200, 100));
  // A slot pointing past the written entries is ignored.
  StoreI32(prev.data(), 9);
  fs_.PatchForTesting(kPath,
                      static_cast<size_t>(index_format::SlotPos(
                          index_format::IndexHash("k"), 10)),
                      prev);
  ASSERT_OK_AND_ASSIGN(auto h, IndexFile::Open(&fs_, kPath, 10, 10));
  EXPECT_THAT(Select(*h, "k"), IsEmpty());
}

TEST_F(IndexFileTest, DestroyRemovesFileButKeepsMappingForHolders) {
  auto f = Create(10, 10);
  ASSERT_TRUE(f->PutKey("k", 100, 1700000000000));
  ASSERT_OK(f->Destroy());
  EXPECT_FALSE(fs_.Exists(kPath));
  EXPECT_THAT(Select(*f, "k"), ElementsAre(100));
}

}  // namespace
}  // namespace thruster::store
