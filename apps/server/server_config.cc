#include "server/server_config.h"

#include <cstdio>
#include <set>

namespace thruster::apps {

bool ParseKeyValues(std::string_view program,
                    const std::vector<std::string>& args, Properties* out) {
  const std::string prog(program);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      std::fprintf(stderr, "%s: unexpected argument '%s'\n", prog.c_str(),
                   args[i].c_str());
      return false;
    }
    arg.remove_prefix(2);
    const size_t eq = arg.find('=');
    if (eq != std::string_view::npos) {
      out->Set(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
    } else if (i + 1 < args.size()) {
      out->Set(std::string(arg), args[++i]);
    } else {
      std::fprintf(stderr, "%s: --%s needs a value (--key=value)\n",
                   prog.c_str(), std::string(arg).c_str());
      return false;
    }
  }
  return true;
}

Result<Properties> LoadConfig(const std::string& path,
                              const Properties& overrides) {
  Properties props;
  if (!path.empty()) {
    Result<Properties> loaded = Properties::Load(path);
    if (!loaded.ok()) return loaded.status();
    props = std::move(loaded).value();
  }
  for (const auto& [k, v] : overrides.values()) props.Set(k, v);
  return props;
}

const std::vector<std::string_view>& HotReloadableKeys() {
  static const std::vector<std::string_view> kKeys = {"logLevel"};
  return kKeys;
}

Result<ReloadReport> ReloadHotKeys(const std::string& path,
                                   const Properties& overrides,
                                   std::string_view default_log_file,
                                   Properties* running) {
  TH_ASSIGN_OR_RETURN(Properties fresh, LoadConfig(path, overrides));
  // Validate before changing anything.
  TH_ASSIGN_OR_RETURN(
      logging::LogConfig log_config,
      logging::LogConfig::FromProperties(fresh, default_log_file));
  ReloadReport report;
  std::set<std::string, std::less<>> keys;
  for (const auto& [k, v] : fresh.values()) keys.insert(k);
  for (const auto& [k, v] : running->values()) keys.insert(k);
  for (const std::string& key : keys) {
    const bool in_fresh = fresh.Has(key), in_running = running->Has(key);
    if (in_fresh && in_running &&
        fresh.values().find(key)->second == running->values().find(key)->second)
      continue;
    bool hot = false;
    for (std::string_view h : HotReloadableKeys()) hot = hot || h == key;
    (hot ? report.applied : report.needs_restart).push_back(key);
  }
  for (const std::string& key : report.applied) {
    if (key == "logLevel") logging::SetLevel(log_config.level);
    if (fresh.Has(key)) {
      running->Set(key, fresh.values().find(key)->second);
    } else {
      // Back to the default: the key's absence is what `running` records.
      Properties kept;
      for (const auto& [k, v] : running->values())
        if (k != key) kept.Set(k, v);
      *running = std::move(kept);
    }
  }
  return report;
}

}  // namespace thruster::apps
