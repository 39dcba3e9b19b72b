#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "store/io/file_system.h"
#include "store/timer_format.h"

namespace thruster::store {

// RocketMQ 5's `timerwheel` file (spec/schedule-and-timer.md §6.1): 1 209 600
// slots of 32 bytes, mapped whole; slot i holds the timerlog chain of the
// messages due at time units (timeMs / precision) ≡ i (mod slots). A slot that
// holds another time reads as empty, so the wheel never needs clearing.
//
// Lifecycle: Open() → Get/Put → Sync() → destroy. Not thread-safe: confined to
// the timer service's thread. `fs` must outlive it.
class TimerWheel {
 public:
  // Maps `path` (creating it zero-filled); InvalidArgument when it exists with
  // another non-zero length, as RocketMQ refuses it.
  static Result<std::unique_ptr<TimerWheel>> Open(io::FileSystem* fs,
                                                  const std::string& path,
                                                  int64_t precision_ms);

  // The slot for `time_ms`; empty (first/last -1, num 0, time units set) when
  // the stored slot holds another time.
  timer_format::Slot Get(int64_t time_ms) const;
  // Stores `slot` at the index of its time units.
  void Put(const timer_format::Slot& slot);
  // Every stored slot, whatever time it holds (recovery scans them).
  timer_format::Slot AtIndex(int64_t index) const;
  void PutAtIndex(int64_t index, const timer_format::Slot& slot);
  // The time units stored at `index` (0: never used), without decoding the
  // rest; for scans of the whole wheel.
  int64_t TimeUnitsAtIndex(int64_t index) const;
  // Makes the mapped bytes durable.
  Status Sync();

  int64_t precision_ms() const { return precision_ms_; }
  int64_t TimeUnits(int64_t time_ms) const { return time_ms / precision_ms_; }

 private:
  TimerWheel(std::unique_ptr<io::MappedRegion> region, int64_t precision_ms)
      : region_(std::move(region)), precision_ms_(precision_ms) {}
  std::unique_ptr<io::MappedRegion> region_;
  const int64_t precision_ms_;
};

}  // namespace thruster::store
