#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

// A thin wrapper over the logging backend: one named logger per module,
// format-string messages.
//   TH_LOG(store, kInfo, "rolled to segment {} at {}", name, phys);
namespace thruster::logging {

enum class Level { kDebug, kInfo, kWarn, kError };

// Returns the logger of a module ("store", "remoting", ...); created on first
// use. Thread-safe.
spdlog::logger* Get(std::string_view module);
// Sets the level of every logger, present and future. kInfo unless
// THRUSTER_LOG_LEVEL says otherwise.
void SetLevel(Level level);

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
