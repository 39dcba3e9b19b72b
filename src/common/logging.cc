#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <map>
#include <string>

#include "common/mutex.h"

namespace thruster::logging {
namespace {

// The loggers made so far and the level for new ones, shared by every thread.
struct Registry {
  Mutex mu;
  spdlog::level::level_enum level TH_GUARDED_BY(mu) = [] {
    const char* env = std::getenv("THRUSTER_LOG_LEVEL");
    if (env == nullptr) return spdlog::level::info;
    return spdlog::level::from_str(env);
  }();
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers
      TH_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry registry;
  return registry;
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
    static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(module), sink);
    logger->set_level(registry.level);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ [%n] %v");
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

}  // namespace thruster::logging
