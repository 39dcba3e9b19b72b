#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/io/file_system.h"

namespace thruster::testing {

// An in-memory FileSystem that keeps every file twice: the live bytes that
// mappings see, and a "durable" copy that only Sync()/WriteFile() update.
// SimulatePowerLoss() puts every file back to its durable bytes and removes
// files created since their directory was last synced. Thread-safe.
class MemFileSystem : public store::io::FileSystem {
 public:
  explicit MemFileSystem(const Clock* clock = SystemClock::Default())
      : clock_(clock) {}

  Result<std::unique_ptr<store::io::MappedRegion>> Map(
      const std::string& path, size_t size, store::io::OpenMode mode) override;
  Result<std::vector<store::io::DirEntry>> ListDir(
      const std::string& dir) override;
  bool Exists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Result<int64_t> ModifiedTimeMs(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Result<std::unique_ptr<store::io::FileLock>> LockFile(
      const std::string& path) override;
  Result<store::io::DiskUsage> GetDiskUsage(const std::string& path) override;

  void SimulatePowerLoss();
  // A power cut at this instant, as a disk with a volatile cache sees it:
  // synced bytes survive; each unsynced 4 KiB page comes back old, new, or
  // torn (new for its first few 512-byte sectors, old after), chosen by
  // `seed`; of the files created in a directory since it was last synced the
  // oldest few survive (a journal commits them in order), and an unsynced
  // rename is undone or kept, by the same draw. Until
  // RestorePower() every call that changes a file (map-create, sync, write,
  // rename, remove, directory sync) fails with EIO, so nothing the dying
  // process still does after the cut reaches the "disk".
  void CutPower(uint64_t seed);
  void RestorePower();
  bool power_off();
  void SetDiskUsage(store::io::DiskUsage u);
  void SetModifiedTimeForTesting(const std::string& path, int64_t ms);
  // Writes raw bytes into a file's live and durable copies (to plant corruption
  // in tests).
  void PatchForTesting(const std::string& path, size_t pos,
                       std::string_view bytes);

  struct File {
    std::shared_ptr<std::vector<std::byte>> live;
    std::vector<std::byte> durable;
    int64_t mtime_ms = 0;
  };

 private:
  friend class MemRegion;
  Status SyncRange(const std::string& path,
                 const std::shared_ptr<std::vector<std::byte>>& live, size_t b,
                 size_t e);
  void ReleaseLock(const std::string& path);

  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, File> files_;
  std::set<std::string> dirs_;
  std::set<std::string>
      unsynced_creates_;  // files created since their directory was synced
  std::set<std::string> locks_;
  // Renamed since their directory was synced: new name → old name.
  std::map<std::string, std::string> unsynced_renames_;
  bool power_off_ = false;
  store::io::DiskUsage usage_{uint64_t{100} << 30, uint64_t{80} << 30,
                              uint64_t{80} << 30};
};

}  // namespace thruster::testing
