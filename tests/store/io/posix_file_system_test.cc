#include "store/io/posix_file_system.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/support/test_util.h"

namespace thruster::store::io {
namespace {

using thruster::testing::TempDir;

TEST(PosixFileSystemTest, MapCreatesPreallocatedFileAndPersistsWrites) {
  TempDir dir;
  PosixFileSystem fs;
  std::string path = JoinPath(dir.path(), "seg");
  {
    ASSERT_OK_AND_ASSIGN(auto region, fs.Map(path, 8192, OpenMode::kCreateOrOpen));
    ASSERT_EQ(region->bytes().size(), 8192u);
    std::memcpy(region->bytes().data() + 4096, "abc", 3);
    ASSERT_OK(region->Sync(4096, 4099));
  }
  ASSERT_OK_AND_ASSIGN(uint64_t size, fs.FileSize(path));
  EXPECT_EQ(size, 8192u);
  ASSERT_OK_AND_ASSIGN(auto region, fs.Map(path, 8192, OpenMode::kReadOnly));
  EXPECT_EQ(std::memcmp(region->bytes().data() + 4096, "abc", 3), 0);
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
  EXPECT_FALSE(fs.Map(JoinPath(dir.path(), "nope"), 4096, OpenMode::kOpenExisting).ok());
  EXPECT_TRUE(fs.ReadFile(JoinPath(dir.path(), "nope")).status().IsNotFound());
}

}  // namespace
}  // namespace thruster::store::io
