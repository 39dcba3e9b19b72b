#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "store/io/file_system.h"
#include "store/timer_format.h"

namespace thruster::store {

// RocketMQ 5's `config/timercheck` (spec/schedule-and-timer.md §6.5): the
// timer store's progress, a 4096-byte mapped file of which 56 bytes are used.
// Lifecycle: Open() → Read/Write → destroy. Not thread-safe: confined to the
// timer service's thread. `fs` must outlive it.
class TimerCheckpoint {
 public:
  // Maps `path`; `existed` tells whether it was there before (a fresh store
  // has no progress to resume).
  static Result<std::unique_ptr<TimerCheckpoint>> Open(io::FileSystem* fs,
                                                       const std::string& path);
  bool existed() const { return existed_; }
  timer_format::Checkpoint Read() const;
  // Stores `c` and makes it durable.
  Status Write(const timer_format::Checkpoint& c);

 private:
  TimerCheckpoint(std::unique_ptr<io::MappedRegion> region, bool existed)
      : region_(std::move(region)), existed_(existed) {}
  std::unique_ptr<io::MappedRegion> region_;
  bool existed_;
};

}  // namespace thruster::store
