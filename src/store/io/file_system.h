#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

// The file-system seam of the store. Every file access in store/ goes through
// FileSystem; only posix_file_system.cc makes system calls. Tests substitute
// MemFileSystem / FaultFileSystem (tests/support).
namespace thruster::store::io {

enum class OpenMode {
  kCreateOrOpen,  // create the file at `size` bytes if missing (preallocated),
                  // else open it as it is
  kOpenExisting,  // the file must exist; it is mapped at `size` bytes
  kReadOnly,      // must exist; mapped read-only
};

enum class Advice { kNormal, kWillNeed, kRandom, kDontNeed };

// One mapped file. Not thread-safe for Sync/Lock calls (the owner decides who
// calls them); bytes() may be read and written concurrently by the owner's
// rules. The mapping lives until this object is destroyed.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual std::span<std::byte> bytes() = 0;
  // Makes [begin, end) durable (msync). A failure means the bytes may never
  // reach the disk.
  virtual Status Sync(size_t begin, size_t end) = 0;
  // mlock / munlock of the whole mapping; failures (RLIMIT_MEMLOCK) are
  // reported, callers may only log them.
  virtual Status Lock() = 0;
  virtual Status Unlock() = 0;
  virtual void Advise(Advice advice) = 0;
  // Faults the pages of [begin, end) in writable (MADV_POPULATE_WRITE) so later
  // writes hit warm pages; InvalidArgument when the kernel or the
  // implementation cannot, and the caller touches the pages itself.
  virtual Status PopulateWrite(size_t /*begin*/, size_t /*end*/) {
    return Status::InvalidArgument("populate not supported");
  }
  // Writes zeros over the whole file through the file (not the mapping) and
  // makes them durable, so its blocks are written and later syncs of
  // overwritten data commit no metadata; the pages stay cached.
  virtual Status WriteZerosAndSync() = 0;
  // Writes `data` at file position `pos` through the file (not the mapping);
  // the mapping sees the bytes at once (one page cache). Used to commit pool
  // buffers without faulting mapping pages.
  virtual Status Write(size_t pos, std::span<const std::byte> data) = 0;
  // Starts writing the dirty pages of [begin, end) to the disk without waiting
  // (sync_file_range WRITE); with `wait`, returns only once they are written.
  // Not durability (no metadata, no device cache flush: that is Sync()), but it
  // keeps the page cache's dirty total low, so the kernel never throttles the
  // appender to its own, much slower, background writeback. IOError means the
  // bytes may never reach the disk. Default: nothing to do.
  virtual Status Writeback(size_t /*begin*/, size_t /*end*/, bool /*wait*/) {
    return Status::OK();
  }
  // Allocates the disk blocks of file positions [begin, end), so that stores
  // into those pages cannot fail for want of space. A region from
  // FileSystem::MapSparse() has blocks only where this (or a write) put them,
  // and a store through the mapping into a page without blocks on a full disk
  // is a SIGBUS, not an error: its writer calls this first. IOError (ENOSPC
  // when the disk is full) means nothing may be stored there yet; a later call
  // may succeed once space returns. Default: nothing to do (Map() allocates
  // the whole file).
  virtual Status Reserve(size_t /*begin*/, size_t /*end*/) {
    return Status::OK();
  }
  // Unmaps the pages of [begin, end) from this mapping and drops them from the
  // page cache if they are clean (MADV_DONTNEED, then POSIX_FADV_DONTNEED); the
  // bytes stay in the file and a later access reads them back. A hint: nothing
  // is reported. Default: nothing to do.
  virtual void DropCache(size_t /*begin*/, size_t /*end*/) {}
  // Removes the whole pages of [begin, end) from this mapping (MADV_DONTNEED)
  // and leaves them in the page cache, dirty or clean: a later access maps
  // them again with the same bytes. Writing back a page still mapped writable
  // write-protects it first, one TLB shootdown per page to every CPU running
  // the process; unmapped beforehand, a range costs one. A hint: nothing is
  // reported. Default: nothing to do.
  virtual void Unmap(size_t /*begin*/, size_t /*end*/) {}
  virtual const std::string& path() const = 0;
};

// Holds an exclusive lock on a file until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct DirEntry {
  std::string name;  // not the path
  uint64_t size = 0;
  bool is_dir = false;
};

struct DiskUsage {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;   // f_bfree
  uint64_t avail_bytes = 0;  // f_bavail
};

// Thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Maps `path` whole, shared, at `size` bytes. With kCreateOrOpen a missing
  // file is created and fully allocated first, so a full disk shows up here
  // rather than as SIGBUS on a later page fault.
  virtual Result<std::unique_ptr<MappedRegion>> Map(const std::string& path,
                                                    size_t size,
                                                    OpenMode mode) = 0;
  // Maps `path` read-write at `size` bytes, for the many small files that
  // should cost disk only for what is written (consume queues, as RocketMQ's
  // sparse RandomAccessFile.setLength files do): with `create` a missing file
  // is created at its full size but sparse, and an existing shorter one is
  // extended the same way; blocks come from MappedRegion::Reserve(), which the
  // writer calls before storing into a page. The region keeps no descriptor
  // open (ten thousand queues must not need ten thousand descriptors); its
  // calls that need one open the file again. Default: Map(), which allocates
  // the whole file (Reserve() then has nothing to do).
  virtual Result<std::unique_ptr<MappedRegion>> MapSparse(
      const std::string& path, size_t size, bool create) {
    return Map(path, size,
               create ? OpenMode::kCreateOrOpen : OpenMode::kOpenExisting);
  }
  virtual Result<std::vector<DirEntry>> ListDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Result<int64_t> ModifiedTimeMs(const std::string& path) = 0;
  // Creates `dir` and its parents; OK when it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // Makes creations, renames and removals in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Whole small files (config JSON, abort): read all; write all and fsync.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual Status WriteFile(const std::string& path, std::string_view data) = 0;
  // Takes an exclusive fcntl (OFD) write lock on byte [0, 1) of `path`,
  // creating it, and writes "lock". Busy when another process (or another
  // FileLock) holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) = 0;
  virtual Result<DiskUsage> GetDiskUsage(const std::string& path) = 0;
};

// The process's real file system (POSIX); never destroyed.
FileSystem* DefaultFileSystem();

std::string JoinPath(const std::string& dir, const std::string& name);
std::string DirName(const std::string& path);

}  // namespace thruster::store::io
