#pragma once

#include <atomic>
#include <cstdint>

#include "broker/transactional_message_service.h"
#include "common/clock.h"
#include "common/service_thread.h"

// The `trans-check` thread (spec/transactions.md §5): writes the op records of
// completed transactions as soon as they are queued, and every
// transactionCheckInterval runs a check pass. Time comes from `clock`, so a
// test with a ManualClock decides when a pass is due (the thread looks at the
// clock at least once a second and whenever it is woken).
//
// Lifecycle: construct → Start() → Stop() (writes what is still queued, then
// joins; idempotent). `service` and `clock` must outlive it.
namespace thruster::broker {

class TransactionalMessageCheckService : public ServiceThread {
 public:
  TransactionalMessageCheckService(TransactionalMessageService& service,
                                   const Clock& clock,
                                   int64_t check_interval_ms);
  ~TransactionalMessageCheckService() override { Stop(); }

  // Check passes run so far (tests wait on it).
  int64_t passes() const { return passes_.load(std::memory_order_acquire); }

 protected:
  void Run() override;

 private:
  TransactionalMessageService& service_;
  const Clock& clock_;
  const int64_t check_interval_ms_;
  // Release-incremented after each pass; passes() acquires.
  std::atomic<int64_t> passes_{0};
};

}  // namespace thruster::broker
