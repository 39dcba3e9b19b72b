#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/io/file_system.h"
#include "tests/support/mem_file_system.h"

namespace thruster::testing {

// Wraps a FileSystem and injects failures: the Nth call of an operation fails
// (FailNth), or every call whose path contains a substring (FailPaths). Power
// loss is forwarded to the wrapped MemFileSystem. Thread-safe.
class FaultFileSystem : public store::io::FileSystem {
 public:
  enum class Op {
    kMap,
    kSync,
    kWriteFile,
    kRename,
    kRemove,
    kSyncDir,
    kCreateDirs,
    kLock,
    kWriteback,
    kDropCache,  // recorded only: DropCache cannot fail
    kReserve,    // MappedRegion::Reserve (fails with ENOSPC, a full disk)
    kAdvise,  // recorded only, as a RangeCall whose `begin` is the io::Advice
    kUnmap    // recorded only: Unmap cannot fail
  };
  // One MappedRegion::Writeback, DropCache or Reserve call as it reached this
  // file system. `base_offset` is the segment's offset from its 20-digit name
  // (-1 for other names), so begin/end can be read as stream offsets.
  struct RangeCall {
    std::string path;
    int64_t base_offset = -1;
    size_t begin = 0;
    size_t end = 0;
    bool wait = false;  // Writeback only
    int64_t stream_begin() const {
      return base_offset + static_cast<int64_t>(begin);
    }
    int64_t stream_end() const {
      return base_offset + static_cast<int64_t>(end);
    }
  };

  explicit FaultFileSystem(std::unique_ptr<FileSystem> base)
      : base_(std::move(base)) {}

  // The n-th call (1-based, counting from now) of `op` fails with an I/O error
  // (ENOSPC for kMap and kReserve, EIO else).
  void FailNth(Op op, int n);
  // Every call of `op` fails (as FailNth's would) until ClearFaults(): a disk
  // that stays full.
  void FailAll(Op op);
  // Every call of any operation on a path containing `substr` fails (empty:
  // stop).
  void FailPaths(std::string substr);
  void ClearFaults();
  // Every sync sleeps this long first (a hanging disk).
  void SetSyncDelayMs(int ms) { sync_delay_ms_.store(ms); }
  int sync_delay_ms() const { return sync_delay_ms_.load(); }
  int CallsForTesting(Op op);
  // Every kWriteback, kDropCache or kReserve call so far (failed ones
  // included), oldest first.
  std::vector<RangeCall> RangeCallsForTesting(Op op);
  void RecordRange(Op op, const std::string& path, size_t begin, size_t end,
                   bool wait);
  void SimulatePowerLoss();
  // Cuts the power (MemFileSystem::CutPower(seed)) when the n-th call (1-based,
  // counting from now) of any operation but kWriteback/kDropCache/kReserve
  // arrives; that call and every later one fails. 0 disarms.
  void CutPowerAtCall(int64_t n, uint64_t seed);
  // Whether the armed cut happened.
  bool power_cut();
  // The operation and path of the call the cut hit.
  std::pair<Op, std::string> cut_call();
  // Calls of every operation but kWriteback/kDropCache/kReserve so far.
  int64_t AllCallsForTesting();
  MemFileSystem* mem() { return dynamic_cast<MemFileSystem*>(base_.get()); }

  Result<std::unique_ptr<store::io::MappedRegion>> Map(
      const std::string& path, size_t size, store::io::OpenMode mode) override;
  Result<std::unique_ptr<store::io::MappedRegion>> MapSparse(
      const std::string& path, size_t size, bool create) override;
  Result<std::vector<store::io::DirEntry>> ListDir(
      const std::string& dir) override {
    return base_->ListDir(dir);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  Result<int64_t> ModifiedTimeMs(const std::string& path) override {
    return base_->ModifiedTimeMs(path);
  }
  Status CreateDirs(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::string> ReadFile(const std::string& path) override {
    return base_->ReadFile(path);
  }
  Status WriteFile(const std::string& path, std::string_view data) override;
  Result<std::unique_ptr<store::io::FileLock>> LockFile(
      const std::string& path) override;
  Result<store::io::DiskUsage> GetDiskUsage(const std::string& path) override {
    return base_->GetDiskUsage(path);
  }

  // Returns a non-OK status when this call of `op` on `path` must fail.
  Status Check(Op op, const std::string& path);

 private:
  std::unique_ptr<FileSystem> base_;
  std::mutex mu_;
  std::map<Op, int> calls_;
  std::map<Op, int> fail_at_;
  std::set<Op> fail_all_;  // guarded by mu_
  std::string fail_paths_;
  std::atomic<int> sync_delay_ms_{0};
  std::map<Op, std::vector<RangeCall>> range_calls_;  // guarded by mu_
  int64_t all_calls_ = 0;                             // guarded by mu_
  int64_t cut_at_ = 0;                                // guarded by mu_
  uint64_t cut_seed_ = 0;                             // guarded by mu_
  bool cut_done_ = false;                             // guarded by mu_
  std::pair<Op, std::string> cut_call_;               // guarded by mu_
};

}  // namespace thruster::testing
