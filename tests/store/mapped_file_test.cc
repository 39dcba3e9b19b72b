#include "store/mapped_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "store/transient_store_pool.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

using testing::FaultFileSystem;
using testing::MemFileSystem;

std::span<const std::byte> Bytes(std::string_view s) { return AsBytes(s); }

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(fs_.CreateDirs("/s")); }
  std::shared_ptr<MappedFile> Create(int64_t base, int64_t size = 16384,
                                     TransientStorePool* pool = nullptr) {
    auto r =
        MappedFile::Create(&fs_, "/s/" + OffsetToFileName(base), size, pool);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }
  MemFileSystem fs_;
};

TEST_F(MappedFileTest, NameGivesBaseOffset) {
  EXPECT_EQ(OffsetToFileName(0), "00000000000000000000");
  EXPECT_EQ(OffsetToFileName(1073741824), "00000000001073741824");
  EXPECT_EQ(*FileNameToOffset("00000000000006000000"), 6000000);
  EXPECT_FALSE(FileNameToOffset("0000x").ok());
  auto f = Create(32768);
  EXPECT_EQ(f->base_offset(), 32768);
  EXPECT_EQ(f->file_name(), "00000000000000032768");
}

TEST_F(MappedFileTest, AppendIsReadableAndFlushMovesFlushPos) {
  auto f = Create(0);
  ASSERT_TRUE(f->AppendBytes(Bytes("hello")));
  EXPECT_EQ(f->write_pos(), 5);
  EXPECT_EQ(f->read_pos(), 5);
  auto sel = f->Select(0, 5);
  ASSERT_TRUE(sel.has_value());
  EXPECT_EQ(AsStringView(sel->bytes), "hello");
  EXPECT_FALSE(f->Select(0, 6).has_value());
  // Less than 4 pages pending: a least-pages flush does nothing, a full one
  // syncs.
  EXPECT_EQ(*f->Flush(4), 0);
  EXPECT_EQ(*f->Flush(0), 5);
  EXPECT_EQ(f->flush_pos(), 5);
}

TEST_F(MappedFileTest, AppendThatDoesNotFitWritesNothing) {
  auto f = Create(0, 8);
  ASSERT_TRUE(f->AppendBytes(Bytes("12345")));
  EXPECT_FALSE(f->AppendBytes(Bytes("6789")));
  EXPECT_EQ(f->write_pos(), 5);
  ASSERT_TRUE(f->AppendBytes(Bytes("678")));
  EXPECT_TRUE(f->IsFull());
}

TEST_F(MappedFileTest, PoolBufferHidesUncommittedBytesFromReaders) {
  TransientStorePool pool(1, 8192);
  ASSERT_OK(pool.Init());
  auto f = Create(0, 8192, &pool);
  ASSERT_TRUE(f->has_pool_buffer());
  EXPECT_EQ(pool.available(), 0);
  ASSERT_TRUE(f->AppendBytes(Bytes("abc")));
  EXPECT_EQ(f->read_pos(), 0);
  EXPECT_FALSE(f->Select(0, 3).has_value());
  EXPECT_EQ(*f->Flush(0), 0);  // nothing committed, nothing to flush
  EXPECT_EQ(*f->Commit(0), 3);
  auto sel = f->Select(0, 3);
  ASSERT_TRUE(sel.has_value());
  EXPECT_EQ(AsStringView(sel->bytes), "abc");
  EXPECT_EQ(*f->Flush(0), 3);
  // Filling and committing the file returns the buffer.
  std::string rest(8192 - 3, 'x');
  ASSERT_TRUE(f->AppendBytes(Bytes(rest)));
  EXPECT_EQ(*f->Commit(0), 8192);
  EXPECT_FALSE(f->has_pool_buffer());
  EXPECT_EQ(pool.available(), 1);
  EXPECT_EQ(f->read_pos(), 8192);
}

TEST_F(MappedFileTest, SegmentWithoutPoolBufferWritesThroughItsMapping) {
  TransientStorePool pool(1, 8192);
  ASSERT_OK(pool.Init());
  auto a = Create(0, 8192, &pool);
  auto b =
      Create(8192, 8192, &pool);  // pool exhausted (spec §16 item 16: 4.x rule)
  ASSERT_FALSE(b->has_pool_buffer());
  ASSERT_TRUE(b->AppendBytes(Bytes("z")));
  EXPECT_EQ(b->read_pos(), 1);
  EXPECT_TRUE(b->Select(0, 1).has_value());
}

TEST_F(MappedFileTest, ReaderKeepsBytesAfterDestroy) {
  auto f = Create(0);
  ASSERT_TRUE(f->AppendBytes(Bytes("keep")));
  auto sel = f->Select(0, 4);
  ASSERT_TRUE(sel.has_value());
  ASSERT_OK(f->Destroy());
  EXPECT_FALSE(fs_.Exists(f->path()));
  EXPECT_FALSE(f->Select(0, 4).has_value());
  f.reset();
  EXPECT_EQ(AsStringView(sel->bytes),
            "keep");  // still mapped: the reader holds the file
}

TEST_F(MappedFileTest, FlushErrorIsReported) {
  FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ASSERT_OK(fs.CreateDirs("/s"));
  ASSERT_OK_AND_ASSIGN(
      auto f, MappedFile::Create(&fs, "/s/00000000000000000000", 4096));
  ASSERT_TRUE(f->AppendBytes(Bytes("x")));
  fs.FailNth(FaultFileSystem::Op::kSync, 1);
  auto r = f->Flush(0);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_EQ(f->flush_pos(), 0);
}

// A sparse segment gets its blocks reserved in whole steps from the
// appender's page, ending on a step boundary or the file's end; a failed
// reservation changes nothing and is tried again.
TEST_F(MappedFileTest, SparseSegmentReservesWholeStepsAheadOfTheAppender) {
  using Op = FaultFileSystem::Op;
  FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ASSERT_OK(fs.CreateDirs("/s"));
  const std::string path = "/s/00000000000000000000";
  ASSERT_OK_AND_ASSIGN(auto f, MappedFile::Create(&fs, path, 10000, nullptr,
                                                  /*reserve_step=*/4096));
  auto ranges = [&fs] {
    std::vector<std::pair<size_t, size_t>> out;
    for (const auto& c : fs.RangeCallsForTesting(Op::kReserve))
      out.emplace_back(c.begin, c.end);
    return out;
  };
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  ASSERT_OK(f->ReserveTo(20));
  ASSERT_OK(f->ReserveTo(4096));  // inside the first step: no call
  EXPECT_EQ(ranges(), (Ranges{{0, 4096}}));
  ASSERT_TRUE(f->AppendBytes(std::vector<std::byte>(4090)));
  fs.FailNth(Op::kReserve, 1);
  EXPECT_TRUE(f->ReserveTo(4110).IsIOError());
  EXPECT_EQ(f->reserved_end(), 4096);
  ASSERT_OK(f->ReserveTo(4110));
  ASSERT_OK(f->ReserveTo(9000));  // the last step ends at the file's end
  EXPECT_EQ(ranges(),
            (Ranges{{0, 4096}, {4096, 8192}, {4096, 8192}, {8192, 10000}}));
  EXPECT_EQ(f->reserved_end(), 10000);
  EXPECT_EQ(f->ReserveTo(10001).code(), Status::Code::kInvalidArgument);

  // Opened again (a restart) with the appender recovered to 5000: the blocks
  // below its page hold written bytes, so reserving starts at its page.
  f.reset();
  ASSERT_OK_AND_ASSIGN(auto g, MappedFile::OpenExisting(&fs, path, 10000,
                                                        /*reserve_step=*/4096));
  g->SetPositions(5000);
  ASSERT_OK(g->ReserveTo(5020));
  EXPECT_EQ(ranges().back(), (std::pair<size_t, size_t>{4096, 8192}));

  // A segment allocated whole reserves nothing.
  ASSERT_OK_AND_ASSIGN(
      auto whole, MappedFile::Create(&fs, "/s/00000000000000010000", 10000));
  const size_t before = ranges().size();
  ASSERT_OK(whole->ReserveTo(9000));
  EXPECT_EQ(ranges().size(), before);
}

}  // namespace
}  // namespace thruster::store
