#include "store/timer_checkpoint.h"

namespace thruster::store {

namespace tf = timer_format;

Result<std::unique_ptr<TimerCheckpoint>> TimerCheckpoint::Open(
    io::FileSystem* fs, const std::string& path) {
  const bool existed = fs->Exists(path);
  if (existed) {
    Result<uint64_t> size = fs->FileSize(path);
    if (!size.ok()) return size.status();
    if (*size < tf::kCheckpointSize)
      return Status::Corruption(path + " is too short for a timer checkpoint");
  }
  Result<std::unique_ptr<io::MappedRegion>> region =
      fs->Map(path, tf::kCheckpointFileSize, io::OpenMode::kCreateOrOpen);
  if (!region.ok()) return region.status();
  return std::unique_ptr<TimerCheckpoint>(
      new TimerCheckpoint(std::move(region).value(), existed));
}

tf::Checkpoint TimerCheckpoint::Read() const {
  return tf::DecodeCheckpoint(region_->bytes());
}

Status TimerCheckpoint::Write(const tf::Checkpoint& c) {
  tf::EncodeCheckpoint(c, region_->bytes());
  return region_->Sync(0, tf::kCheckpointSize);
}

}  // namespace thruster::store
