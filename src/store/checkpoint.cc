#include "store/checkpoint.h"

#include "common/logging.h"

namespace thruster::store {

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(io::FileSystem* fs,
                                                     const std::string& path) {
  bool existed = fs->Exists(path);
  if (existed) {
    TH_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(path));
    if (size < kCheckpointDataSize) {
      return Status::Corruption(
          fmt::format("{}: {} bytes, a checkpoint needs {}", path, size,
                      kCheckpointDataSize));
    }
  }
  TH_ASSIGN_OR_RETURN(auto region, fs->Map(path, kCheckpointFileSize,
                                           io::OpenMode::kCreateOrOpen));
  TH_ASSIGN_OR_RETURN(CheckpointData d, DecodeCheckpoint(region->bytes()));
  std::unique_ptr<Checkpoint> cp(new Checkpoint(std::move(region)));
  cp->physic_ = d.physic_msg_timestamp;
  cp->logics_ = d.logics_msg_timestamp;
  cp->index_ = d.index_msg_timestamp;
  cp->master_flushed_ = d.master_flushed_offset;
  cp->confirm_ = d.confirm_phy_offset;
  if (!existed) TH_RETURN_IF_ERROR(fs->SyncDir(io::DirName(path)));
  return cp;
}

CheckpointData Checkpoint::Get() const {
  CheckpointData d;
  d.physic_msg_timestamp = physic_.load(std::memory_order_relaxed);
  d.logics_msg_timestamp = logics_.load(std::memory_order_relaxed);
  d.index_msg_timestamp = index_.load(std::memory_order_relaxed);
  d.master_flushed_offset = master_flushed_.load(std::memory_order_relaxed);
  d.confirm_phy_offset = confirm_.load(std::memory_order_relaxed);
  return d;
}

Status Checkpoint::Flush() {
  MutexLock lock(&flush_mu_);
  EncodeCheckpoint(Get(), region_->bytes());
  return region_->Sync(0, kCheckpointDataSize);
}

}  // namespace thruster::store
