#include "tests/support/mem_file_system.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <random>

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
    return fs_->SyncRange(path_, live_, begin, std::min(end, size_));
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
Status PowerOff(const std::string& what) {
  return Status::IOError(what + " (power is off)", EIO);
}

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
  if (power_off_ && (it == files_.end() || mode != OpenMode::kReadOnly))
    return PowerOff("open " + path);
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

Status MemFileSystem::SyncRange(
    const std::string& path,
    const std::shared_ptr<std::vector<std::byte>>& live, size_t b, size_t e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (power_off_) return PowerOff("msync " + path);
  auto it = files_.find(path);
  if (it == files_.end() || it->second.live != live || b >= e)
    return Status::OK();
  File& f = it->second;
  if (f.durable.size() < live->size()) f.durable.resize(live->size());
  std::memcpy(f.durable.data() + b, live->data() + b, e - b);
  f.mtime_ms = clock_->NowMs();
  return Status::OK();
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
  if (power_off_) return PowerOff("mkdir " + dir);
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
  if (power_off_) return PowerOff("rename " + from);
  auto it = files_.find(from);
  if (it == files_.end())
    return Status::IOError("rename " + from + ": no such file");
  File f = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(f);
  if (unsynced_creates_.erase(from) > 0) {
    unsynced_creates_.insert(to);
  } else {
    auto prev = unsynced_renames_.find(from);
    std::string origin = from;
    if (prev != unsynced_renames_.end()) {
      origin = prev->second;
      unsynced_renames_.erase(prev);
    }
    unsynced_renames_[to] = origin;
  }
  return Status::OK();
}

Status MemFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (power_off_) return PowerOff("unlink " + path);
  unsynced_renames_.erase(path);
  if (files_.erase(path) == 0) return Status::NotFound("no file " + path);
  unsynced_creates_.erase(path);
  return Status::OK();
}

Status MemFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (power_off_) return PowerOff("fsync " + dir);
  for (auto it = unsynced_renames_.begin(); it != unsynced_renames_.end();) {
    if (store::io::DirName(it->first) == dir) {
      it = unsynced_renames_.erase(it);
    } else {
      ++it;
    }
  }
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
  if (power_off_) return PowerOff("write " + path);
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
  for (const auto& r : unsynced_renames_) files_.erase(r.first);
  unsynced_renames_.clear();
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

void MemFileSystem::CutPower(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937_64 rng(seed);
  constexpr size_t kPage = 4096;
  constexpr size_t kSector = 512;
  // Directory entries first: an unsynced rename is undone or kept, an
  // unsynced create survives or vanishes.
  for (const auto& [to, from] : unsynced_renames_) {
    auto it = files_.find(to);
    if (it == files_.end() || rng() % 2 == 0) continue;
    File f = std::move(it->second);
    files_.erase(it);
    files_[from] = std::move(f);
  }
  unsynced_renames_.clear();
  // Creates in one directory reach the disk in order (a journal commits them
  // in order): a random number of the oldest survive. Segment names grow with
  // creation order, so name order stands in for it.
  std::map<std::string, std::vector<std::string>> by_dir;
  for (const auto& p : unsynced_creates_)
    by_dir[store::io::DirName(p)].push_back(p);
  for (auto& [dir, created] : by_dir) {
    size_t keep = rng() % (created.size() + 1);
    for (size_t i = keep; i < created.size(); ++i) files_.erase(created[i]);
  }
  unsynced_creates_.clear();
  for (auto& [path, f] : files_) {
    const size_t n = f.live->size();
    std::vector<std::byte> disk = f.durable;
    disk.resize(n);
    for (size_t page = 0; page < n; page += kPage) {
      const size_t end = std::min(n, page + kPage);
      if (std::memcmp(disk.data() + page, f.live->data() + page,
                      end - page) == 0)
        continue;
      size_t keep = 0;  // bytes of the new content that reached the platter
      switch (rng() % 4) {
        case 0:
        case 1:
          break;  // the old page
        case 2:
          keep = end - page;  // the new page
          break;
        default:  // torn: the first sectors new, the rest old
          keep = std::min(end - page, kSector * (1 + rng() % (kPage / kSector - 1)));
          break;
      }
      if (keep > 0) std::memcpy(disk.data() + page, f.live->data() + page, keep);
    }
    // A fresh live buffer: mappings made before the cut keep the old one and
    // are discarded.
    f.durable = disk;
    f.live = std::make_shared<std::vector<std::byte>>(std::move(disk));
  }
  locks_.clear();
  power_off_ = true;
}

void MemFileSystem::RestorePower() {
  std::lock_guard<std::mutex> lock(mu_);
  power_off_ = false;
}

bool MemFileSystem::power_off() {
  std::lock_guard<std::mutex> lock(mu_);
  return power_off_;
}

}  // namespace thruster::testing
