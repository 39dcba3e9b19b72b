#include "tests/support/fault_file_system.h"

#include <cerrno>
#include <chrono>
#include <thread>

#include "store/mapped_file.h"

namespace thruster::testing {

using store::io::MappedRegion;

namespace {
class FaultRegion final : public MappedRegion {
 public:
  FaultRegion(FaultFileSystem* fs, std::unique_ptr<MappedRegion> base)
      : fs_(fs), base_(std::move(base)) {}
  std::span<std::byte> bytes() override { return base_->bytes(); }
  Status Sync(size_t b, size_t e) override {
    TH_RETURN_IF_ERROR(fs_->Check(FaultFileSystem::Op::kSync, base_->path()));
    if (int ms = fs_->sync_delay_ms(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return base_->Sync(b, e);
  }
  Status Lock() override { return base_->Lock(); }
  Status Unlock() override { return base_->Unlock(); }
  void Advise(store::io::Advice a) override {
    fs_->RecordRange(FaultFileSystem::Op::kAdvise, base_->path(),
                     static_cast<size_t>(a), 0, false);
    base_->Advise(a);
  }
  Status PopulateWrite(size_t b, size_t e) override {
    return base_->PopulateWrite(b, e);
  }
  Status Write(size_t pos, std::span<const std::byte> data) override {
    return base_->Write(pos, data);
  }
  Status Writeback(size_t b, size_t e, bool wait) override {
    fs_->RecordRange(FaultFileSystem::Op::kWriteback, base_->path(), b, e,
                     wait);
    TH_RETURN_IF_ERROR(
        fs_->Check(FaultFileSystem::Op::kWriteback, base_->path()));
    return base_->Writeback(b, e, wait);
  }
  Status Reserve(size_t b, size_t e) override {
    fs_->RecordRange(FaultFileSystem::Op::kReserve, base_->path(), b, e, false);
    TH_RETURN_IF_ERROR(
        fs_->Check(FaultFileSystem::Op::kReserve, base_->path()));
    return base_->Reserve(b, e);
  }
  void DropCache(size_t b, size_t e) override {
    fs_->RecordRange(FaultFileSystem::Op::kDropCache, base_->path(), b, e,
                     false);
    base_->DropCache(b, e);
  }
  void Unmap(size_t b, size_t e) override {
    fs_->RecordRange(FaultFileSystem::Op::kUnmap, base_->path(), b, e, false);
    base_->Unmap(b, e);
  }
  Status WriteZerosAndSync() override {
    TH_RETURN_IF_ERROR(fs_->Check(FaultFileSystem::Op::kSync, base_->path()));
    return base_->WriteZerosAndSync();
  }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultFileSystem* fs_;
  std::unique_ptr<MappedRegion> base_;
};
}  // namespace

void FaultFileSystem::FailNth(Op op, int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_at_[op] = calls_[op] + n;
}

void FaultFileSystem::FailAll(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_.insert(op);
}

void FaultFileSystem::FailPaths(std::string substr) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_paths_ = std::move(substr);
}

void FaultFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_at_.clear();
  fail_all_.clear();
  fail_paths_.clear();
}

int FaultFileSystem::CallsForTesting(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[op];
}

std::vector<FaultFileSystem::RangeCall> FaultFileSystem::RangeCallsForTesting(
    Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  return range_calls_[op];
}

void FaultFileSystem::RecordRange(Op op, const std::string& path, size_t begin,
                                  size_t end, bool wait) {
  auto base = store::FileNameToOffset(path.substr(path.rfind('/') + 1));
  std::lock_guard<std::mutex> lock(mu_);
  range_calls_[op].push_back(
      RangeCall{path, base.ok() ? *base : -1, begin, end, wait});
}

void FaultFileSystem::SimulatePowerLoss() {
  if (auto* m = mem()) m->SimulatePowerLoss();
}

void FaultFileSystem::CutPowerAtCall(int64_t n, uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  cut_at_ = n > 0 ? all_calls_ + n : 0;
  cut_seed_ = seed;
  cut_done_ = false;
}

bool FaultFileSystem::power_cut() {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_done_;
}

std::pair<FaultFileSystem::Op, std::string> FaultFileSystem::cut_call() {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_call_;
}

int64_t FaultFileSystem::AllCallsForTesting() {
  std::lock_guard<std::mutex> lock(mu_);
  return all_calls_;
}

Status FaultFileSystem::Check(Op op, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = ++calls_[op];
  if (op != Op::kWriteback && op != Op::kDropCache && op != Op::kReserve) {
    if (++all_calls_ == cut_at_ && mem() != nullptr) {
      mem()->CutPower(cut_seed_);
      cut_done_ = true;
      cut_at_ = 0;
      cut_call_ = {op, path};
      return Status::IOError("power cut before this call on " + path, EIO);
    }
  }
  int err = op == Op::kMap || op == Op::kReserve ? ENOSPC : EIO;
  auto it = fail_at_.find(op);
  if (it != fail_at_.end() && it->second == n) {
    fail_at_.erase(it);
    return Status::IOError("injected fault on " + path, err);
  }
  if (fail_all_.count(op) != 0)
    return Status::IOError("injected fault on " + path, err);
  if (!fail_paths_.empty() && path.find(fail_paths_) != std::string::npos) {
    return Status::IOError("injected fault on " + path, err);
  }
  return Status::OK();
}

Result<std::unique_ptr<MappedRegion>> FaultFileSystem::Map(
    const std::string& path, size_t size, store::io::OpenMode mode) {
  TH_RETURN_IF_ERROR(Check(Op::kMap, path));
  auto r = base_->Map(path, size, mode);
  if (!r.ok()) return r.status();
  return std::unique_ptr<MappedRegion>(
      std::make_unique<FaultRegion>(this, std::move(r).value()));
}

Result<std::unique_ptr<MappedRegion>> FaultFileSystem::MapSparse(
    const std::string& path, size_t size, bool create) {
  TH_RETURN_IF_ERROR(Check(Op::kMap, path));
  auto r = base_->MapSparse(path, size, create);
  if (!r.ok()) return r.status();
  return std::unique_ptr<MappedRegion>(
      std::make_unique<FaultRegion>(this, std::move(r).value()));
}

Status FaultFileSystem::CreateDirs(const std::string& dir) {
  TH_RETURN_IF_ERROR(Check(Op::kCreateDirs, dir));
  return base_->CreateDirs(dir);
}
Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  TH_RETURN_IF_ERROR(Check(Op::kRename, from));
  return base_->Rename(from, to);
}
Status FaultFileSystem::Remove(const std::string& path) {
  TH_RETURN_IF_ERROR(Check(Op::kRemove, path));
  return base_->Remove(path);
}
Status FaultFileSystem::SyncDir(const std::string& dir) {
  TH_RETURN_IF_ERROR(Check(Op::kSyncDir, dir));
  return base_->SyncDir(dir);
}
Status FaultFileSystem::WriteFile(const std::string& path,
                                  std::string_view data) {
  TH_RETURN_IF_ERROR(Check(Op::kWriteFile, path));
  return base_->WriteFile(path, data);
}
Result<std::unique_ptr<store::io::FileLock>> FaultFileSystem::LockFile(
    const std::string& path) {
  TH_RETURN_IF_ERROR(Check(Op::kLock, path));
  return base_->LockFile(path);
}

}  // namespace thruster::testing
