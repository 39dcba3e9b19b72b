#include "store/io/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace thruster::store::io {
namespace {

// The descriptor one call of a region works through: the region's own, or,
// for a region that keeps none (MapSparse), the file opened again for the call.
class PosixRegionCallFd {
 public:
  PosixRegionCallFd(int kept, const std::string& path) : fd_(kept) {
    if (fd_ >= 0) return;
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      open_errno_ = errno;
    } else {
      owned_ = true;
    }
  }
  PosixRegionCallFd(const PosixRegionCallFd&) = delete;
  PosixRegionCallFd& operator=(const PosixRegionCallFd&) = delete;
  ~PosixRegionCallFd() {
    if (owned_) ::close(fd_);
  }
  int get() const { return fd_; }
  Status status(const std::string& path) const {
    if (fd_ >= 0) return Status::OK();
    return Status::IOError("open " + path, open_errno_);
  }

 private:
  int fd_;
  int open_errno_ = 0;
  bool owned_ = false;
};

class PosixMappedRegion final : public MappedRegion {
 public:
  // `fd` < 0: the region keeps no descriptor (see FileSystem::MapSparse).
  PosixMappedRegion(std::string path, int fd, std::byte* addr, size_t size)
      : path_(std::move(path)), fd_(fd), addr_(addr), size_(size) {}
  ~PosixMappedRegion() override {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  Status WriteZerosAndSync() override {
    PosixRegionCallFd f(fd_, path_);
    TH_RETURN_IF_ERROR(f.status(path_));
    // In steps of 8 MiB, each started on its way to the disk at once and waited
    // for one step later: never more than two steps sit in the disk's queue,
    // so a group commit's small sync waits behind at most ~16 MiB of zeros
    // instead of a whole segment's.
    // Each pwrite is 64 KiB: the page cache builds its folios as large as the
    // writes that create them, and every later small positional write walks
    // all the blocks of the folio it lands in (ext4 with large folios): on
    // folios built by 1 MiB writes a 1 KiB append costs 2.4x what it does on
    // 64 KiB ones, on 2 MiB folios 4.6x.
    constexpr size_t kStep = 8u << 20;
    static const std::vector<char> zeros(64 << 10, 0);
    size_t off = 0;
    while (off < size_) {
      size_t n = std::min(zeros.size(), size_ - off);
      ssize_t w = ::pwrite(f.get(), zeros.data(), n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write zeros " + path_, errno);
      }
      off += static_cast<size_t>(w);
      if (off % kStep == 0 || off == size_) {
        size_t step_begin = (off - 1) / kStep * kStep;
        TH_RETURN_IF_ERROR(
            WritebackFd(f.get(), step_begin, off, /*wait=*/false));
        if (step_begin >= kStep) {
          TH_RETURN_IF_ERROR(
              WritebackFd(f.get(), step_begin - kStep, step_begin, true));
        }
      }
    }
    if (::fdatasync(f.get()) != 0)
      return Status::IOError("fdatasync " + path_, errno);
    return Status::OK();
  }
  Status Write(size_t pos, std::span<const std::byte> data) override {
    PosixRegionCallFd f(fd_, path_);
    TH_RETURN_IF_ERROR(f.status(path_));
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = ::pwrite(f.get(), data.data() + off, data.size() - off,
                           static_cast<off_t>(pos + off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("pwrite " + path_, errno);
      }
      off += static_cast<size_t>(w);
    }
    return Status::OK();
  }
  Status Writeback(size_t begin, size_t end, bool wait) override {
    if (end > size_) end = size_;
    if (begin >= end) return Status::OK();
    PosixRegionCallFd f(fd_, path_);
    TH_RETURN_IF_ERROR(f.status(path_));
    return WritebackFd(f.get(), begin, end, wait);
  }
  Status Reserve(size_t begin, size_t end) override {
    if (end > size_) end = size_;
    if (begin >= end) return Status::OK();
    PosixRegionCallFd f(fd_, path_);
    TH_RETURN_IF_ERROR(f.status(path_));
    // Mode 0 allocates the blocks (unwritten extents on ext4/XFS) without
    // changing the file size; blocks already there are left alone.
    int rc = ::posix_fallocate(f.get(), static_cast<off_t>(begin),
                               static_cast<off_t>(end - begin));
    if (rc != 0) {
      return Status::IOError("fallocate " + path_ + " at " +
                                 std::to_string(begin) + ".." +
                                 std::to_string(end),
                             rc);
    }
    return Status::OK();
  }
  void DropCache(size_t begin, size_t end) override {
    if (end > size_) end = size_;
    begin &= ~size_t{4095};
    if (begin >= end) return;
    ::madvise(addr_ + begin, end - begin, MADV_DONTNEED);
    PosixRegionCallFd f(fd_, path_);
    if (f.get() < 0) return;  // a hint: the mapping's pages are gone already
    ::posix_fadvise(f.get(), static_cast<off_t>(begin),
                    static_cast<off_t>(end - begin), POSIX_FADV_DONTNEED);
  }
  void Unmap(size_t begin, size_t end) override {
    if (end > size_) end = size_;
    begin = (begin + 4095) & ~size_t{4095};
    end &= ~size_t{4095};
    if (begin < end) ::madvise(addr_ + begin, end - begin, MADV_DONTNEED);
  }
  std::span<std::byte> bytes() override { return {addr_, size_}; }
  Status Sync(size_t begin, size_t end) override {
    if (end > size_) end = size_;
    if (begin >= end) return Status::OK();
    size_t page = 4096;
    size_t aligned = begin & ~(page - 1);
    if (::msync(addr_ + aligned, end - aligned, MS_SYNC) != 0)
      return Status::IOError("msync " + path_, errno);
    return Status::OK();
  }
  // mlock/munlock go through syscall(): AddressSanitizer intercepts the libc
  // wrappers and turns them into no-ops, which would leave the sanitizer build
  // unable to test the lock it is meant to check.
  Status Lock() override {
    if (::syscall(SYS_mlock, addr_, size_) != 0)
      return Status::IOError("mlock " + path_, errno);
    return Status::OK();
  }
  Status Unlock() override {
    if (::syscall(SYS_munlock, addr_, size_) != 0)
      return Status::IOError("munlock " + path_, errno);
    return Status::OK();
  }
  void Advise(Advice advice) override {
    int a = MADV_NORMAL;
    switch (advice) {
      case Advice::kNormal:
        a = MADV_NORMAL;
        break;
      case Advice::kWillNeed:
        a = MADV_WILLNEED;
        break;
      case Advice::kRandom:
        a = MADV_RANDOM;
        break;
      case Advice::kDontNeed:
        a = MADV_DONTNEED;
        break;
    }
    ::madvise(addr_, size_, a);
  }
  Status PopulateWrite(size_t begin, size_t end) override {
#ifndef MADV_POPULATE_WRITE
    constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14+
#endif
    if (end > size_) end = size_;
    begin &= ~size_t{4095};
    if (begin >= end) return Status::OK();
    if (::madvise(addr_ + begin, end - begin, MADV_POPULATE_WRITE) != 0)
      return Status::IOError("madvise populate " + path_, errno);
    return Status::OK();
  }
  const std::string& path() const override { return path_; }

 private:
  Status WritebackFd(int fd, size_t begin, size_t end, bool wait) {
    unsigned flags = SYNC_FILE_RANGE_WRITE;
    if (wait) flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
    if (::sync_file_range(fd, static_cast<off_t>(begin),
                          static_cast<off_t>(end - begin), flags) != 0)
      return Status::IOError("sync_file_range " + path_, errno);
    return Status::OK();
  }

  std::string path_;
  int fd_;
  std::byte* addr_;
  size_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }

 private:
  int fd_;
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

FileSystem* DefaultFileSystem() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return fs;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Result<std::unique_ptr<MappedRegion>> PosixFileSystem::Map(
    const std::string& path, size_t size, OpenMode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case OpenMode::kCreateOrOpen:
      flags |= O_RDWR | O_CREAT;
      break;
    case OpenMode::kOpenExisting:
      flags |= O_RDWR;
      break;
    case OpenMode::kReadOnly:
      flags |= O_RDONLY;
      break;
  }
  Fd f;
  f.fd = ::open(path.c_str(), flags, 0644);
  if (f.fd < 0) return Status::IOError("open " + path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return Status::IOError("fstat " + path, errno);
  if (mode != OpenMode::kReadOnly && static_cast<size_t>(st.st_size) < size) {
    // Allocate every block now: a full disk fails here instead of as SIGBUS on
    // a page fault later.
    int rc = ::posix_fallocate(f.fd, 0, static_cast<off_t>(size));
    if (rc != 0) {
      if (st.st_size == 0 && mode == OpenMode::kCreateOrOpen)
        ::unlink(path.c_str());
      return Status::IOError("fallocate " + path, rc);
    }
  }
  int prot = mode == OpenMode::kReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void* addr = ::mmap(nullptr, size, prot, MAP_SHARED, f.fd, 0);
  if (addr == MAP_FAILED) return Status::IOError("mmap " + path, errno);
  int fd = f.fd;
  f.fd = -1;  // the region keeps the descriptor for positional writes
  return std::unique_ptr<MappedRegion>(std::make_unique<PosixMappedRegion>(
      path, fd, static_cast<std::byte*>(addr), size));
}

Result<std::unique_ptr<MappedRegion>> PosixFileSystem::MapSparse(
    const std::string& path, size_t size, bool create) {
  Fd f;
  f.fd =
      ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (f.fd < 0) return Status::IOError("open " + path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return Status::IOError("fstat " + path, errno);
  if (static_cast<size_t>(st.st_size) < size) {
    // The full logical size, no blocks: the writer reserves them ahead of
    // itself (MappedRegion::Reserve).
    if (::ftruncate(f.fd, static_cast<off_t>(size)) != 0) {
      int err = errno;
      if (st.st_size == 0 && create) ::unlink(path.c_str());
      return Status::IOError("ftruncate " + path, err);
    }
  }
  void* addr =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, 0);
  if (addr == MAP_FAILED) return Status::IOError("mmap " + path, errno);
  // The mapping holds the file; `f` closes the descriptor.
  return std::unique_ptr<MappedRegion>(std::make_unique<PosixMappedRegion>(
      path, -1, static_cast<std::byte*>(addr), size));
}

Result<std::vector<DirEntry>> PosixFileSystem::ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound("no directory " + dir);
    return Status::IOError("opendir " + dir, errno);
  }
  std::vector<DirEntry> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::stat(JoinPath(dir, name).c_str(), &st) != 0) continue;
    out.push_back(
        DirEntry{name, static_cast<uint64_t>(st.st_size), S_ISDIR(st.st_mode)});
  }
  ::closedir(d);
  return out;
}

bool PosixFileSystem::Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<uint64_t> PosixFileSystem::FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::IOError("stat " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<int64_t> PosixFileSystem::ModifiedTimeMs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::IOError("stat " + path, errno);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 +
         st.st_mtim.tv_nsec / 1000000;
}

Status PosixFileSystem::CreateDirs(const std::string& dir) {
  if (dir.empty()) return Status::OK();
  // Most calls name one new directory in an existing parent (a new consume
  // queue's, on the dispatch thread): one mkdir. The walk from the root only
  // when a parent is missing.
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return Status::OK();
  if (errno != ENOENT) return Status::IOError("mkdir " + dir, errno);
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::IOError("mkdir " + cur, errno);
  }
  return Status::OK();
}

Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return Status::IOError("rename " + from + " to " + to, errno);
  return Status::OK();
}

Status PosixFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("no file " + path);
    return Status::IOError("unlink " + path, errno);
  }
  return Status::OK();
}

Status PosixFileSystem::SyncDir(const std::string& dir) {
  Fd f;
  f.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f.fd < 0) return Status::IOError("open dir " + dir, errno);
  if (::fsync(f.fd) != 0) return Status::IOError("fsync dir " + dir, errno);
  return Status::OK();
}

Result<std::string> PosixFileSystem::ReadFile(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no file " + path);
    return Status::IOError("open " + path, errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read " + path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status PosixFileSystem::WriteFile(const std::string& path,
                                  std::string_view data) {
  Fd f;
  f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd < 0) return Status::IOError("open " + path, errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(f.fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("write " + path, errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(f.fd) != 0)
    return Status::IOError("fdatasync " + path, errno);
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> PosixFileSystem::LockFile(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + path, errno);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EAGAIN || err == EACCES) {
      return Status::Busy("store is in use by another process (lock held on " +
                          path + ")");
    }
    return Status::IOError("lock " + path, err);
  }
  if (::pwrite(fd, "lock", 4, 0) != 4 || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("write " + path, err);
  }
  return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
}

Result<DiskUsage> PosixFileSystem::GetDiskUsage(const std::string& path) {
  struct statvfs sv {};
  if (::statvfs(path.c_str(), &sv) != 0)
    return Status::IOError("statvfs " + path, errno);
  DiskUsage u;
  u.total_bytes = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
  u.free_bytes = static_cast<uint64_t>(sv.f_bfree) * sv.f_frsize;
  u.avail_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
  return u;
}

}  // namespace thruster::store::io
