#include "store/cache_keep_policy.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace thruster::store {

int64_t CacheKeepPolicy::InMemoryBytes(int32_t ratio) {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  const int64_t ram = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page
                                            : int64_t{24} << 30;
  return ram / 100 * ratio;
}

void CacheKeepPolicy::SetReaderFloorSource(ReaderFloorSource source) {
  MutexLock lock(&mu_);
  source_ = std::move(source);
  asked_at_ms_ = -1;  // ask the new source on the next pass
  reader_floor_.reset();
}

std::optional<int64_t> CacheKeepPolicy::reader_floor() const {
  MutexLock lock(&mu_);
  return reader_floor_;
}

int64_t CacheKeepPolicy::KeepBytes(int64_t write_pos) {
  if (keep_mb_ > 0) return int64_t{keep_mb_} << 20;
  const int64_t ceiling = std::max(kMinKeepBytes, in_memory_bytes_);
  if (!reader_floor_) return kMinKeepBytes;
  return std::clamp(write_pos - *reader_floor_, kMinKeepBytes, ceiling);
}

int64_t CacheKeepPolicy::DropBelow(int64_t write_pos, int64_t dispatch_floor) {
  if (keep_mb_ == 0) return -1;
  int64_t keep = 0;
  {
    ReaderFloorSource source;
    {
      MutexLock lock(&mu_);
      const int64_t now_ms = clock_->MonotonicNs() / 1000000;
      if (keep_mb_ < 0 && source_ &&
          (asked_at_ms_ < 0 ||
           now_ms - asked_at_ms_ >= kReaderFloorRefreshMs)) {
        asked_at_ms_ = now_ms;
        source = source_;
      }
    }
    // Asked outside the lock: the source takes the broker's own locks.
    std::optional<int64_t> floor;
    if (source) floor = source();
    MutexLock lock(&mu_);
    if (source) reader_floor_ = floor;
    keep = KeepBytes(write_pos);
  }
  int64_t drop_below = std::max<int64_t>(0, write_pos - keep);
  if (dispatch_floor >= 0) drop_below = std::min(drop_below, dispatch_floor);
  return drop_below;
}

}  // namespace thruster::store
