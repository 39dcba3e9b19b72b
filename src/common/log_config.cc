#include "common/log_config.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace thruster::logging {
namespace {

std::string HomeDir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0)
    return home;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir)
    return pw->pw_dir;
  return ".";
}

}  // namespace

std::string DefaultLogDir() { return HomeDir() + "/logs/rocketmqlogs"; }

Result<LogConfig> LogConfig::FromProperties(const Properties& props,
                                            std::string_view default_file) {
  LogConfig c;
  c.sink.target = Target::kFile;
  c.sink.default_file = std::string(default_file);
  TH_ASSIGN_OR_RETURN(std::string target, props.GetString("logTarget", "file"));
  if (target == "file") {
    c.sink.target = Target::kFile;
  } else if (target == "stdout") {
    c.sink.target = Target::kStdout;
  } else if (target == "stderr") {
    c.sink.target = Target::kStderr;
  } else {
    return Status::InvalidArgument(
        "logTarget must be file, stdout or stderr, not '" + target + "'");
  }
  TH_ASSIGN_OR_RETURN(c.sink.dir, props.GetString("logDir", DefaultLogDir()));
  if (c.sink.dir == "~" || c.sink.dir.rfind("~/", 0) == 0)
    c.sink.dir = HomeDir() + c.sink.dir.substr(1);
  if (c.sink.dir.empty())
    return Status::InvalidArgument("logDir must not be empty");
  TH_ASSIGN_OR_RETURN(int64_t max_size,
                      props.GetInt("logFileMaxSize",
                                   static_cast<int64_t>(c.sink.max_file_size)));
  if (max_size < 4096)
    return Status::InvalidArgument("logFileMaxSize must be at least 4096");
  c.sink.max_file_size = static_cast<size_t>(max_size);
  TH_ASSIGN_OR_RETURN(
      int64_t max_index,
      props.GetInt("logFileMaxIndex", static_cast<int64_t>(c.sink.max_files)));
  // spdlog keeps at most 200000 rotated files.
  if (max_index < 1 || max_index > 10000)
    return Status::InvalidArgument("logFileMaxIndex must be in 1..10000");
  c.sink.max_files = static_cast<size_t>(max_index);
  TH_ASSIGN_OR_RETURN(std::string level, props.GetString("logLevel", "INFO"));
  Result<Level> parsed = ParseLevel(level);
  if (!parsed.ok())
    return Status::InvalidArgument("logLevel: " +
                                   std::string(parsed.status().message()));
  c.level = *parsed;
  return c;
}

Status Apply(const LogConfig& config) {
  TH_RETURN_IF_ERROR(Configure(config.sink));
  SetLevel(config.level);
  return Status::OK();
}

}  // namespace thruster::logging
