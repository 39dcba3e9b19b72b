#include "store/group_commit_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/logging.h"

namespace thruster::store {

bool GroupCommitService::Add(CommitLog::FlushRequest req) {
  {
    MutexLock lock(&mu_);
    if (!accepting_) return false;
    watched_.emplace_back(req.deadline_ns, req.pending);
    writes_.push_back(std::move(req));
  }
  Wakeup();
  return true;
}

bool GroupCommitService::RequestFlush(int64_t next_offset) {
  {
    MutexLock lock(&mu_);
    if (!accepting_) return false;
  }
  int64_t cur = requested_.load(std::memory_order_relaxed);
  while (cur < next_offset &&
         !requested_.compare_exchange_weak(cur, next_offset,
                                           std::memory_order_release)) {
  }
  Wakeup();
  return true;
}

bool GroupCommitService::WaitFlushed(int64_t next_offset, int64_t deadline_ns) {
  MutexLock lock(&wait_mu_);
  while (log_->queue().flushed_where() < next_offset && log_->writeable() &&
         !wait_stopped_) {
    int64_t left = deadline_ns - clock_->MonotonicNs();
    if (left <= 0) break;
    wait_cv_.WaitFor(&wait_mu_, std::chrono::nanoseconds(std::min(left, kWaitSliceNs)));
  }
  if (log_->queue().flushed_where() < next_offset) return false;
  ++blocking_served_;
  return true;
}

void GroupCommitService::ExpireOverdue(int64_t now_ns) {
  std::vector<std::shared_ptr<CommitLog::PendingFlush>> overdue;
  {
    MutexLock lock(&mu_);
    while (!watched_.empty() && (watched_.front().second->completed.load(
                                     std::memory_order_acquire) ||
                                 watched_.front().first <= now_ns)) {
      if (!watched_.front().second->completed.load(std::memory_order_acquire)) {
        overdue.push_back(std::move(watched_.front().second));
      }
      watched_.pop_front();
    }
  }
  for (auto& p : overdue) p->Complete(false);
}

void GroupCommitService::OnStop() {
  MutexLock lock(&mu_);
  accepting_ = false;
}

void GroupCommitService::NotifyWaiters(bool stopped) {
  {
    MutexLock lock(&wait_mu_);
    wait_stopped_ = wait_stopped_ || stopped;
  }
  wait_cv_.SignalAll();
}

void GroupCommitService::Run() {
  while (!stopped()) {
    WaitForRunning(10);
    DoCommit();
  }
  // Serve whatever arrived before the stop.
  DoCommit();
  NotifyWaiters(/*stopped=*/true);
  int64_t blocking_served;
  {
    MutexLock lock(&wait_mu_);
    blocking_served = blocking_served_;
  }
  int64_t requests = requests_ + blocking_served;
  TH_LOG(store, kDebug,
         "group-commit: {} groups, {} requests ({:.1f} a group), {:.1f} us a "
         "sync on average",
         groups_, requests,
         groups_ ? static_cast<double>(requests) / static_cast<double>(groups_)
                 : 0.0,
         groups_ ? static_cast<double>(sync_ns_) /
                       static_cast<double>(groups_) / 1000.0
                 : 0.0);
}

void GroupCommitService::DoCommit() {
  {
    MutexLock lock(&mu_);
    reads_.swap(writes_);
  }
  MappedFileQueue& queue = log_->queue();
  int64_t target = requested_.load(std::memory_order_acquire);
  bool blocking = target > queue.flushed_where();
  for (const auto& r : reads_) target = std::max(target, r.next_offset);
  int64_t t0 = clock_->MonotonicNs();
  // Flush until the group's end is durable; a group may span a segment roll
  // (one segment per call), and with the pool the bytes must be committed
  // first.
  const bool pool = log_->config().transient_store_pool_enable;
  for (int i = 0; i < 1000 && log_->writeable(); ++i) {
    if (pool) log_->CommitOnce(0);
    auto r = queue.Flush(0);
    if (!r.ok()) {
      log_->MarkNotWriteable(r.status());
      break;
    }
    if (queue.flushed_where() >= target) break;
    if (*r) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  int64_t flushed = queue.flushed_where();
  if (blocking || !reads_.empty()) {
    ++groups_;
    requests_ += static_cast<int64_t>(reads_.size());
    const int64_t took_ns = clock_->MonotonicNs() - t0;
    sync_ns_ += took_ns;
    if (StoreStats& stats = log_->stats(); stats.enabled()) {
      stats.flush_seconds.Observe(static_cast<double>(took_ns) / 1e9);
      if (!reads_.empty())
        stats.group_commit_batch.Observe(static_cast<double>(reads_.size()));
    }
  }
  if (blocking) NotifyWaiters(/*stopped=*/false);
  for (auto& r : reads_) r.pending->Complete(flushed >= r.next_offset);
  reads_.clear();
  int64_t ts = queue.store_timestamp();
  if (ts > 0) checkpoint_->set_physic_msg_timestamp(ts);
}

}  // namespace thruster::store
