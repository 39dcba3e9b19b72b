#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/clock.h"
#include "common/mutex.h"

// Which written-back CommitLog pages the `flush` thread drops from the page
// cache (commitLogCacheKeepMb). Dropped frames are reused for the pages ahead
// of the writer, which is far cheaper than fresh memory where the host takes
// free guest memory back (see store/README.md).
//
//   commitLogCacheKeepMb = 0   keep every page (RocketMQ's behaviour)
//   commitLogCacheKeepMb = N   keep the last N MiB behind the writer
//   commitLogCacheKeepMb = -1  (default) keep what live readers still have to
//                              read: from the lowest phys offset a reader
//                              source reports up to the writer, at least
//                              kMinKeepBytes, at most the in-memory share of
//                              RAM (accessMessageInMemoryMaxRatio), beyond
//                              which RocketMQ treats a pull as reading from
//                              disk anyway
//
// Whatever the setting, nothing at or beyond the dispatch floor is dropped.
//
// Lifecycle: built by the CommitLog; the reader source may be set or replaced
// at any time. Thread-safe: DropBelow runs on the `flush` thread, the source
// is set from the broker's start-up. `clock` must outlive this object; the
// source must stay callable until it is replaced or this object is destroyed.
namespace thruster::store {

class CacheKeepPolicy {
 public:
  // The lowest phys offset a live consumer still has to read; nullopt when no
  // consumer has anything left to read (or none is live).
  using ReaderFloorSource = std::function<std::optional<int64_t>()>;

  // Below this the automatic keep never goes: a tailing consumer's committed
  // offset lags its reads by the client's commit interval.
  static constexpr int64_t kMinKeepBytes = int64_t{256} << 20;
  // How often the reader source is asked (it walks every queue of every
  // online group).
  static constexpr int64_t kReaderFloorRefreshMs = 1000;

  // `keep_mb`: commitLogCacheKeepMb. `in_memory_bytes`: RAM ×
  // accessMessageInMemoryMaxRatio / 100.
  CacheKeepPolicy(int32_t keep_mb, int64_t in_memory_bytes, const Clock* clock)
      : keep_mb_(keep_mb), in_memory_bytes_(in_memory_bytes), clock_(clock) {}

  // RAM × `ratio` / 100 (accessMessageInMemoryMaxRatio): what RocketMQ counts
  // as the part of the log a pull still finds in memory.
  static int64_t InMemoryBytes(int32_t ratio);

  void SetReaderFloorSource(ReaderFloorSource source) TH_EXCLUDES(mu_);

  // Pages wholly below the returned phys offset may leave the page cache; -1
  // when none may. `write_pos`: the CommitLog's max written offset;
  // `dispatch_floor`: where dispatch reads next (-1: no floor).
  int64_t DropBelow(int64_t write_pos, int64_t dispatch_floor) TH_EXCLUDES(mu_);

  // The reader floor last used by DropBelow (tests, runtime info).
  std::optional<int64_t> reader_floor() const TH_EXCLUDES(mu_);

 private:
  // Bytes to keep behind the writer.
  int64_t KeepBytes(int64_t write_pos) TH_REQUIRES(mu_);

  const int32_t keep_mb_;
  const int64_t in_memory_bytes_;
  const Clock* clock_;
  mutable Mutex mu_;
  ReaderFloorSource source_ TH_GUARDED_BY(mu_);
  std::optional<int64_t> reader_floor_ TH_GUARDED_BY(mu_);
  // Monotonic ms of the last call of source_; -1 before the first.
  int64_t asked_at_ms_ TH_GUARDED_BY(mu_) = -1;
};

}  // namespace thruster::store
