// Consume-queue files on a real file system: sparse at RocketMQ's default
// size, blocks reserved ahead of the writer, a full disk reported at the
// reserve step.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/consume_queue.h"
#include "store/consume_queue_format.h"
#include "store/io/posix_file_system.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

using cq_format::Entry;
using testing::FaultFileSystem;

struct SparseCqFileStat {
  int64_t size = -1;
  int64_t allocated = -1;  // st_blocks * 512: the disk the file takes
};

SparseCqFileStat StatSparseCqFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_blocks) * 512};
}

// Queue q of the 10,000 (100 topics x 100 queues, as the queues curve spreads
// them), message i: phys offsets interleave the queues as one dispatch would.
constexpr int kSparseCqQueues = 10000;
constexpr int kSparseCqPerTopic = 100;
constexpr int64_t kSparseCqEntries = 3;

Entry SparseCqEntry(int q, int64_t i) {
  return Entry{(i * kSparseCqQueues + q) * 100, 100, 7000 + i};
}

std::unique_ptr<ConsumeQueue> OpenSparseCq(io::FileSystem* fs,
                                           const std::string& root, int q) {
  auto cq = std::make_unique<ConsumeQueue>(
      fs, root, "T" + std::to_string(q / kSparseCqPerTopic),
      q % kSparseCqPerTopic);
  Status s = cq->Load();
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = cq->Recover();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return cq;
}

// Runs fn(0 .. n-1) on 16 threads: creating and removing 10,000 queues is
// mostly waiting on the file system, which concurrent callers share.
void ForEachSparseCqInParallel(int n, const std::function<void(int)>& fn) {
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, n, &fn] {
      for (int i = t; i < n; i += kThreads) fn(i);
    });
  }
  for (auto& th : threads) th.join();
}

std::string FirstCqFile(const ConsumeQueue& cq) {
  return io::JoinPath(cq.dir(), OffsetToFileName(0));
}

// Where the 10,000 queues go: a fresh directory on the shared-memory tmpfs
// when there is one (sparse files and fallocate as on a disk, st_blocks
// counting what is allocated), else under the temp dir. On a disk every new
// queue file syncs its directory and every removal frees blocks through the
// journal: on the busy VM this suite runs on that took 160 s instead of 25.
class SparseCqScratchDir {
 public:
  SparseCqScratchDir() {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) &&
        ::access("/dev/shm", W_OK) == 0) {
      path_ = "/dev/shm/thruster-sparse-cq-" + std::to_string(::getpid());
      std::filesystem::create_directories(path_, ec);
      if (ec) path_.clear();
    }
    if (path_.empty()) path_ = fallback_.path();
  }
  ~SparseCqScratchDir() {
    std::error_code ec;
    if (path_ != fallback_.path()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  testing::TempDir fallback_;
  std::string path_;
};

TEST(SparseConsumeQueueTest,
     TenThousandQueuesAtTheDefaultSizeTakeDiskOnlyForTheirEntries) {
  ASSERT_EQ(cq_format::kDefaultFileSize, 6000000);
  SparseCqScratchDir dir;
  const std::string root = dir.path() + "/consumequeue";
  io::PosixFileSystem fs;
  const int64_t fds_before = testing::OpenFdCount(::getpid());
  std::vector<std::unique_ptr<ConsumeQueue>> queues(kSparseCqQueues);
  ForEachSparseCqInParallel(kSparseCqQueues, [&](int q) {
    auto& cq = queues[static_cast<size_t>(q)];
    cq = OpenSparseCq(&fs, root, q);
    const Entry e = SparseCqEntry(q, 0);
    Status s = cq->PutMessagePositionInfo(PhysOffset{e.phys_offset}, e.size,
                                          e.tags_code, QueueOffset{0});
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  for (int64_t i = 1; i < kSparseCqEntries; ++i) {
    for (int q = 0; q < kSparseCqQueues; ++q) {
      const Entry e = SparseCqEntry(q, i);
      ASSERT_OK(queues[static_cast<size_t>(q)]->PutMessagePositionInfo(
          PhysOffset{e.phys_offset}, e.size, e.tags_code, QueueOffset{i}));
    }
  }
  // Each mapping holds its file; no descriptor stays open per file.
  EXPECT_LT(testing::OpenFdCount(::getpid()) - fds_before, 100);

  int64_t total = 0;
  for (const auto& cq : queues) {
    SparseCqFileStat st = StatSparseCqFile(FirstCqFile(*cq));
    ASSERT_EQ(st.size, 6000000) << FirstCqFile(*cq);  // RocketMQ's file size
    EXPECT_GT(st.allocated, 0) << FirstCqFile(*cq);
    EXPECT_LE(st.allocated, ConsumeQueue::kReserveStep) << FirstCqFile(*cq);
    total += st.allocated;
  }
  // Whole files would take 60 GB.
  EXPECT_LE(total, int64_t{kSparseCqQueues} * ConsumeQueue::kReserveStep);
  std::printf("%d queues at 6,000,000-byte files: %lld bytes on disk\n",
              kSparseCqQueues, static_cast<long long>(total));

  // A restart: recovery finds every entry and the end of each queue in the
  // zeros of the sparse tail; appends go on from there.
  queues.clear();
  for (int q = 0; q < kSparseCqQueues; ++q) {
    auto cq = OpenSparseCq(&fs, root, q);
    ASSERT_EQ(cq->GetMaxOffsetInQueue(), kSparseCqEntries) << cq->dir();
    for (int64_t i = 0; i < kSparseCqEntries; ++i) {
      auto e = cq->GetEntry(QueueOffset{i});
      ASSERT_TRUE(e.has_value()) << cq->dir() << " " << i;
      EXPECT_EQ(*e, SparseCqEntry(q, i)) << cq->dir() << " " << i;
    }
    EXPECT_EQ(cq->max_phys_offset(),
              SparseCqEntry(q, kSparseCqEntries - 1).phys_offset + 100);
    if (q % 1000 == 0) {
      const Entry e = SparseCqEntry(q, kSparseCqEntries);
      ASSERT_OK(cq->PutMessagePositionInfo(PhysOffset{e.phys_offset}, e.size,
                                           e.tags_code,
                                           QueueOffset{kSparseCqEntries}));
      EXPECT_EQ(cq->GetEntry(QueueOffset{kSparseCqEntries}), e);
      EXPECT_LE(StatSparseCqFile(FirstCqFile(*cq)).allocated,
                ConsumeQueue::kReserveStep);
    }
  }
  ForEachSparseCqInParallel(kSparseCqQueues / kSparseCqPerTopic, [&](int t) {
    std::error_code ec;
    std::filesystem::remove_all(root + "/T" + std::to_string(t), ec);
  });
}

// A store into a new file's hole faults; the kernel's read-around on that
// fault (read_ahead_kb: 128 KiB on Debian, 8 MiB on our VMs) once zero-filled
// up to the whole 6 MB file in the page cache for every new queue. The file
// being appended to is advised random: its entries take only their own pages.
TEST(SparseConsumeQueueTest, EntriesOfANewFileTakeOnlyTheirOwnPages) {
  testing::TempDir dir;
  io::PosixFileSystem fs;
  ConsumeQueue cq(&fs, dir.path() + "/consumequeue", "T", 0);
  ASSERT_OK(cq.Load());
  ASSERT_OK(cq.Recover());
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_OK(
        cq.PutMessagePositionInfo(PhysOffset{i * 100}, 100, i, QueueOffset{i}));
  }
  auto file = cq.mapped_file_queue_for_testing()->GetLastMappedFile();
  ASSERT_NE(file, nullptr);
  std::span<const std::byte> m = file->mapping();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((m.size() + page - 1) / page);
  ASSERT_EQ(
      ::mincore(const_cast<std::byte*>(m.data()), m.size(), resident.data()),
      0);
  size_t in_core = 0;
  for (unsigned char r : resident) in_core += r & 1;
  EXPECT_GE(in_core, 1u);
  EXPECT_LE(in_core * page, size_t{64} << 10)
      << in_core << " pages of a file holding 3 entries are in the page cache";
  EXPECT_EQ(cq.GetEntry(QueueOffset{2}), (Entry{200, 100, 2}));
}

TEST(SparseConsumeQueueTest,
     FullDiskAtAReserveStepFailsThePutUntilSpaceReturns) {
  testing::TempDir dir;
  FaultFileSystem fs(std::make_unique<io::PosixFileSystem>());
  ConsumeQueue cq(&fs, dir.path() + "/consumequeue", "T", 0);
  ASSERT_OK(cq.Load());
  ASSERT_OK(cq.Recover());
  auto put = [&cq](int64_t i) {
    return cq.PutMessagePositionInfo(PhysOffset{i * 100}, 100, i,
                                     QueueOffset{i});
  };

  // The first entry needs the first step of blocks.
  fs.FailAll(FaultFileSystem::Op::kReserve);
  for (int attempt = 0; attempt < 3; ++attempt) {
    Status s = put(0);
    EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  }
  EXPECT_EQ(cq.GetMaxOffsetInQueue(), 0);
  EXPECT_EQ(cq.max_phys_offset(), -1);
  // Nothing was stored into the file's hole (ext4 counts even delayed
  // allocations in st_blocks).
  EXPECT_EQ(StatSparseCqFile(FirstCqFile(cq)).allocated, 0);
  fs.ClearFaults();
  ASSERT_OK(put(0));
  EXPECT_EQ(cq.GetEntry(QueueOffset{0}), (Entry{0, 100, 0}));

  // Entries 1..3275 fit in the first 64 KiB; entry 3276 crosses into the
  // next step.
  constexpr int64_t kFirstStepEntries =
      ConsumeQueue::kReserveStep / static_cast<int64_t>(cq_format::kEntrySize);
  for (int64_t i = 1; i < kFirstStepEntries; ++i) ASSERT_OK(put(i));
  EXPECT_EQ(fs.CallsForTesting(FaultFileSystem::Op::kReserve), 4);
  EXPECT_LE(StatSparseCqFile(FirstCqFile(cq)).allocated,
            ConsumeQueue::kReserveStep);
  fs.FailNth(FaultFileSystem::Op::kReserve, 1);
  Status s = put(kFirstStepEntries);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_EQ(cq.GetMaxOffsetInQueue(), kFirstStepEntries);
  ASSERT_OK(put(kFirstStepEntries));  // space is back
  EXPECT_EQ(cq.GetMaxOffsetInQueue(), kFirstStepEntries + 1);
  EXPECT_EQ(cq.GetEntry(QueueOffset{kFirstStepEntries}),
            (Entry{kFirstStepEntries * 100, 100, kFirstStepEntries}));
  EXPECT_LE(StatSparseCqFile(FirstCqFile(cq)).allocated,
            2 * ConsumeQueue::kReserveStep);

  // A queue whose first entry is far into its file writes pre-blank filler in
  // front of it, and reserves for the filler first.
  ConsumeQueue late(&fs, dir.path() + "/consumequeue", "T", 1);
  ASSERT_OK(late.Load());
  ASSERT_OK(late.Recover());
  fs.FailNth(FaultFileSystem::Op::kReserve, 1);
  EXPECT_FALSE(
      late.PutMessagePositionInfo(PhysOffset{0}, 100, 0, QueueOffset{10000})
          .ok());
  EXPECT_EQ(StatSparseCqFile(FirstCqFile(late)).allocated, 0);
  ASSERT_OK(
      late.PutMessagePositionInfo(PhysOffset{0}, 100, 0, QueueOffset{10000}));
  EXPECT_EQ(late.GetMinOffsetInQueue(), 10000);
  EXPECT_EQ(late.GetMaxOffsetInQueue(), 10001);
  EXPECT_EQ(late.GetEntry(QueueOffset{10000}), (Entry{0, 100, 0}));
  EXPECT_LE(StatSparseCqFile(FirstCqFile(late)).allocated,
            10001 * 20 + ConsumeQueue::kReserveStep);
}

}  // namespace
}  // namespace thruster::store
