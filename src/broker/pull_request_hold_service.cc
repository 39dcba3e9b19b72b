#include "broker/pull_request_hold_service.h"

#include <algorithm>
#include <atomic>

#include "common/logging.h"

namespace thruster::broker {

PullRequestHoldService::PullRequestHoldService(RerunFn rerun,
                                               MaxOffsetFn max_offset,
                                               const Clock* clock,
                                               std::string thread_name)
    : ServiceThread(std::move(thread_name)),
      rerun_(std::move(rerun)),
      max_offset_(std::move(max_offset)),
      clock_(clock) {}

PullRequestHoldService::~PullRequestHoldService() { Stop(); }

void PullRequestHoldService::Suspend(HeldPull pull) {
  Key key(pull.topic, pull.queue_id);
  const int64_t offset = pull.offset;
  bool earlier;
  {
    MutexLock lock(&mu_);
    earlier = pull.deadline_ns < earliest_deadline_ns_;
    earliest_deadline_ns_ = std::min(earliest_deadline_ns_, pull.deadline_ns);
    held_[key].push_back(std::move(pull));
    any_held_.store(true, std::memory_order_relaxed);
  }
  // A message may have arrived between the pull's read and the insert above;
  // its notification found nothing to wake, so look once more now that the pull
  // is visible. The fence pairs with NotifyMessageArriving's: either that one
  // sees any_held_ set, or this read sees the message.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const bool arrived = max_offset_(key.first, key.second) > offset;
  if (arrived) {
    MutexLock lock(&mu_);
    arrivals_.push_back(Arrival{key, offset + 1, 0, true});
  }
  if (arrived || earlier) Wakeup();
}

void PullRequestHoldService::NotifyMessageArriving(std::string_view topic,
                                                   int32_t queue_id,
                                                   int64_t next_offset,
                                                   int64_t tags_code) {
  // Nothing held (the common case without long-polling consumers): no lock.
  // The fence orders the caller's publication of the message before the
  // read (see Suspend).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!any_held_.load(std::memory_order_relaxed)) return;
  {
    MutexLock lock(&mu_);
    if (held_.find(std::pair<std::string_view, int32_t>(topic, queue_id)) ==
        held_.end())
      return;
    arrivals_.push_back(Arrival{Key(std::string(topic), queue_id), next_offset,
                                tags_code, false});
  }
  Wakeup();
}

size_t PullRequestHoldService::held_count() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, pulls] : held_) n += pulls.size();
  return n;
}

std::vector<HeldPull> PullRequestHoldService::CollectReady(
    const std::vector<Arrival>& arrivals, int64_t now_ns,
    int64_t* next_deadline_ns) {
  std::vector<HeldPull> ready;
  MutexLock lock(&mu_);
  for (const Arrival& a : arrivals) {
    auto it = held_.find(a.key);
    if (it == held_.end()) continue;
    auto& pulls = it->second;
    for (auto p = pulls.begin(); p != pulls.end();) {
      const bool tag_ok = a.any_tag || p->tag_codes.empty() ||
                          std::find(p->tag_codes.begin(), p->tag_codes.end(),
                                    a.tags_code) != p->tag_codes.end();
      if (a.next_offset > p->offset && tag_ok) {
        ready.push_back(std::move(*p));
        p = pulls.erase(p);
      } else {
        ++p;
      }
    }
  }
  int64_t earliest = INT64_MAX;
  for (auto it = held_.begin(); it != held_.end();) {
    auto& pulls = it->second;
    for (auto p = pulls.begin(); p != pulls.end();) {
      if (p->deadline_ns <= now_ns || p->responder.expired()) {
        ready.push_back(std::move(*p));
        p = pulls.erase(p);
      } else {
        earliest = std::min(earliest, p->deadline_ns);
        ++p;
      }
    }
    it = pulls.empty() ? held_.erase(it) : std::next(it);
  }
  earliest_deadline_ns_ = earliest;
  any_held_.store(!held_.empty(), std::memory_order_relaxed);
  *next_deadline_ns = earliest;
  return ready;
}

void PullRequestHoldService::Run() {
  int64_t next_deadline_ns = INT64_MAX;
  while (!stopped()) {
    const int64_t now = clock_->MonotonicNs();
    int64_t wait_ms = 1000;
    if (next_deadline_ns != INT64_MAX) {
      wait_ms = std::clamp<int64_t>((next_deadline_ns - now + 999999) / 1000000,
                                    1, 1000);
    }
    WaitForRunning(wait_ms);
    if (stopped()) break;
    std::vector<Arrival> arrivals;
    {
      MutexLock lock(&mu_);
      arrivals.swap(arrivals_);
    }
    std::vector<HeldPull> ready =
        CollectReady(arrivals, clock_->MonotonicNs(), &next_deadline_ns);
    for (HeldPull& p : ready) {
      if (p.responder.expired()) continue;  // the client went away
      rerun_(std::move(p));
    }
  }
}

}  // namespace thruster::broker
