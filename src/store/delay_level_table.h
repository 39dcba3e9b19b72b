#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

// RocketMQ 4.x delay levels (spec/schedule-and-timer.md §2.1, store spec §4.2):
// the `messageDelayLevel` table, "1s 5s 10s ..." where item i (1-based) is the
// delay of level i. A message with `DELAY=L` is parked in SCHEDULE_TOPIC_XXXX
// queue L-1 and its consume-queue unit's tagsCode is its delivery time.
//
// Immutable once parsed; thread-safe to share.
namespace thruster::store {

// The system topic delayed messages wait in (RocketMQ's
// TopicValidator.RMQ_SYS_SCHEDULE_TOPIC).
inline constexpr std::string_view kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
// RocketMQ's default messageDelayLevel.
inline constexpr std::string_view kDefaultMessageDelayLevel =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

// The `DELAY` property's value as Integer.parseInt reads it (an optional sign
// and decimal digits); nullopt when it is not a number.
std::optional<int32_t> ParseDelayLevel(std::string_view text);

class DelayLevelTable {
 public:
  // The default table (18 levels).
  DelayLevelTable();
  // Items separated by single spaces, each a decimal count and one unit letter
  // s, m, h or d. InvalidArgument naming the bad item (RocketMQ refuses to
  // start then).
  static Result<DelayLevelTable> Parse(std::string_view text);
  // Parse(text), or the default table when it does not parse (a config file's
  // table was checked when it was read; this covers one set in code).
  static DelayLevelTable ParseOrDefault(std::string_view text) {
    Result<DelayLevelTable> t = Parse(text);
    return t.ok() ? *t : DelayLevelTable();
  }

  int max_level() const { return static_cast<int>(delays_ms_.size()); }
  // Delay of `level` (1-based) in ms; a level outside the table counts as 1 s
  // (store spec §4.2), a level above the table as the last one.
  int64_t DelayMs(int level) const;
  // The tagsCode of a parked record: its store time plus the delay of
  // min(level, max_level()).
  int64_t DeliverTimestamp(int level, int64_t store_timestamp) const {
    return store_timestamp + DelayMs(level);
  }

 private:
  explicit DelayLevelTable(std::vector<int64_t> delays_ms)
      : delays_ms_(std::move(delays_ms)) {}
  std::vector<int64_t> delays_ms_;
};

}  // namespace thruster::store
