#pragma once

#include <string>
#include <string_view>

#include "common/logging.h"
#include "common/properties.h"
#include "common/result.h"

// The servers' log settings, read from the same broker.conf / namesrv.conf as
// everything else. RocketMQ sets these in its logback files; the keys are
// Thruster's, the defaults RocketMQ's (~/logs/rocketmqlogs, 128 MiB files, ten
// kept):
//   logTarget=file|stdout|stderr  file: one file per module group under logDir;
//                                 stdout: for journald (systemd units use it)
//   logDir=~/logs/rocketmqlogs    a leading ~ is the user's home
//   logFileMaxSize=134217728      bytes before a file rotates
//   logFileMaxIndex=10            rotated files kept (NAME.1.log ...
//   NAME.10.log) logLevel=INFO                 DEBUG, INFO, WARN, ERROR;
//   hot-reloadable
// A plain value type.
namespace thruster::logging {

struct LogConfig {
  SinkOptions sink;
  Level level = Level::kInfo;

  // Reads the keys above (absent keys keep their defaults; `default_file` is
  // the process's catch-all file, e.g. "broker_default.log"); InvalidArgument
  // naming the key when a value is malformed.
  static Result<LogConfig> FromProperties(const Properties& props,
                                          std::string_view default_file);
};

// Configure(config.sink), then SetLevel(config.level).
Status Apply(const LogConfig& config);

// The default logDir: $HOME/logs/rocketmqlogs (the passwd entry's home when
// HOME is unset).
std::string DefaultLogDir();

}  // namespace thruster::logging
