#pragma once

#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

// A thin wrapper over the logging backend: one named logger per module,
// format-string messages.
//   TH_LOG(store, kInfo, "rolled to segment {} at {}", name, phys);
namespace thruster::logging {

enum class Level { kDebug, kInfo, kWarn, kError };

// Returns the logger of a module ("store", "remoting", ...); created on first
// use. Thread-safe.
spdlog::logger* Get(std::string_view module);
// Sets the level of every logger, present and future. kInfo unless
// THRUSTER_LOG_LEVEL says otherwise. Thread-safe; takes effect at once, so a
// running server can change it (SIGHUP, UPDATE_BROKER_CONFIG's logLevel).
void SetLevel(Level level);
// The level SetLevel last set (or the start-up one).
Level GetLevel();
// "DEBUG", "INFO", "WARN" (or "WARNING"), "ERROR", any case; InvalidArgument
// otherwise.
Result<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

// Where the loggers write. Tests and tools keep the default (stderr); the
// servers choose once at startup from their config (logTarget, logDir, ...).
enum class Target { kStderr, kStdout, kFile };

struct SinkOptions {
  Target target = Target::kStderr;
  // kFile: the directory of the files (created if missing). One file per
  // module group, named as RocketMQ names its logs (FileNameOf).
  std::string dir;
  // kFile: the file of a module without a RocketMQ log of its own
  // ("broker_default.log", "namesrv_default.log").
  std::string default_file = "default.log";
  // kFile: a file reaching this size is renamed NAME.1.log (NAME.1 to NAME.2,
  // ...) and a new one begun; at most max_files old files are kept.
  size_t max_file_size = size_t{128} << 20;
  size_t max_files = 10;
};

// Sends every logger, present and future, to `options`' sink. IOError when the
// directory or a file cannot be created (the previous sinks stay then).
// Thread-safe; messages being logged meanwhile go to the old or the new sink.
Status Configure(const SinkOptions& options);
// The file `module`'s messages go to under Target::kFile: RocketMQ's log for
// that group (broker.log, store.log, remoting.log, namesrv.log, ...), else
// `default_file`.
std::string FileNameOf(std::string_view module, std::string_view default_file);

constexpr spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace thruster::logging

#define TH_LOG(module, level, ...)                                     \
  do {                                                                 \
    auto* th_logger__ = ::thruster::logging::Get(#module);             \
    constexpr auto th_lvl__ =                                          \
        ::thruster::logging::ToSpd(::thruster::logging::Level::level); \
    if (th_logger__->should_log(th_lvl__))                             \
      th_logger__->log(th_lvl__, __VA_ARGS__);                         \
  } while (0)
