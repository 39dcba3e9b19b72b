#include "store/flush_real_time_service.h"

#include <algorithm>

#include "store/commit_log.h"

namespace thruster::store {

void FlushRealTimeService::Run() {
  const auto& c = config_;
  const int64_t interval_ns = int64_t{c.flush_interval_commit_log} * 1000000;
  const int64_t writeback_bytes = int64_t{c.commit_log_writeback_kb} * 1024;
  int64_t last_thorough = clock_->MonotonicNs();
  int64_t last_flush = last_thorough;
  while (!stopped()) {
    int64_t wait_ms = c.flush_interval_commit_log;
    if (writeback_bytes > 0) {
      int64_t until_flush = last_flush + interval_ns - clock_->MonotonicNs();
      wait_ms = std::clamp<int64_t>(until_flush / 1000000, 0,
                                    std::min(wait_ms, kWritebackPollMs));
    }
    bool woken = WaitForRunning(wait_ms);
    int64_t now = clock_->MonotonicNs();
    if (writeback_bytes > 0 && !woken && now - last_flush < interval_ns) {
      StartWriteback(writeback_bytes);
      continue;
    }
    last_flush = now;
    int least = c.flush_commit_log_least_pages;
    if (now - last_thorough >=
        int64_t{c.flush_commit_log_thorough_interval} * 1000000) {
      last_thorough = now;
      least = 0;
    }
    FlushOnce(least);
  }
  // Final pass: everything, retried a few times (a segment roll may sit
  // between two calls).
  for (int i = 0; i < 10; ++i) {
    if (FlushOnce(0)) break;
  }
}

void FlushRealTimeService::StartWriteback(int64_t step_bytes) {
  if (!log_->writeable()) return;
  // commitLogCacheKeepMb (CacheKeepPolicy): which written pages leave the
  // cache; never ones dispatch has yet to read.
  const auto* floor = log_->drop_floor();
  const int64_t drop_below = log_->cache_keep().DropBelow(
      log_->queue().GetMaxWrotePosition(),
      floor != nullptr ? floor->load(std::memory_order_acquire) : -1);
  Status s = log_->queue().Writeback(
      step_bytes, step_bytes * kWritebackStepsInFlight, drop_below);
  if (!s.ok()) log_->MarkNotWriteable(s);
}

bool FlushRealTimeService::FlushOnce(int least) {
  if (!log_->writeable()) return true;
  StoreStats& stats = log_->stats();
  const bool timed = stats.enabled();
  const int64_t before = timed ? log_->queue().flushed_where() : 0;
  const int64_t t0 = timed ? clock_->MonotonicNs() : 0;
  auto r = log_->queue().Flush(least);
  if (!r.ok()) {
    log_->MarkNotWriteable(r.status());
    return true;
  }
  if (timed && log_->queue().flushed_where() > before) {
    stats.flush_seconds.Observe(
        static_cast<double>(clock_->MonotonicNs() - t0) / 1e9);
  }
  int64_t ts = log_->queue().store_timestamp();
  if (ts > 0) checkpoint_->set_physic_msg_timestamp(ts);
  return *r;
}

}  // namespace thruster::store
