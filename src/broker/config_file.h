#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "store/io/file_system.h"

// The broker's `config/*.json` files (topics.json, consumerOffset.json),
// written with RocketMQ's ConfigManager protocol (store spec §1): rename the
// current file to `<name>.bak`, sync the directory, write the new content and
// fsync it, sync the directory again. A crash at any point leaves either a
// complete `<name>` or a complete `<name>.bak`.
//
// Not thread-safe: each manager serialises its own persists. `fs` must outlive
// the object.
namespace thruster::broker {

class ConfigFile {
 public:
  ConfigFile(store::io::FileSystem* fs, std::string path)
      : fs_(fs), path_(std::move(path)) {}

  // Replaces the file's content durably (protocol above).
  Status Write(std::string_view content);

  // The current content, checked by `valid`: `<name>` when it is present,
  // non-empty and valid, else
  // `<name>.bak` (a bad `<name>` is removed first). NotFound when neither
  // exists; Corruption when the files exist but none is valid.
  template <typename Valid>
  Result<std::string> Read(Valid valid) {
    Result<std::string> main = ReadOne(path_);
    if (main.ok() && !main->empty() && valid(*main)) return main;
    if (main.ok())
      fs_->Remove(path_)
          .IgnoreError();  // unreadable content; the backup decides
    Result<std::string> bak = ReadOne(BackupPath());
    if (bak.ok() && !bak->empty() && valid(*bak)) return bak;
    if (!main.ok() && !bak.ok())
      return Status::NotFound(path_ + " does not exist");
    return Status::Corruption("neither " + path_ +
                              " nor its .bak holds valid content");
  }

  const std::string& path() const { return path_; }
  std::string BackupPath() const { return path_ + ".bak"; }

 private:
  Result<std::string> ReadOne(const std::string& path);

  store::io::FileSystem* fs_;
  std::string path_;
};

}  // namespace thruster::broker
