#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "common/clock.h"
#include "common/service_thread.h"

// The in-sync set's shrink check on its own timer (spec/ha.md §7.6, §7.7
// "Shrink"; RocketMQ 5's ReplicasManager runs checkSyncStateSetAndDoReport on
// a scheduled executor): thread `ha-isr-check` calls `check` when the time it
// last returned comes (a member's catch-up is about to be older than
// haMaxTimeSlaveNotCatchup), and at the latest every `max_wait_ms`. So a slave
// that stops catching up leaves a master's local set right after
// haMaxTimeSlaveNotCatchup, however long the controller's round takes.
//
// `check` shrinks the set and returns when it wants to run next, in `clock`'s
// milliseconds (SyncStateSet::NextShrinkMs). Lifecycle: construct → Start() →
// Stop() (ServiceThread; Wakeup() runs a check at once). `check` runs only on
// this thread; `clock` must outlive it.
namespace thruster::ha {

class SyncStateSetChecker final : public ServiceThread {
 public:
  SyncStateSetChecker(std::function<int64_t()> check, int64_t max_wait_ms,
                      const Clock* clock)
      : ServiceThread("ha-isr-check"),
        check_(std::move(check)),
        max_wait_ms_(max_wait_ms > 0 ? max_wait_ms : 1),
        clock_(clock) {}
  ~SyncStateSetChecker() override { Stop(); }

  // How many checks ran (tests wait on it instead of sleeping).
  int64_t checks() const { return checks_.load(std::memory_order_acquire); }

 protected:
  void Run() override;

 private:
  const std::function<int64_t()> check_;
  const int64_t max_wait_ms_;
  const Clock* clock_;
  std::atomic<int64_t> checks_{0};
};

}  // namespace thruster::ha
