#include "tests/support/mem_file_system.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/support/fault_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::testing {
namespace {

using store::io::OpenMode;

TEST(MemFileSystemTest, PowerLossKeepsOnlySyncedBytes) {
  MemFileSystem fs;
  ASSERT_OK(fs.CreateDirs("/s"));
  {
    ASSERT_OK_AND_ASSIGN(auto r, fs.Map("/s/f", 4096, OpenMode::kCreateOrOpen));
    ASSERT_OK(fs.SyncDir("/s"));
    std::memcpy(r->bytes().data(), "ab", 2);
    ASSERT_OK(r->Sync(0, 1));
  }
  fs.SimulatePowerLoss();
  ASSERT_OK_AND_ASSIGN(auto r, fs.Map("/s/f", 4096, OpenMode::kOpenExisting));
  EXPECT_EQ(static_cast<char>(r->bytes()[0]), 'a');
  EXPECT_EQ(static_cast<char>(r->bytes()[1]), '\0');
}

TEST(MemFileSystemTest, PowerLossRemovesFilesOfUnsyncedDirectory) {
  MemFileSystem fs;
  ASSERT_OK(fs.CreateDirs("/s"));
  {
    ASSERT_OK_AND_ASSIGN(auto r, fs.Map("/s/f", 4096, OpenMode::kCreateOrOpen));
  }
  fs.SimulatePowerLoss();
  EXPECT_FALSE(fs.Exists("/s/f"));
}

TEST(FaultFileSystemTest, FailsTheNthSync) {
  FaultFileSystem fs(std::make_unique<MemFileSystem>());
  ASSERT_OK(fs.CreateDirs("/s"));
  ASSERT_OK_AND_ASSIGN(auto r, fs.Map("/s/f", 4096, OpenMode::kCreateOrOpen));
  fs.FailNth(FaultFileSystem::Op::kSync, 2);
  EXPECT_OK(r->Sync(0, 10));
  Status s = r->Sync(0, 10);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_OK(r->Sync(0, 10));
}

}  // namespace
}  // namespace thruster::testing
