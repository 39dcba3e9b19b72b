#include "store/commit_real_time_service.h"

#include "store/commit_log.h"

namespace thruster::store {

void CommitRealTimeService::Run() {
  const auto& c = config_;
  int64_t last = clock_->MonotonicNs();
  while (!stopped()) {
    int least = c.commit_commit_log_least_pages;
    int64_t now = clock_->MonotonicNs();
    if (now - last >= int64_t{c.commit_commit_log_thorough_interval} * 1000000)
      least = 0;
    bool unchanged = log_->CommitOnce(least);
    if (!unchanged) {
      last = now;
      if (flush_ != nullptr) flush_->Wakeup();
    }
    WaitForRunning(c.commit_interval_commit_log);
  }
  for (int i = 0; i < 10; ++i) {
    if (log_->CommitOnce(0)) break;
  }
}

}  // namespace thruster::store
