#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace thruster::logging {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

spdlog::level::level_enum& CurrentLevel() {
  static spdlog::level::level_enum level = [] {
    const char* env = std::getenv("THRUSTER_LOG_LEVEL");
    if (env == nullptr) return spdlog::level::info;
    return spdlog::level::from_str(env);
  }();
  return level;
}

std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>>& Loggers() {
  static std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>>
      loggers;
  return loggers;
}

}  // namespace

spdlog::logger* Get(std::string_view module) {
  thread_local std::map<std::string, spdlog::logger*, std::less<>> cache;
  if (auto it = cache.find(module); it != cache.end()) return it->second;
  std::lock_guard<std::mutex> lock(Mu());
  auto& loggers = Loggers();
  auto it = loggers.find(module);
  if (it == loggers.end()) {
    static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(module), sink);
    logger->set_level(CurrentLevel());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ [%n] %v");
    it = loggers.emplace(std::string(module), std::move(logger)).first;
  }
  cache.emplace(std::string(module), it->second.get());
  return it->second.get();
}

void SetLevel(Level level) {
  std::lock_guard<std::mutex> lock(Mu());
  CurrentLevel() = ToSpd(level);
  for (auto& [name, logger] : Loggers()) logger->set_level(ToSpd(level));
}

}  // namespace thruster::logging
