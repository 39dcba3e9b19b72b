#include "store/io/posix_file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/coding.h"
#include "store/mapped_file.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster::store::io {
namespace {

using thruster::testing::TempDir;

TEST(PosixFileSystemTest, MapCreatesPreallocatedFileAndPersistsWrites) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "seg");
  {
    ASSERT_OK_AND_ASSIGN(auto region,
                         fs.Map(path, 8192, OpenMode::kCreateOrOpen));
    ASSERT_EQ(region->bytes().size(), 8192u);
    std::memcpy(region->bytes().data() + 4096, "abc", 3);
    ASSERT_OK(region->Sync(4096, 4099));
  }
  ASSERT_OK_AND_ASSIGN(uint64_t size, fs.FileSize(path));
  EXPECT_EQ(size, 8192u);
  ASSERT_OK_AND_ASSIGN(auto region, fs.Map(path, 8192, OpenMode::kReadOnly));
  EXPECT_EQ(std::memcmp(region->bytes().data() + 4096, "abc", 3), 0);
}

TEST(PosixFileSystemTest, WritebackStartsAndWaitsForTheDiskWrite) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "seg");
  {
    ASSERT_OK_AND_ASSIGN(auto region,
                         fs.Map(path, 16384, OpenMode::kCreateOrOpen));
    std::memset(region->bytes().data(), 'x', 12288);
    ASSERT_OK(region->Writeback(0, 8192, /*wait=*/false));
    ASSERT_OK(region->Writeback(0, 8192, /*wait=*/true));
    ASSERT_OK(region->Writeback(8192, 1 << 20, /*wait=*/true));  // clipped
    ASSERT_OK(region->Writeback(4096, 4096, /*wait=*/false));    // empty
  }
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  ASSERT_EQ(content.size(), 16384u);
  EXPECT_EQ(content.substr(0, 12288), std::string(12288, 'x'));
}

// Whether the page at `addr` is mapped in this process (/proc/self/pagemap,
// bit 63: present).
bool PageMapped(const void* addr) {
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  EXPECT_GE(fd, 0);
  const auto page = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(addr)) /
                    static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t entry = 0;
  const ssize_t n =
      ::pread(fd, &entry, sizeof entry, static_cast<off_t>(page * 8));
  ::close(fd);
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof entry));
  return (entry >> 63) != 0;
}

// Unmap takes the whole pages of a range out of the mapping and keeps their
// bytes, written but not yet synced: they read back through the mapping and
// reach the file.
TEST(PosixFileSystemTest, UnmapKeepsDirtyBytesAndRemovesWholePagesOnly) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "seg");
  {
    ASSERT_OK_AND_ASSIGN(auto region,
                         fs.Map(path, 16384, OpenMode::kCreateOrOpen));
    std::byte* b = region->bytes().data();
    std::memset(b, 'u', 16384);
    ASSERT_TRUE(PageMapped(b) && PageMapped(b + 4096) && PageMapped(b + 8192));
    region->Unmap(100, 8192 + 100);  // whole pages inside: only [4096, 8192)
    EXPECT_TRUE(PageMapped(b));
    EXPECT_FALSE(PageMapped(b + 4096));
    EXPECT_TRUE(PageMapped(b + 8192));
    EXPECT_EQ(std::memcmp(b + 4096, std::string(4096, 'u').data(), 4096), 0);
    region->Unmap(0, 16384);
    EXPECT_FALSE(PageMapped(b + 12288));
    region->Unmap(0, 1 << 20);  // clipped
    ASSERT_OK(region->Sync(0, 16384));
  }
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(content, std::string(16384, 'u'));
}

int64_t AllocatedBytesOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_blocks) * 512;
}

TEST(PosixFileSystemTest, MapSparseAllocatesOnlyWhatIsReservedAndKeepsNoFd) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "cq");
  const int64_t fds = testing::OpenFdCount(::getpid());
  {
    ASSERT_OK_AND_ASSIGN(auto region,
                         fs.MapSparse(path, 1 << 20, /*create=*/true));
    EXPECT_EQ(testing::OpenFdCount(::getpid()), fds);
    ASSERT_OK_AND_ASSIGN(uint64_t size, fs.FileSize(path));
    EXPECT_EQ(size, uint64_t{1} << 20);
    EXPECT_EQ(AllocatedBytesOf(path), 0);
    ASSERT_OK(region->Reserve(0, 8192));
    EXPECT_GE(AllocatedBytesOf(path), 8192);
    EXPECT_LT(AllocatedBytesOf(path), 64 << 10);
    std::memcpy(region->bytes().data() + 100, "abc", 3);
    ASSERT_OK(region->Sync(100, 103));
    // Calls that need a descriptor open the file for themselves.
    ASSERT_OK(region->Write(200, AsBytes(std::string_view("def"))));
    ASSERT_OK(region->Writeback(0, 4096, /*wait=*/true));
    EXPECT_EQ(std::memcmp(region->bytes().data() + 200, "def", 3), 0);
    EXPECT_EQ(testing::OpenFdCount(::getpid()), fds);
  }
  // Opened again (and not created): the bytes are there; a missing file is
  // an error without `create`.
  ASSERT_OK_AND_ASSIGN(auto again,
                       fs.MapSparse(path, 1 << 20, /*create=*/false));
  EXPECT_EQ(std::memcmp(again->bytes().data() + 100, "abc", 3), 0);
  EXPECT_FALSE(
      fs.MapSparse(JoinPath(dir.path(), "nope"), 4096, /*create=*/false).ok());
  EXPECT_FALSE(fs.Exists(JoinPath(dir.path(), "nope")));
}

TEST(PosixFileSystemTest, CreateDirsMakesMissingParentsAndAcceptsExisting) {
  TempDir dir;
  PosixFileSystem fs;
  const std::string deep = JoinPath(dir.path(), "a/b/c");
  ASSERT_OK(fs.CreateDirs(deep));
  struct stat st {};
  ASSERT_EQ(::stat(deep.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_OK(fs.CreateDirs(deep));  // exists: fine
  const std::string sibling = JoinPath(dir.path(), "a/b/d");
  ASSERT_OK(fs.CreateDirs(sibling));  // parent exists: one level
  ASSERT_EQ(::stat(sibling.c_str(), &st), 0);
  // A file in the way is an error, whether it is the parent or an ancestor.
  ASSERT_OK(fs.WriteFile(JoinPath(dir.path(), "f"), "x"));
  EXPECT_FALSE(fs.CreateDirs(JoinPath(dir.path(), "f/g")).ok());
  EXPECT_FALSE(fs.CreateDirs(JoinPath(dir.path(), "f/g/h")).ok());
}

TEST(PosixFileSystemTest, SecondLockOnSameFileIsBusy) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "lock");
  ASSERT_OK_AND_ASSIGN(auto lock, fs.LockFile(path));
  auto second = fs.LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy);
  lock.reset();
  ASSERT_OK_AND_ASSIGN(auto again, fs.LockFile(path));
  ASSERT_OK_AND_ASSIGN(std::string content, fs.ReadFile(path));
  EXPECT_EQ(content, "lock");
}

TEST(PosixFileSystemTest, MissingFileIsError) {
  TempDir dir;
  PosixFileSystem fs;
  EXPECT_FALSE(
      fs.Map(JoinPath(dir.path(), "nope"), 4096, OpenMode::kOpenExisting).ok());
  EXPECT_TRUE(fs.ReadFile(JoinPath(dir.path(), "nope")).status().IsNotFound());
}

}  // namespace
}  // namespace thruster::store::io

namespace thruster::store {
namespace {

// Pre-touching pages ahead of a writer (the allocate thread under async flush)
// never changes a byte the writer stored, on the real file system.
TEST(MappedFilePreTouchTest, ConcurrentPreTouchKeepsWrittenBytes) {
  thruster::testing::TempDir dir;
  io::PosixFileSystem fs;
  constexpr int64_t kSize = 16 << 20;
  auto f = MappedFile::Create(
      &fs, io::JoinPath(dir.path(), OffsetToFileName(0)), kSize);
  ASSERT_TRUE(f.ok());
  std::shared_ptr<MappedFile> file = *f;
  std::atomic<bool> done{false};
  std::thread toucher([&] {
    for (int32_t end = 1 << 20; end <= kSize && !done.load(); end += 1 << 20)
      file->PreTouch(end);
  });
  std::string chunk(1000, '\0');
  int n = 0;
  while (true) {
    for (size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = static_cast<char>('a' + (n + static_cast<int>(i)) % 26);
    if (!file->AppendBytes(AsBytes(chunk))) break;
    ++n;
  }
  done = true;
  toucher.join();
  auto m = file->mapping();
  for (int k = 0; k < n; ++k) {
    for (size_t i = 0; i < chunk.size(); i += 97) {
      ASSERT_EQ(static_cast<char>(m[static_cast<size_t>(k) * 1000 + i]),
                static_cast<char>('a' + (k + static_cast<int>(i)) % 26));
    }
  }
  EXPECT_EQ(file->touched_end() <= kSize, true);
}

}  // namespace
}  // namespace thruster::store

namespace thruster::store {
namespace {

int64_t LockedKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST(MappedFileWarmTest, WarmUpLocksTheSegmentAndMunlockReleasesIt) {
  thruster::testing::TempDir dir;
  io::PosixFileSystem fs;
  auto f = MappedFile::Create(
      &fs, io::JoinPath(dir.path(), OffsetToFileName(0)), 4 << 20);
  ASSERT_TRUE(f.ok());
  int64_t before = LockedKb();
  (*f)->Warm(/*sync_flush=*/false, /*lock=*/true);
  int64_t locked = LockedKb();
  if (locked - before < 4096)
    GTEST_SKIP() << "mlock refused here (RLIMIT_MEMLOCK)";
  (*f)->Munlock();
  EXPECT_LE(LockedKb(), before);
}

}  // namespace
}  // namespace thruster::store
