#pragma once

#include <atomic>
#include <cstdint>

#include "common/prom_text.h"

// Figures of the store's own machinery for the broker's Prometheus endpoint:
// how long an append holds the CommitLog's put lock, how long a flush (or a
// group commit's sync) takes, how many sync-flush puts one group commit
// completes. Counting is off until the broker's metrics turn it on
// (set_enabled), so a broker without metrics pays one relaxed load per append.
//
// Threads: append-lock time is observed under the put lock (appends are
// serialised there anyway); flush figures by the one `flush` or `group-commit`
// thread; read by the scraper at any time. Thread-safe.
namespace thruster::store {

struct StoreStats {
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  // Seconds the put lock was held by one append (one record or one batch).
  AtomicHistogram<9> append_lock_seconds{
      {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 1e-3, 1e-2}};
  // Seconds one flush (msync/fdatasync of the CommitLog) took, counting only
  // the flushes that made bytes durable.
  AtomicHistogram<10> flush_seconds{
      {1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1}};
  // SYNC_FLUSH: puts completed by one group commit.
  AtomicHistogram<8> group_commit_batch{{1, 2, 4, 8, 16, 32, 64, 128}};

 private:
  std::atomic<bool> enabled_{false};
};

}  // namespace thruster::store
