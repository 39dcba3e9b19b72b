#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "store/io/file_system.h"
#include "store/timer_format.h"

namespace thruster::store {

// RocketMQ 5's `timerlog/` (spec/schedule-and-timer.md §6.2): an append-only
// stream of 52-byte units in segments named by their base position (20
// digits), each unit chained to the previous unit of its wheel slot. A unit
// that does not fit with 16 bytes to spare ends its segment with a blank.
//
// Lifecycle: Open() → Recover() (finds the end) → Append/Read → Sync().
// Not thread-safe: confined to the timer service's thread. `fs` must outlive
// it.
class TimerLog {
 public:
  static Result<std::unique_ptr<TimerLog>> Open(io::FileSystem* fs,
                                                const std::string& dir,
                                                int64_t segment_size);

  // Scans from `from_pos` (rounded down to a segment start, 0 when before the
  // first segment) to the first position holding no valid unit, calling
  // `on_unit(pos, unit)` for each; that position becomes the end: the bytes
  // after it in its segment are zeroed and later segments removed. Returns
  // the end.
  Result<int64_t> Recover(
      int64_t from_pos,
      const std::function<void(int64_t, const timer_format::Unit&)>& on_unit);

  // Appends `unit` and returns its position (readable at once, durable after
  // Sync()).
  Result<int64_t> Append(const timer_format::Unit& unit);
  // The unit at `pos`; nullopt when none is there.
  std::optional<timer_format::Unit> Read(int64_t pos) const;
  Status Sync();
  // Removes whole segments before the active one whose last unit references a
  // commit log offset below `min_phys` (the messages they index are gone).
  // Returns how many were removed.
  int RemoveSegmentsBelow(int64_t min_phys);

  int64_t end_pos() const { return end_pos_; }
  int64_t segment_size() const { return segment_size_; }
  int64_t min_pos() const {
    return segments_.empty() ? 0 : segments_.begin()->first;
  }

 private:
  TimerLog(io::FileSystem* fs, std::string dir, int64_t segment_size)
      : fs_(fs), dir_(std::move(dir)), segment_size_(segment_size) {}
  io::MappedRegion* Segment(int64_t base) const;
  Result<io::MappedRegion*> SegmentForWrite(int64_t base);
  std::string SegmentPath(int64_t base) const;

  io::FileSystem* fs_;
  const std::string dir_;
  const int64_t segment_size_;
  std::map<int64_t, std::unique_ptr<io::MappedRegion>> segments_;
  int64_t end_pos_ = 0;
};

}  // namespace thruster::store
