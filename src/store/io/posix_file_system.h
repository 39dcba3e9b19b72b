#pragma once

#include "store/io/file_system.h"

namespace thruster::store::io {

// FileSystem on POSIX calls:
// open/posix_fallocate/ftruncate/mmap/msync/fdatasync/rename/fcntl.
// Thread-safe.
class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<MappedRegion>> Map(const std::string& path,
                                            size_t size,
                                            OpenMode mode) override;
  Result<std::unique_ptr<MappedRegion>> MapSparse(const std::string& path,
                                                  size_t size,
                                                  bool create) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& dir) override;
  bool Exists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Result<int64_t> ModifiedTimeMs(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<DiskUsage> GetDiskUsage(const std::string& path) override;
};

}  // namespace thruster::store::io
