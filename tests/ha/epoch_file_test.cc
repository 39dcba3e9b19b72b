// The controller-mode epoch file and consistent point (spec/ha.md §7.9):
// RocketMQ's text format byte for byte, the .bak fallback, the append and
// truncate rules, and findConsistentPoint on the spec's example.
#include "ha/epoch_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::ha {
namespace {

using testing::MemFileSystem;

constexpr char kEpochPath[] = "/store/epochFileCheckpoint";

class EpochFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(fs_.CreateDirs("/store")); }
  std::unique_ptr<EpochFile> Open() {
    auto f = std::make_unique<EpochFile>(&fs_, kEpochPath);
    EXPECT_OK(f->Load());
    return f;
  }
  std::string FileText(const std::string& path = kEpochPath) {
    auto r = fs_.ReadFile(path);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }
  MemFileSystem fs_;
};

TEST(EpochFileFormatTest, EncodesTheSpecExampleByteForByte) {
  EXPECT_EQ(EncodeEpochFile({{1, 0, 0}, {2, 1073741824, 0}}),
            "2\n1895893516\n1-0\n2-1073741824\n");
  EXPECT_EQ(EncodeEpochFile({}), "0\n0\n");
}

TEST(EpochFileFormatTest, DecodesTheSpecExampleAndRejectsDamage) {
  auto ok = DecodeEpochFile("2\n1895893516\n1-0\n2-1073741824\n");
  ASSERT_OK(ok.status());
  EXPECT_EQ(*ok, (std::vector<EpochEntry>{{1, 0, 0}, {2, 1073741824, 0}}));
  // CRC 0 means "not checked".
  EXPECT_OK(DecodeEpochFile("1\n0\n3-500\n").status());
  // Wrong count, wrong CRC, a bad line, entries out of order, garbage.
  EXPECT_EQ(
      DecodeEpochFile("3\n1895893516\n1-0\n2-1073741824\n").status().code(),
      Status::Code::kCorruption);
  EXPECT_EQ(
      DecodeEpochFile("2\n1895893517\n1-0\n2-1073741824\n").status().code(),
      Status::Code::kCorruption);
  EXPECT_EQ(DecodeEpochFile("2\n0\n1-0\n2-x\n").status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(DecodeEpochFile("2\n0\n2-0\n1-10\n").status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(DecodeEpochFile("").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(DecodeEpochFile("\x01\x02").status().code(),
            Status::Code::kCorruption);
}

TEST_F(EpochFileTest, MissingFileIsEmptyAndAppendsWriteTheSpecText) {
  auto f = Open();
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(f->last_epoch(), 0);
  ASSERT_OK(f->Append(1, 0));
  ASSERT_OK(f->Append(2, 1073741824));
  EXPECT_EQ(FileText(), "2\n1895893516\n1-0\n2-1073741824\n");
  // The previous content went to the .bak before the rewrite.
  EXPECT_EQ(FileText(std::string(kEpochPath) + ".bak"),
            EncodeEpochFile({{1, 0, 0}}));
  auto again = Open();
  EXPECT_EQ(again->Entries(1073742824),
            (std::vector<EpochEntry>{{1, 0, 1073741824},
                                     {2, 1073741824, 1073742824}}));
}

TEST_F(EpochFileTest, AppendsMustIncreaseEpochAndStartOffset) {
  auto f = Open();
  ASSERT_OK(f->Append(2, 100));
  EXPECT_OK(f->Append(2, 100));  // the same entry again: already there
  EXPECT_EQ(f->Append(2, 200).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(f->Append(1, 300).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(f->Append(3, 100).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(f->Append(3, 50).code(), Status::Code::kInvalidArgument);
  ASSERT_OK(f->Append(3, 101));
  EXPECT_EQ(f->size(), 2u);
  EXPECT_EQ(FileText(), EncodeEpochFile({{2, 100, 0}, {3, 101, 0}}));
}

TEST_F(EpochFileTest, TruncateSuffixByEpochAndByOffset) {
  auto f = Open();
  ASSERT_OK(f->Append(1, 0));
  ASSERT_OK(f->Append(2, 1000));
  ASSERT_OK(f->Append(3, 2500));
  ASSERT_OK(f->Append(5, 4000));
  ASSERT_OK(f->TruncateSuffixByEpoch(4));
  EXPECT_EQ(f->last_epoch(), 3);
  ASSERT_OK(f->TruncateSuffixByOffset(2500));  // an entry starting at the cut
  EXPECT_EQ(f->last_epoch(), 2);
  // The new last entry runs to the max offset again.
  EXPECT_EQ(f->Entries(1800).back(), (EpochEntry{2, 1000, 1800}));
  EXPECT_EQ(Open()->Entries(1800), f->Entries(1800));
  ASSERT_OK(f->TruncateSuffixByOffset(0));
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(FileText(), "0\n0\n");
}

TEST_F(EpochFileTest, FindsEntriesByOffsetAndEpoch) {
  auto f = Open();
  ASSERT_OK(f->Append(1, 0));
  ASSERT_OK(f->Append(2, 1000));
  EXPECT_EQ(f->FindByOffset(999, 3000)->epoch, 1);
  EXPECT_EQ(f->FindByOffset(1000, 3000)->epoch, 2);
  EXPECT_EQ(f->FindByOffset(5000, 3000)->epoch, 2);  // the last is open-ended
  EXPECT_EQ(f->FindByEpoch(1, 3000)->end_offset, 1000);
  EXPECT_FALSE(f->FindByEpoch(3, 3000).has_value());
}

TEST_F(EpochFileTest, CorruptFileFallsBackToBak) {
  {
    auto f = Open();
    ASSERT_OK(f->Append(1, 0));
    ASSERT_OK(f->Append(2, 1000));
  }
  // A wrong count, then a wrong CRC: each time the .bak (1-0) is taken.
  for (const char* broken :
       {"3\n1234\n1-0\n2-1000\n", "2\n1234\n1-0\n2-1000\n", ""}) {
    ASSERT_OK(fs_.WriteFile(kEpochPath, broken));
    ASSERT_OK(fs_.WriteFile(std::string(kEpochPath) + ".bak",
                            EncodeEpochFile({{1, 0, 0}})));
    auto f = Open();
    EXPECT_EQ(f->Entries(500), (std::vector<EpochEntry>{{1, 0, 500}}))
        << "file: " << broken;
    // The good copy is back in place, the broken one is gone.
    EXPECT_EQ(FileText(), EncodeEpochFile({{1, 0, 0}}));
    ASSERT_OK(f->Append(3, 700));
    EXPECT_EQ(FileText(std::string(kEpochPath) + ".bak"),
              EncodeEpochFile({{1, 0, 0}}));
  }
}

TEST_F(EpochFileTest, OnlyABakIsUsedAndBothBrokenIsAnError) {
  ASSERT_OK(fs_.WriteFile(std::string(kEpochPath) + ".bak",
                          EncodeEpochFile({{4, 64, 0}})));
  EXPECT_EQ(Open()->last_epoch(), 4);
  ASSERT_OK(fs_.WriteFile(kEpochPath, "junk"));
  ASSERT_OK(fs_.WriteFile(std::string(kEpochPath) + ".bak", "2\n0\n1-0\n"));
  EpochFile f(&fs_, kEpochPath);
  Status s = f.Load();
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
}

TEST(ConsistentPointTest, SpecExampleCutsTheOldMastersUnreplicatedTail) {
  // Old master A: 1-0, 2-1000, max 2700. B: 1-0, 2-1000, 3-2500, max 3000.
  std::vector<EpochEntry> a = {{1, 0, 1000}, {2, 1000, 2700}};
  std::vector<EpochEntry> b = {{1, 0, 1000}, {2, 1000, 2500}, {3, 2500, 3000}};
  EXPECT_EQ(FindConsistentPoint(a, b), 2500);
  // A slave that is simply behind keeps everything it has.
  std::vector<EpochEntry> behind = {{1, 0, 1000}, {2, 1000, 1800}};
  EXPECT_EQ(FindConsistentPoint(behind, b), 1800);
}

TEST(ConsistentPointTest, NoCommonEpochIsAFailure) {
  std::vector<EpochEntry> a = {{1, 0, 700}};
  std::vector<EpochEntry> b = {{2, 0, 900}};
  EXPECT_EQ(FindConsistentPoint(a, b), -1);
  // The same epoch with another start offset does not match either; an older
  // common epoch below it does.
  std::vector<EpochEntry> c = {{1, 0, 100}, {2, 100, 700}};
  std::vector<EpochEntry> d = {{1, 0, 300}, {2, 300, 900}};
  EXPECT_EQ(FindConsistentPoint(c, d), 100);
  EXPECT_EQ(FindConsistentPoint({}, d), -1);
}

}  // namespace
}  // namespace thruster::ha
