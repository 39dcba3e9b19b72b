#include "broker/transactional_message_check_service.h"

#include <algorithm>

#include "common/logging.h"

namespace thruster::broker {

TransactionalMessageCheckService::TransactionalMessageCheckService(
    TransactionalMessageService& service, const Clock& clock,
    int64_t check_interval_ms)
    : ServiceThread("trans-check"),
      service_(service),
      clock_(clock),
      check_interval_ms_(std::max<int64_t>(1, check_interval_ms)) {}

void TransactionalMessageCheckService::Run() {
  TH_LOG(broker, kInfo, "transaction check service started, interval {} ms",
         check_interval_ms_);
  int64_t last_pass_ms = clock_.NowMs();
  while (!stopped()) {
    WaitForRunning(std::min<int64_t>(check_interval_ms_, 1000));
    // Logged by WriteOps; the completions stay queued for the next round.
    service_.WriteOps().IgnoreError();
    if (stopped()) break;
    const int64_t now = clock_.NowMs();
    if (now - last_pass_ms >= check_interval_ms_) {
      last_pass_ms = now;
      const int checks = service_.CheckOnce();
      if (checks > 0)
        TH_LOG(broker, kDebug, "transaction check pass sent {} checks", checks);
      passes_.fetch_add(1, std::memory_order_release);
    }
  }
  service_.WriteOps().IgnoreError();  // logged by WriteOps
}

}  // namespace thruster::broker
