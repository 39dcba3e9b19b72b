#include "store/flush_consume_queue_service.h"

#include "common/logging.h"

namespace thruster::store {

void FlushConsumeQueueService::FlushOnce(bool thorough) {
  MutexLock lock(&flush_mu_);
  int64_t logics = reput_->logics_msg_timestamp();
  Status st =
      queues_->FlushAll(thorough ? 0 : config_.flush_consume_queue_least_pages);
  if (st.ok()) st = index_->FlushRolledFiles();
  if (!st.ok()) {
    TH_LOG(store, kError, "flush-cq: {}", st.ToString());
    return;
  }
  // Consume queues are durable up to at least `logics` only after a thorough
  // pass.
  if (thorough && logics > 0) checkpoint_->set_logics_msg_timestamp(logics);
  int64_t idx = index_->index_msg_timestamp();
  if (idx > 0) checkpoint_->set_index_msg_timestamp(idx);
  if (keep_confirm_offset_.load(std::memory_order_acquire))
    checkpoint_->set_confirm_phy_offset(reput_->confirm_offset());
  st = checkpoint_->Flush();
  if (!st.ok())
    TH_LOG(store, kError, "flush-cq: checkpoint: {}", st.ToString());
}

void FlushConsumeQueueService::Run() {
  int64_t last_thorough = clock_->MonotonicNs();
  while (!stopped()) {
    WaitForRunning(config_.flush_interval_consume_queue);
    int64_t now = clock_->MonotonicNs();
    bool thorough =
        now - last_thorough >=
        int64_t{config_.flush_consume_queue_thorough_interval} * 1000000;
    if (thorough) last_thorough = now;
    FlushOnce(thorough);
  }
}

Status FlushConsumeQueueService::FlushAllAndCheckpoint() {
  MutexLock lock(&flush_mu_);
  Status st = queues_->FlushAll(0);
  if (st.ok()) st = index_->Flush();
  if (st.ok()) {
    int64_t logics = reput_->logics_msg_timestamp();
    if (logics > 0) checkpoint_->set_logics_msg_timestamp(logics);
    if (index_->index_msg_timestamp() > 0)
      checkpoint_->set_index_msg_timestamp(index_->index_msg_timestamp());
    if (keep_confirm_offset_.load(std::memory_order_acquire))
      checkpoint_->set_confirm_phy_offset(reput_->confirm_offset());
    st = checkpoint_->Flush();
  }
  return st;
}

Result<int64_t> FlushConsumeQueueService::FlushDispatched() {
  MutexLock lock(&flush_mu_);
  // Read first: every entry of a record below it is in its queue's mapping.
  const int64_t dispatched = reput_->reput_from_offset();
  TH_RETURN_IF_ERROR(queues_->FlushAll(0));
  return dispatched;
}

}  // namespace thruster::store
