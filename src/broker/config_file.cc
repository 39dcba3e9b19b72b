#include "broker/config_file.h"

namespace thruster::broker {

Status ConfigFile::Write(std::string_view content) {
  const std::string dir = store::io::DirName(path_);
  TH_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  if (fs_->Exists(path_)) {
    TH_RETURN_IF_ERROR(fs_->Rename(path_, BackupPath()));
    TH_RETURN_IF_ERROR(fs_->SyncDir(dir));
  }
  TH_RETURN_IF_ERROR(fs_->WriteFile(path_, content));
  return fs_->SyncDir(dir);
}

Result<std::string> ConfigFile::ReadOne(const std::string& path) {
  if (!fs_->Exists(path)) return Status::NotFound(path);
  return fs_->ReadFile(path);
}

}  // namespace thruster::broker
