#include "tests/support/mem_file_system.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace thruster::testing {

using store::io::DirEntry;
using store::io::DiskUsage;
using store::io::FileLock;
using store::io::MappedRegion;
using store::io::OpenMode;

class MemRegion final : public MappedRegion {
 public:
  MemRegion(MemFileSystem* fs, std::string path,
            std::shared_ptr<std::vector<std::byte>> live, size_t size)
      : fs_(fs), path_(std::move(path)), live_(std::move(live)), size_(size) {}
  std::span<std::byte> bytes() override { return {live_->data(), size_}; }
  Status Sync(size_t begin, size_t end) override {
    fs_->SyncRange(path_, live_, begin, std::min(end, size_));
    return Status::OK();
  }
  Status Lock() override { return Status::OK(); }
  Status Unlock() override { return Status::OK(); }
  void Advise(store::io::Advice) override {}
  Status PopulateWrite(size_t, size_t) override {
    return Status::OK();
  }  // memory is always "warm"
  Status Write(size_t pos, std::span<const std::byte> data) override {
    if (pos + data.size() > size_)
      return Status::IOError("write past the end of " + path_);
    if (!data.empty())
      std::memcpy(live_->data() + pos, data.data(), data.size());
    return Status::OK();
  }
  Status WriteZerosAndSync() override {
    std::memset(live_->data(), 0, size_);
    return Sync(0, size_);
  }
  const std::string& path() const override { return path_; }

 private:
  MemFileSystem* fs_;
  std::string path_;
  std::shared_ptr<std::vector<std::byte>> live_;
  size_t size_;
};

namespace {
class MemLock final : public FileLock {
 public:
  explicit MemLock(std::function<void()> release)
      : release_(std::move(release)) {}
  ~MemLock() override { release_(); }

 private:
  std::function<void()> release_;
};
}  // namespace

Result<std::unique_ptr<MappedRegion>> MemFileSystem::Map(
    const std::string& path, size_t size, OpenMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (mode != OpenMode::kCreateOrOpen)
      return Status::IOError("open " + path + ": no such file");
    if (!dirs_.count(store::io::DirName(path)))
      return Status::IOError("open " + path + ": no directory");
    File f;
    f.live = std::make_shared<std::vector<std::byte>>(size);
    f.mtime_ms = clock_->NowMs();
    it = files_.emplace(path, std::move(f)).first;
    unsynced_creates_.insert(path);
  }
  File& f = it->second;
  if (f.live->size() < size) {
    if (mode == OpenMode::kReadOnly)
      return Status::IOError("mmap " + path + ": beyond end of file");
    auto grown = std::make_shared<std::vector<std::byte>>(*f.live);
    grown->resize(size);
    f.live = grown;
  }
  return std::unique_ptr<MappedRegion>(
      std::make_unique<MemRegion>(this, path, f.live, size));
}

void MemFileSystem::SyncRange(
    const std::string& path,
    const std::shared_ptr<std::vector<std::byte>>& live, size_t b, size_t e) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end() || it->second.live != live || b >= e) return;
  File& f = it->second;
  if (f.durable.size() < live->size()) f.durable.resize(live->size());
  std::memcpy(f.durable.data() + b, live->data() + b, e - b);
  f.mtime_ms = clock_->NowMs();
}

Result<std::vector<DirEntry>> MemFileSystem::ListDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(dir)) return Status::NotFound("no directory " + dir);
  std::vector<DirEntry> out;
  std::string prefix = dir + "/";
  for (const auto& [path, f] : files_) {
    if (path.rfind(prefix, 0) == 0 &&
        path.find('/', prefix.size()) == std::string::npos) {
      out.push_back(
          DirEntry{path.substr(prefix.size()), f.live->size(), false});
    }
  }
  for (const auto& d : dirs_) {
    if (d.rfind(prefix, 0) == 0 && d.size() > prefix.size() &&
        d.find('/', prefix.size()) == std::string::npos) {
      out.push_back(DirEntry{d.substr(prefix.size()), 0, true});
    }
  }
  return out;
}

bool MemFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.count(path) || dirs_.count(path);
}

Result<uint64_t> MemFileSystem::FileSize(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end())
    return Status::IOError("stat " + path + ": no such file");
  return static_cast<uint64_t>(it->second.live->size());
}

Result<int64_t> MemFileSystem::ModifiedTimeMs(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end())
    return Status::IOError("stat " + path + ": no such file");
  return it->second.mtime_ms;
}

Status MemFileSystem::CreateDirs(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (!cur.empty()) dirs_.insert(cur);
  }
  return Status::OK();
}

Status MemFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end())
    return Status::IOError("rename " + from + ": no such file");
  File f = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(f);
  unsynced_creates_.erase(from);
  unsynced_creates_.insert(to);
  return Status::OK();
}

Status MemFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (files_.erase(path) == 0) return Status::NotFound("no file " + path);
  unsynced_creates_.erase(path);
  return Status::OK();
}

Status MemFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = unsynced_creates_.begin(); it != unsynced_creates_.end();) {
    if (store::io::DirName(*it) == dir) {
      it = unsynced_creates_.erase(it);
    } else {
      ++it;
    }
  }
  return Status::OK();
}

Result<std::string> MemFileSystem::ReadFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("no file " + path);
  return std::string(reinterpret_cast<const char*>(it->second.live->data()),
                     it->second.live->size());
}

Status MemFileSystem::WriteFile(const std::string& path,
                                std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(store::io::DirName(path)))
    return Status::IOError("open " + path + ": no directory");
  auto it = files_.find(path);
  if (it == files_.end()) {
    unsynced_creates_.insert(path);
    it = files_.emplace(path, File{}).first;
  }
  File& f = it->second;
  f.live = std::make_shared<std::vector<std::byte>>(data.size());
  if (!data.empty()) std::memcpy(f.live->data(), data.data(), data.size());
  f.durable = *f.live;
  f.mtime_ms = clock_->NowMs();
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> MemFileSystem::LockFile(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (locks_.count(path))
    return Status::Busy("store is in use by another process (lock held on " +
                        path + ")");
  locks_.insert(path);
  return std::unique_ptr<FileLock>(
      std::make_unique<MemLock>([this, path] { ReleaseLock(path); }));
}

void MemFileSystem::ReleaseLock(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  locks_.erase(path);
}

Result<DiskUsage> MemFileSystem::GetDiskUsage(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  return usage_;
}

void MemFileSystem::SetDiskUsage(DiskUsage u) {
  std::lock_guard<std::mutex> lock(mu_);
  usage_ = u;
}

void MemFileSystem::SetModifiedTimeForTesting(const std::string& path,
                                              int64_t ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second.mtime_ms = ms;
}

void MemFileSystem::PatchForTesting(const std::string& path, size_t pos,
                                    std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;
  File& f = it->second;
  if (pos + bytes.size() > f.live->size()) return;
  std::memcpy(f.live->data() + pos, bytes.data(), bytes.size());
  if (f.durable.size() < f.live->size()) f.durable.resize(f.live->size());
  std::memcpy(f.durable.data() + pos, bytes.data(), bytes.size());
}

void MemFileSystem::SimulatePowerLoss() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : unsynced_creates_) files_.erase(p);
  unsynced_creates_.clear();
  for (auto& [path, f] : files_) {
    // A fresh live buffer: mappings made before the "crash" keep the old one
    // and are discarded.
    auto live = std::make_shared<std::vector<std::byte>>(f.live->size());
    size_t n = std::min(f.durable.size(), live->size());
    if (n > 0) std::memcpy(live->data(), f.durable.data(), n);
    f.live = live;
  }
  locks_.clear();
}

}  // namespace thruster::testing
