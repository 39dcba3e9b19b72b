#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/service_thread.h"
#include "remoting/connection.h"
#include "remoting/remoting_command.h"

// Long polling (spec/remoting.md §3.4.3, §6.6): PULL_MESSAGE requests that
// found nothing are parked here, keyed by (topic, queueId), and re-run when a
// matching message arrives or their suspend time is up.
//
// Threads: Suspend() from net threads; NotifyMessageArriving() from the store's
// `dispatch` thread (only records the arrival and wakes this service, never
// blocks on I/O); re-runs happen on this service's own `pull-hold` thread,
// which also fires deadlines on time (it sleeps until the earliest one).
// Lifecycle: construct → Start() → … → Stop() (parked requests are dropped
// unanswered; the server closes their connections anyway). Thread-safe.
namespace thruster::broker {

struct HeldPull {
  remoting::RemotingCommand request;
  remoting::Responder responder;
  std::string topic;
  int32_t queue_id = 0;
  int64_t offset = 0;              // the requested queue offset
  std::vector<int64_t> tag_codes;  // empty: every message matches
  int64_t deadline_ns = 0;  // Clock::MonotonicNs() time to give up waiting
};

class PullRequestHoldService : public ServiceThread {
 public:
  // `rerun` processes a woken or expired pull again (never parking it again);
  // `max_offset` tells a queue's current max offset. Both are called on the
  // `pull-hold` thread. `clock` must outlive this.
  using RerunFn = std::function<void(HeldPull)>;
  using MaxOffsetFn =
      std::function<int64_t(std::string_view topic, int32_t queue_id)>;
  // `thread_name` names the service thread (pops park in a second instance).
  PullRequestHoldService(RerunFn rerun, MaxOffsetFn max_offset,
                         const Clock* clock,
                         std::string thread_name = "pull-hold");
  ~PullRequestHoldService() override;

  void Suspend(HeldPull pull);
  // A message with `tags_code` is now readable in (topic, queue_id); the
  // queue's max offset is `next_offset`.
  void NotifyMessageArriving(std::string_view topic, int32_t queue_id,
                             int64_t next_offset, int64_t tags_code);
  size_t held_count() const;

 protected:
  void Run() override;

 private:
  using Key = std::pair<std::string, int32_t>;
  struct Arrival {
    Key key;
    int64_t next_offset;
    int64_t tags_code;
    bool any_tag;  // a re-check after Suspend: wake regardless of tags
  };
  struct KeyLess {
    using is_transparent = void;
    bool operator()(const Key& a, const Key& b) const { return a < b; }
    bool operator()(const Key& a,
                    const std::pair<std::string_view, int32_t>& b) const {
      return std::pair<std::string_view, int32_t>(a.first, a.second) < b;
    }
    bool operator()(const std::pair<std::string_view, int32_t>& a,
                    const Key& b) const {
      return a < std::pair<std::string_view, int32_t>(b.first, b.second);
    }
  };

  // Takes the pulls to re-run now out of the table.
  std::vector<HeldPull> CollectReady(const std::vector<Arrival>& arrivals,
                                     int64_t now_ns, int64_t* next_deadline_ns);

  RerunFn rerun_;
  MaxOffsetFn max_offset_;
  const Clock* clock_;
  mutable Mutex mu_;
  std::map<Key, std::vector<HeldPull>, KeyLess> held_ TH_GUARDED_BY(mu_);
  std::vector<Arrival> arrivals_ TH_GUARDED_BY(mu_);
  int64_t earliest_deadline_ns_ TH_GUARDED_BY(mu_) = INT64_MAX;
  // !held_.empty(), stored under mu_ whenever held_ changes; read without it
  // by NotifyMessageArriving.
  std::atomic<bool> any_held_{false};
};

}  // namespace thruster::broker
