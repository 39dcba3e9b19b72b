#include "ha/sync_state_set_checker.h"

#include <algorithm>

namespace thruster::ha {

void SyncStateSetChecker::Run() {
  while (!stopped()) {
    const int64_t next_ms = check_();
    checks_.fetch_add(1, std::memory_order_acq_rel);
    const int64_t wait_ms =
        std::clamp<int64_t>(next_ms - clock_->NowMs(), 1, max_wait_ms_);
    WaitForRunning(wait_ms);
  }
}

}  // namespace thruster::ha
