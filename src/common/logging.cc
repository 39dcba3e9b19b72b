#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "common/mutex.h"

namespace thruster::logging {
namespace {

Level FromSpd(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    default:
      return Level::kError;
  }
}

// %Q: the level as RocketMQ's logs spell it (INFO, WARN, ...).
class UpperLevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name = LevelName(FromSpd(msg.level));
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<UpperLevelFlag>();
  }
};

// %J: the syslog priority journald reads from a "<N>" line prefix
// (sd-daemon.h).
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    char digit = '6';
    switch (FromSpd(msg.level)) {
      case Level::kDebug:
        digit = '7';
        break;
      case Level::kInfo:
        digit = '6';
        break;
      case Level::kWarn:
        digit = '4';
        break;
      case Level::kError:
        digit = '3';
        break;
    }
    dest.push_back(digit);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<SyslogPriorityFlag>();
  }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<UpperLevelFlag>('Q');
  f->add_flag<SyslogPriorityFlag>('J');
  f->set_pattern(pattern);
  return f;
}

// The terminal and test pattern (unchanged), RocketMQ's file pattern (time,
// level, thread - message) with the module added, and journald's: no time
// (the journal stamps each line), the priority as a prefix.
constexpr const char* kStderrPattern = "%Y-%m-%d %H:%M:%S.%e %^%L%$ [%n] %v";
constexpr const char* kFilePattern = "%Y-%m-%d %H:%M:%S,%e %Q %t - [%n] %v";
constexpr const char* kJournalPattern = "<%J>%Q [%n] %v";

// The loggers made so far, the level for new ones and the sinks every logger
// writes through, shared by every thread. Each logger's only sink is a
// dist_sink whose targets Configure swaps under the dist_sink's own lock, so
// the raw logger pointers handed out (and cached per thread) stay valid.
struct Registry {
  Mutex mu;
  spdlog::level::level_enum level TH_GUARDED_BY(mu) = [] {
    const char* env = std::getenv("THRUSTER_LOG_LEVEL");
    if (env == nullptr) return spdlog::level::info;
    return spdlog::level::from_str(env);
  }();
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers
      TH_GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<spdlog::sinks::dist_sink_mt>,
           std::less<>>
      dists TH_GUARDED_BY(mu);
  SinkOptions options TH_GUARDED_BY(mu);
  // Target::kFile: one rotating sink per file name, shared by its modules.
  std::map<std::string, std::shared_ptr<spdlog::sinks::sink>, std::less<>> files
      TH_GUARDED_BY(mu);
  std::shared_ptr<spdlog::sinks::sink> console TH_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry registry;
  return registry;
}

std::shared_ptr<spdlog::sinks::sink> MakeConsoleSink(Target target) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (target == Target::kStdout) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    sink->set_formatter(MakeFormatter(kJournalPattern));
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    sink->set_formatter(MakeFormatter(kStderrPattern));
  }
  return sink;
}

// The sink `module` writes to under the registry's options; for files, opens
// the file on first use. Throws what spdlog throws when a file cannot be
// opened.
std::shared_ptr<spdlog::sinks::sink> SinkFor(Registry& r,
                                             std::string_view module)
    TH_REQUIRES(r.mu) {
  if (r.options.target != Target::kFile) {
    if (r.console == nullptr) r.console = MakeConsoleSink(r.options.target);
    return r.console;
  }
  std::string name = FileNameOf(module, r.options.default_file);
  auto it = r.files.find(name);
  if (it == r.files.end()) {
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        (std::filesystem::path(r.options.dir) / name).string(),
        r.options.max_file_size, r.options.max_files);
    sink->set_formatter(MakeFormatter(kFilePattern));
    it = r.files.emplace(std::move(name), std::move(sink)).first;
  }
  return it->second;
}

}  // namespace

spdlog::logger* Get(std::string_view module) {
  thread_local std::map<std::string, spdlog::logger*, std::less<>> cache;
  if (auto it = cache.find(module); it != cache.end()) return it->second;
  Registry& registry = GetRegistry();
  MutexLock lock(&registry.mu);
  auto& loggers = registry.loggers;
  auto it = loggers.find(module);
  if (it == loggers.end()) {
    std::shared_ptr<spdlog::sinks::sink> target;
    try {
      target = SinkFor(registry, module);
    } catch (const spdlog::spdlog_ex& e) {
      // The directory was writable when Configure checked it; fall back to
      // stderr rather than lose the module's messages.
      target = MakeConsoleSink(Target::kStderr);
      target->log(spdlog::details::log_msg(
          module, spdlog::level::err,
          std::string("cannot open log file: ") + e.what()));
    }
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>(
        std::vector<std::shared_ptr<spdlog::sinks::sink>>{target});
    auto logger = std::make_shared<spdlog::logger>(std::string(module), dist);
    logger->set_level(registry.level);
    // Lines reach the file (or journald's pipe) as they are logged: info and
    // above are rare by rule, debug is a diagnosis mode.
    logger->flush_on(spdlog::level::trace);
    registry.dists.emplace(std::string(module), std::move(dist));
    it = loggers.emplace(std::string(module), std::move(logger)).first;
  }
  cache.emplace(std::string(module), it->second.get());
  return it->second.get();
}

void SetLevel(Level level) {
  Registry& registry = GetRegistry();
  MutexLock lock(&registry.mu);
  registry.level = ToSpd(level);
  for (auto& [name, logger] : registry.loggers) logger->set_level(ToSpd(level));
}

Level GetLevel() {
  Registry& registry = GetRegistry();
  MutexLock lock(&registry.mu);
  return FromSpd(registry.level);
}

Result<Level> ParseLevel(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  if (upper == "DEBUG") return Level::kDebug;
  if (upper == "INFO") return Level::kInfo;
  if (upper == "WARN" || upper == "WARNING") return Level::kWarn;
  if (upper == "ERROR") return Level::kError;
  return Status::InvalidArgument("unknown log level '" + std::string(name) +
                                 "' (DEBUG, INFO, WARN or ERROR)");
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "INFO";
}

std::string FileNameOf(std::string_view module, std::string_view default_file) {
  // RocketMQ's logback groups (logback_broker.xml, logback_namesrv.xml);
  // replication writes to store.log there too.
  static const std::map<std::string_view, std::string_view> kFiles = {
      {"broker", "broker.log"},
      {"store", "store.log"},
      {"ha", "store.log"},
      {"remoting", "remoting.log"},
      {"namesrv", "namesrv.log"},
      {"transaction", "transaction.log"},
      {"lock", "lock.log"},
      {"filter", "filter.log"},
      {"stats", "stats.log"},
      {"watermark", "watermark.log"},
      {"protection", "protection.log"},
      {"pop", "pop.log"},
  };
  auto it = kFiles.find(module);
  return std::string(it != kFiles.end() ? it->second : default_file);
}

Status Configure(const SinkOptions& options) {
  if (options.target == Target::kFile) {
    if (options.dir.empty())
      return Status::InvalidArgument("log directory is empty");
    if (options.max_file_size == 0 || options.max_files == 0) {
      return Status::InvalidArgument(
          "log file size and count must be positive");
    }
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) {
      return Status::IOError("create log directory " + options.dir, ec.value());
    }
  }
  Registry& registry = GetRegistry();
  MutexLock lock(&registry.mu);
  SinkOptions old_options = registry.options;
  auto old_files = std::move(registry.files);
  auto old_console = std::move(registry.console);
  registry.files.clear();
  registry.console.reset();
  registry.options = options;
  std::vector<std::pair<spdlog::sinks::dist_sink_mt*,
                        std::shared_ptr<spdlog::sinks::sink>>>
      targets;
  try {
    // The default file always exists, so an operator finds the directory in
    // use even before a module has logged.
    if (options.target == Target::kFile) SinkFor(registry, "");
    for (auto& [module, dist] : registry.dists)
      targets.emplace_back(dist.get(), SinkFor(registry, module));
  } catch (const spdlog::spdlog_ex& e) {
    registry.options = old_options;
    registry.files = std::move(old_files);
    registry.console = std::move(old_console);
    return Status::IOError(std::string("open log file in ") + options.dir +
                           ": " + e.what());
  }
  for (auto& [dist, target] : targets) dist->set_sinks({target});
  return Status::OK();
}

}  // namespace thruster::logging
