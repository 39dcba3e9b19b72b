#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/log_config.h"
#include "common/properties.h"
#include "common/result.h"

// What thruster-broker and thruster-namesrv share: a RocketMQ-style config
// file with --key=value flags on top, logging set up from it, and SIGHUP's
// reload of the hot-reloadable keys.
namespace thruster::apps {

// Reads the arguments a command-line parser left over ("--key=value" or
// "--key value") into `out`; false, after saying why on stderr, on anything
// else.
bool ParseKeyValues(std::string_view program,
                    const std::vector<std::string>& args, Properties* out);

// The properties of the file at `path` (none when empty) with `overrides` set
// on top: flags win over the file.
Result<Properties> LoadConfig(const std::string& path,
                              const Properties& overrides);

// The keys a running server takes from a changed config file (SIGHUP) without
// a restart.
const std::vector<std::string_view>& HotReloadableKeys();

// What a reload did, for the log and for tests.
struct ReloadReport {
  std::vector<std::string> applied;        // hot keys whose value changed
  std::vector<std::string> needs_restart;  // other keys that changed
};

// SIGHUP: re-reads `path` (flags in `overrides` still win), applies the hot
// keys whose value differs from `*running` (logLevel: logging::SetLevel) and
// names every other changed key as needing a restart. On OK `*running` holds
// the hot keys' new values. A file that cannot be read or holds a bad hot
// value changes nothing and returns why.
Result<ReloadReport> ReloadHotKeys(const std::string& path,
                                   const Properties& overrides,
                                   std::string_view default_log_file,
                                   Properties* running);

}  // namespace thruster::apps
