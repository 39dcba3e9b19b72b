#include "store/mapped_file_queue.h"

#include <gtest/gtest.h>

#include "common/coding.h"
#include "store/allocate_service.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

using testing::MemFileSystem;

constexpr int64_t kSize = 4096;

class MappedFileQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<MappedFileQueue> Open() {
    auto q = std::make_unique<MappedFileQueue>(&fs_, "/store/commitlog", kSize);
    Status s = q->Load();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return q;
  }
  void Fill(MappedFileQueue& q, int segments) {
    for (int i = 0; i < segments; ++i) {
      auto f = q.GetLastMappedFile(0);
      ASSERT_TRUE(f.ok());
      std::string bytes(kSize, static_cast<char>('a' + i));
      ASSERT_TRUE((*f)->AppendBytes(AsBytes(bytes)));
    }
  }
  MemFileSystem fs_;
};

TEST_F(MappedFileQueueTest, CreatesSegmentsNamedByOffset) {
  auto q = Open();
  Fill(*q, 3);
  EXPECT_EQ(q->size(), 3u);
  EXPECT_TRUE(fs_.Exists("/store/commitlog/00000000000000008192"));
  EXPECT_EQ(q->GetMinOffset(), 0);
  EXPECT_EQ(q->GetMaxOffset(), 3 * kSize);
  EXPECT_EQ(q->FindMappedFileByOffset(5000)->base_offset(), 4096);
  EXPECT_EQ(q->FindMappedFileByOffset(3 * kSize), nullptr);
  EXPECT_EQ(q->FindMappedFileByOffset(3 * kSize, true)->base_offset(), 0);
}

TEST_F(MappedFileQueueTest, FirstSegmentOfEmptyQueueStartsAtRoundedOffset) {
  auto q = Open();
  ASSERT_OK_AND_ASSIGN(auto f, q->GetLastMappedFile(10000));
  EXPECT_EQ(f->base_offset(), 8192);
}

TEST_F(MappedFileQueueTest, LoadReopensSegmentsFull) {
  {
    auto q = Open();
    Fill(*q, 2);
  }
  auto q = Open();
  EXPECT_EQ(q->size(), 2u);
  EXPECT_EQ(q->GetMaxOffset(), 2 * kSize);
}

TEST_F(MappedFileQueueTest, LoadRejectsGapNamingTheFile) {
  {
    auto q = Open();
    Fill(*q, 3);
  }
  ASSERT_OK(fs_.Remove("/store/commitlog/00000000000000004096"));
  MappedFileQueue q(&fs_, "/store/commitlog", kSize);
  Status s = q.Load();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.ToString().find("00000000000000008192"), std::string::npos)
      << s.ToString();
}

TEST_F(MappedFileQueueTest, LoadRejectsShortFileAndDeletesEmptyLastOne) {
  ASSERT_OK(fs_.CreateDirs("/store/commitlog"));
  ASSERT_OK(fs_.WriteFile("/store/commitlog/00000000000000000000",
                          std::string(kSize, 'x')));
  ASSERT_OK(fs_.WriteFile("/store/commitlog/00000000000000004096", ""));
  {
    MappedFileQueue q(&fs_, "/store/commitlog", kSize);
    ASSERT_OK(q.Load());
    EXPECT_EQ(q.size(), 1u);
    EXPECT_FALSE(fs_.Exists("/store/commitlog/00000000000000004096"));
  }
  ASSERT_OK(fs_.WriteFile("/store/commitlog/00000000000000004096", "short"));
  ASSERT_OK(fs_.WriteFile("/store/commitlog/00000000000000008192",
                          std::string(kSize, 'x')));
  MappedFileQueue q(&fs_, "/store/commitlog", kSize);
  Status s = q.Load();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.ToString().find("00000000000000004096"), std::string::npos)
      << s.ToString();
}

TEST_F(MappedFileQueueTest, TruncateKeepsContainingSegmentAndDropsLaterOnes) {
  auto q = Open();
  Fill(*q, 3);
  ASSERT_OK(q->TruncateDirtyFiles(kSize + 100));
  EXPECT_EQ(q->size(), 2u);
  EXPECT_EQ(q->GetMaxOffset(), kSize + 100);
  EXPECT_FALSE(fs_.Exists("/store/commitlog/00000000000000008192"));
}

TEST_F(MappedFileQueueTest, FlushMovesFlushedWhereOneSegmentAtATime) {
  auto q = Open();
  Fill(*q, 2);
  ASSERT_OK_AND_ASSIGN(bool unchanged, q->Flush(0));
  EXPECT_FALSE(unchanged);
  EXPECT_EQ(q->flushed_where(), kSize);
  ASSERT_OK_AND_ASSIGN(unchanged, q->Flush(0));
  EXPECT_EQ(q->flushed_where(), 2 * kSize);
  ASSERT_OK_AND_ASSIGN(unchanged, q->Flush(0));
  EXPECT_TRUE(unchanged);
}

// A consume queue's new segment leaves its directory syncs to the next flush
// (off the dispatch thread), and that flush runs them before it syncs data.
TEST(MappedFileQueueDeferredDirSyncTest, FlushSyncsTheNewNamesBeforeTheData) {
  auto* mem = new MemFileSystem();
  testing::FaultFileSystem fs{std::unique_ptr<io::FileSystem>(mem)};
  using Op = testing::FaultFileSystem::Op;
  MappedFileQueue q(&fs, "/store/consumequeue/T/3", kSize);
  q.set_defer_dir_sync(2);
  ASSERT_OK(q.Load());
  const int syncs_before = fs.CallsForTesting(Op::kSyncDir);
  ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
  std::string bytes(100, 'x');
  ASSERT_TRUE(f->AppendBytes(AsBytes(bytes)));
  // Nothing synced on the creating thread: the queue's directory, the topic's
  // and the root's wait for the flush.
  EXPECT_EQ(fs.CallsForTesting(Op::kSyncDir), syncs_before);
  EXPECT_EQ(q.pending_dir_syncs(), 3u);

  // A flush whose directory sync fails syncs no data and keeps the syncs.
  fs.FailNth(Op::kSyncDir, 1);
  EXPECT_FALSE(q.Flush(0).ok());
  EXPECT_EQ(q.flushed_where(), 0);
  EXPECT_EQ(q.pending_dir_syncs(), 3u);

  const int syncs_failed = fs.CallsForTesting(Op::kSyncDir);
  ASSERT_OK_AND_ASSIGN(bool unchanged, q.Flush(0));
  EXPECT_FALSE(unchanged);
  EXPECT_EQ(q.flushed_where(), 100);
  EXPECT_EQ(q.pending_dir_syncs(), 0u);
  EXPECT_EQ(fs.CallsForTesting(Op::kSyncDir), syncs_failed + 3);

  // What the flush made durable survives a power loss, name and bytes.
  fs.SimulatePowerLoss();
  ASSERT_TRUE(fs.Exists("/store/consumequeue/T/3/00000000000000000000"));
  ASSERT_OK_AND_ASSIGN(
      std::string after,
      fs.ReadFile("/store/consumequeue/T/3/00000000000000000000"));
  EXPECT_EQ(after.substr(0, 100), bytes);

  // Later segments sync only their own directory (a loaded segment counts as
  // full).
  MappedFileQueue q2(&fs, "/store/consumequeue/T/3", kSize);
  q2.set_defer_dir_sync(2);
  ASSERT_OK(q2.Load());
  ASSERT_OK_AND_ASSIGN(auto f2, q2.GetLastMappedFile(0));
  EXPECT_EQ(f2->base_offset(), kSize);
  ASSERT_TRUE(f2->AppendBytes(AsBytes(std::string(kSize, 'y'))));
  ASSERT_OK_AND_ASSIGN(auto f3, q2.GetLastMappedFile(0));
  EXPECT_EQ(f3->base_offset(), 2 * kSize);
  EXPECT_EQ(q2.pending_dir_syncs(), 1u);
}

// The segment being appended to is advised random (no read-around on its
// faults); the one before goes back to normal when the next takes over, and a
// reloaded queue's last segment, which the appender goes on filling, is advised
// random again.
TEST(MappedFileQueueRandomAccessTest, OnlyTheSegmentBeingAppendedToIsRandom) {
  auto* mem = new MemFileSystem();
  testing::FaultFileSystem fs{std::unique_ptr<io::FileSystem>(mem)};
  using Op = testing::FaultFileSystem::Op;
  auto advice = [&fs] {
    std::vector<std::pair<int64_t, io::Advice>> out;
    for (const auto& c : fs.RangeCallsForTesting(Op::kAdvise))
      out.emplace_back(c.base_offset, static_cast<io::Advice>(c.begin));
    return out;
  };
  using A = io::Advice;
  {
    MappedFileQueue q(&fs, "/store/consumequeue/T/0", kSize);
    q.set_random_access_while_appending(true);
    ASSERT_OK(q.Load());
    ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
    EXPECT_EQ(advice(), (std::vector<std::pair<int64_t, A>>{{0, A::kRandom}}));
    ASSERT_TRUE(f->AppendBytes(AsBytes(std::string(kSize, 'z'))));
    ASSERT_OK(q.GetLastMappedFile(0).status());
    EXPECT_EQ(advice(),
              (std::vector<std::pair<int64_t, A>>{
                  {0, A::kRandom}, {kSize, A::kRandom}, {0, A::kNormal}}));
  }
  MappedFileQueue reloaded(&fs, "/store/consumequeue/T/0", kSize);
  reloaded.set_random_access_while_appending(true);
  ASSERT_OK(reloaded.Load());
  auto calls = advice();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls.back(), (std::pair<int64_t, A>{kSize, A::kRandom}));

  // Without the setting nothing is advised.
  MappedFileQueue plain(&fs, "/store/commitlog", kSize);
  ASSERT_OK(plain.Load());
  ASSERT_OK(plain.GetLastMappedFile(0).status());
  EXPECT_EQ(advice().size(), 4u);
}

// Without the deferral a new segment's name is durable before it is used.
TEST(MappedFileQueueDeferredDirSyncTest, ByDefaultTheCreatorSyncsTheDirectory) {
  auto* mem = new MemFileSystem();
  testing::FaultFileSystem fs{std::unique_ptr<io::FileSystem>(mem)};
  using Op = testing::FaultFileSystem::Op;
  MappedFileQueue q(&fs, "/store/commitlog", kSize);
  ASSERT_OK(q.Load());
  const int syncs_before = fs.CallsForTesting(Op::kSyncDir);
  ASSERT_OK(q.GetLastMappedFile(0).status());
  EXPECT_EQ(fs.CallsForTesting(Op::kSyncDir), syncs_before + 1);
  EXPECT_EQ(q.pending_dir_syncs(), 0u);
  fs.SimulatePowerLoss();
  EXPECT_TRUE(fs.Exists("/store/commitlog/00000000000000000000"));
}

TEST_F(MappedFileQueueTest, DeleteExpiredStopsAtFirstKeptAndNeverTakesTheLast) {
  auto q = Open();
  Fill(*q, 4);
  ASSERT_OK_AND_ASSIGN(
      int n, q->DeleteExpired([](const MappedFile&) { return true; }, 10));
  EXPECT_EQ(n, 3);
  EXPECT_EQ(q->size(), 1u);
  EXPECT_EQ(q->GetMinOffset(), 3 * kSize);
}

TEST_F(MappedFileQueueTest, AllocateServicePrebuildsTheNextSegment) {
  AllocateService alloc(&fs_, nullptr, AllocateOptions{});
  alloc.Start();
  MappedFileQueue q(&fs_, "/store/commitlog", kSize, &alloc);
  ASSERT_OK(q.Load());
  ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
  EXPECT_EQ(f->base_offset(), 0);
  // The next-next request (offset 4096) is built ahead of need.
  testing::WaitUntil(
      [&] { return fs_.Exists("/store/commitlog/00000000000000004096"); });
  EXPECT_TRUE(fs_.Exists("/store/commitlog/00000000000000004096"));
  alloc.Shutdown();
  EXPECT_FALSE(fs_.Exists(
      "/store/commitlog/00000000000000004096"));  // never handed out: destroyed
}

TEST(MappedFileQueueWritebackTest, DropsOnlyWrittenPagesFarEnoughBehind) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  constexpr int64_t kSeg = 65536;
  MappedFileQueue q(&fs, "/store/commitlog", kSeg);
  ASSERT_OK(q.Load());
  auto append = [&](int64_t n) {
    while (n > 0) {
      ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
      int64_t room = kSeg - f->write_pos();
      std::string bytes(static_cast<size_t>(std::min(n, room)), 'd');
      ASSERT_TRUE(f->AppendBytes(AsBytes(bytes)));
      n -= static_cast<int64_t>(bytes.size());
    }
  };
  // Steps of 8 KiB, 16 KiB in flight, keep 32 KiB cached.
  constexpr int64_t kStep = 8192, kInFlight = 16384, kKeep = 32768;
  for (int i = 0; i < 20; ++i) {
    append(9000);
    ASSERT_OK(
        q.Writeback(kStep, kInFlight,
                    std::max<int64_t>(0, q.GetMaxWrotePosition() - kKeep)));
  }
  const int64_t wrote = q.GetMaxWrotePosition();  // 180000: three segments
  using Op = testing::FaultFileSystem::Op;
  auto drops = fs.RangeCallsForTesting(Op::kDropCache);
  ASSERT_FALSE(drops.empty());
  int64_t next = 0;
  for (const auto& d : drops) {
    EXPECT_EQ(d.stream_begin(), next);  // in order
    EXPECT_EQ(d.begin % kOsPageSize, 0u);
    EXPECT_TRUE(d.end % kOsPageSize == 0) << d.end;
    next = d.stream_end();
  }
  // Never a page that was not waited for, never one within kKeep of the end.
  EXPECT_LE(next, wrote - kKeep);
  int64_t waited_end = 0;
  for (const auto& c : fs.RangeCallsForTesting(Op::kWriteback)) {
    if (c.wait) waited_end = std::max(waited_end, c.stream_end());
  }
  EXPECT_LE(next, waited_end);
  // Without a drop offset nothing is dropped.
  size_t before = fs.RangeCallsForTesting(Op::kDropCache).size();
  append(50000);
  ASSERT_OK(q.Writeback(kStep, kInFlight, -1));
  EXPECT_EQ(fs.RangeCallsForTesting(Op::kDropCache).size(), before);
}

// Dropping a range from the page cache leaves the large folios its edges cut
// through, so drops stop at a kDropAlign boundary and the next one resumes
// there: together they cover every written page below the drop offset.
TEST(MappedFileQueueWritebackTest, DropsWholeAlignedBlocksWithoutGaps) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  constexpr int64_t kAlign = MappedFileQueue::kDropAlign;
  constexpr int64_t kSeg = 4 * kAlign + 3 * kOsPageSize;  // not a multiple
  MappedFileQueue q(&fs, "/store/commitlog", kSeg);
  ASSERT_OK(q.Load());
  const std::string chunk(static_cast<size_t>(kAlign / 2 + 12345), 'd');
  int64_t wrote = 0;
  for (int i = 0; i < 40; ++i) {
    int64_t n = static_cast<int64_t>(chunk.size());
    while (n > 0) {
      ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
      int64_t room = kSeg - f->write_pos();
      auto take = static_cast<size_t>(std::min(n, room));
      ASSERT_TRUE(
          f->AppendBytes(AsBytes(std::string_view(chunk).substr(0, take))));
      n -= static_cast<int64_t>(take);
    }
    wrote += static_cast<int64_t>(chunk.size());
    ASSERT_OK(q.Writeback(64 << 10, 256 << 10,
                          std::max<int64_t>(0, wrote - 3 * kAlign)));
  }
  using Op = testing::FaultFileSystem::Op;
  int64_t next = 0;
  for (const auto& d : fs.RangeCallsForTesting(Op::kDropCache)) {
    EXPECT_EQ(d.stream_begin(), next) << "a gap or an overlap";
    EXPECT_TRUE(d.end % kAlign == 0 || static_cast<int64_t>(d.end) == kSeg)
        << d.end;
    next = d.stream_end();
  }
  // Everything up to the last boundary below the drop offset went.
  EXPECT_GT(next, 2 * kSeg);
  EXPECT_LE(next, wrote - 3 * kAlign);
  EXPECT_GE(next, wrote - 3 * kAlign - kAlign - (256 << 10));
}

// With set_defer_drops the drops Writeback chooses wait for DropDeferred (the
// allocate thread frees them right before it faults in as many pages), except
// what goes beyond the cap, which Writeback drops at once. Either way they come
// oldest first, without gaps, on kDropAlign boundaries, and never reach the
// drop offset.
TEST(MappedFileQueueWritebackTest, DeferredDropsWaitForTheirReuseUpToTheCap) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  constexpr int64_t kAlign = MappedFileQueue::kDropAlign;
  constexpr int64_t kSeg = 8 * kAlign;
  constexpr int64_t kCap = 3 * kAlign;
  MappedFileQueue q(&fs, "/store/commitlog", kSeg);
  q.set_defer_drops(kCap);
  ASSERT_OK(q.Load());
  using Op = testing::FaultFileSystem::Op;
  auto drops = [&] { return fs.RangeCallsForTesting(Op::kDropCache); };
  auto dropped_end = [&] {
    int64_t next = 0;
    for (const auto& d : drops()) {
      EXPECT_EQ(d.stream_begin(), next) << "a gap or an overlap";
      EXPECT_TRUE(d.end % kAlign == 0 || static_cast<int64_t>(d.end) == kSeg)
          << d.end;
      next = d.stream_end();
    }
    return next;
  };
  const std::string chunk(static_cast<size_t>(kAlign), 'd');
  int64_t wrote = 0;
  auto append_and_write_back = [&](int chunks, int64_t keep) {
    for (int i = 0; i < chunks; ++i) {
      ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
      ASSERT_TRUE(f->AppendBytes(AsBytes(chunk)));
      wrote += kAlign;
      ASSERT_OK(
          q.Writeback(256 << 10, 1 << 20, std::max<int64_t>(0, wrote - keep)));
    }
  };
  // 5 MiB may go (6 written, keep 1), within the cap: nothing is dropped yet.
  append_and_write_back(3, kAlign);
  EXPECT_TRUE(drops().empty());
  const int64_t waiting = q.deferred_drop_bytes();
  EXPECT_GT(waiting, 0);
  EXPECT_LE(waiting, kCap);
  // The allocate thread asks for 1 MiB: the oldest 2 MiB block goes.
  EXPECT_EQ(q.DropDeferred(1 << 20), kAlign);
  EXPECT_EQ(dropped_end(), kAlign);
  EXPECT_EQ(q.deferred_drop_bytes(), waiting - kAlign);
  // Past the cap Writeback drops the oldest itself, across segments.
  append_and_write_back(12, kAlign);
  EXPECT_LE(q.deferred_drop_bytes(), kCap);
  EXPECT_GE(q.deferred_drop_bytes(), kCap - kAlign);
  const int64_t before = dropped_end();
  EXPECT_GT(before, kSeg);
  // Asking for more than waits drops all of it, up to where Writeback stopped.
  const int64_t rest = q.deferred_drop_bytes();
  EXPECT_EQ(q.DropDeferred(int64_t{1} << 40), rest);
  EXPECT_EQ(q.deferred_drop_bytes(), 0);
  EXPECT_EQ(dropped_end(), before + rest);
  EXPECT_LE(dropped_end(), wrote - kAlign);
  EXPECT_EQ(q.DropDeferred(kAlign), 0);
}

// A truncation forgets the drops still waiting: the pages they name may hold
// bytes written after the cut.
TEST(MappedFileQueueWritebackTest, TruncationForgetsDeferredDrops) {
  testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
  constexpr int64_t kAlign = MappedFileQueue::kDropAlign;
  MappedFileQueue q(&fs, "/store/commitlog", 8 * kAlign);
  q.set_defer_drops(8 * kAlign);
  ASSERT_OK(q.Load());
  ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
  ASSERT_TRUE(f->AppendBytes(AsBytes(std::string(3 * kAlign, 'd'))));
  ASSERT_OK(q.Writeback(256 << 10, 0, kAlign * 3));
  EXPECT_EQ(q.deferred_drop_bytes(), 3 * kAlign);
  ASSERT_TRUE(f->AppendBytes(AsBytes(std::string(kAlign, 'e'))));
  ASSERT_OK(q.TruncateDirtyFiles(kAlign));
  EXPECT_EQ(q.deferred_drop_bytes(), 0);
  EXPECT_EQ(q.DropDeferred(kAlign), 0);
  EXPECT_TRUE(fs.RangeCallsForTesting(testing::FaultFileSystem::Op::kDropCache)
                  .empty());
}

// The allocate thread pre-touches in kTouchStep steps, asking the frame source
// for as many bytes before each.
TEST(AllocateServiceFrameSourceTest, AsksForFramesBeforeEachTouchStep) {
  MemFileSystem fs;
  AllocateService alloc(&fs, nullptr, AllocateOptions{});
  constexpr int64_t kSeg = 2 * AllocateService::kTouchStep + 4096;
  std::vector<int64_t> asked;
  std::shared_ptr<MappedFile> file;
  alloc.SetFrameSource([&](int64_t bytes) { asked.push_back(bytes); });
  ASSERT_OK(fs.CreateDirs("/store/commitlog"));
  ASSERT_OK_AND_ASSIGN(file,
                       alloc.PutRequestAndReturnMappedFile(
                           "/store/commitlog/00000000000000000000", "", kSeg));
  EXPECT_EQ(asked, (std::vector<int64_t>{AllocateService::kTouchStep,
                                         AllocateService::kTouchStep, 4096}));
  EXPECT_EQ(file->touched_end(), kSeg);
}

// A queue whose appender stores through the mapping unmaps each range before
// it starts writing it back (one TLB shootdown per range, not per page).
TEST(MappedFileQueueWritebackTest, UnmapsEachRangeBeforeItsWriteback) {
  using Op = testing::FaultFileSystem::Op;
  for (bool unmap : {false, true}) {
    testing::FaultFileSystem fs(std::make_unique<MemFileSystem>());
    MappedFileQueue q(&fs, "/store/commitlog", 65536);
    q.set_unmap_before_writeback(unmap);
    ASSERT_OK(q.Load());
    for (int i = 0; i < 12; ++i) {
      ASSERT_OK_AND_ASSIGN(auto f, q.GetLastMappedFile(0));
      ASSERT_TRUE(f->AppendBytes(AsBytes(std::string(8192, 'w'))));
      ASSERT_OK(q.Writeback(8192, 16384, -1));
    }
    std::vector<testing::FaultFileSystem::RangeCall> started;
    for (const auto& c : fs.RangeCallsForTesting(Op::kWriteback)) {
      if (!c.wait) started.push_back(c);
    }
    ASSERT_FALSE(started.empty());
    const auto unmapped = fs.RangeCallsForTesting(Op::kUnmap);
    if (!unmap) {
      EXPECT_TRUE(unmapped.empty());
      continue;
    }
    ASSERT_EQ(unmapped.size(), started.size());
    for (size_t i = 0; i < started.size(); ++i) {
      EXPECT_EQ(unmapped[i].path, started[i].path);
      EXPECT_EQ(unmapped[i].begin, started[i].begin);
      EXPECT_EQ(unmapped[i].end, started[i].end);
    }
  }
}

}  // namespace
}  // namespace thruster::store
