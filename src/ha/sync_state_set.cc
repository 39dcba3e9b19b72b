#include "ha/sync_state_set.h"

#include <algorithm>
#include <utility>

namespace thruster::ha {

SyncStateSet::SyncStateSet(SyncStateSetOptions options, const Clock* clock)
    : options_(options), clock_(clock) {}

void SyncStateSet::Reset(int64_t self_id, int64_t epoch_start_offset) {
  MutexLock lock(&mu_);
  self_ = self_id;
  epoch_start_ = epoch_start_offset;
  local_ = {self_id};
  confirmed_ = {self_id};
  confirm_offset_ = -1;
  ++version_;
}

void SyncStateSet::OnConnected(int64_t slave_id) {
  MutexLock lock(&mu_);
  ++slaves_[slave_id].connections;
}

void SyncStateSet::OnDisconnected(int64_t slave_id) {
  std::function<void()> notify;
  {
    MutexLock lock(&mu_);
    auto it = slaves_.find(slave_id);
    if (it == slaves_.end()) return;
    if (--it->second.connections > 0) return;
    slaves_.erase(it);
    if (slave_id == self_ || local_.erase(slave_id) == 0) return;
    ++version_;
    notify = on_local_change_;
  }
  if (notify) notify();
}

void SyncStateSet::OnTransfer(int64_t slave_id, int64_t master_max) {
  MutexLock lock(&mu_);
  auto it = slaves_.find(slave_id);
  if (it == slaves_.end()) return;
  it->second.last_transfer_max = master_max;
  it->second.last_transfer_ms = clock_->NowMs();
}

void SyncStateSet::OnAck(int64_t slave_id, int64_t ack, int64_t master_max) {
  std::function<void()> notify;
  {
    MutexLock lock(&mu_);
    auto it = slaves_.find(slave_id);
    if (it == slaves_.end()) return;
    Slave& s = it->second;
    s.ack = ack;
    if (ack < s.last_transfer_max) return;
    s.caught_up_ms =
        std::max(s.caught_up_ms,
                 ack >= master_max ? clock_->NowMs() : s.last_transfer_ms);
    if (self_ < 0 || local_.contains(slave_id)) return;
    if (ack < ConfirmOffsetLocked(master_max) || ack < epoch_start_) return;
    local_.insert(slave_id);
    ++version_;
    notify = on_local_change_;
  }
  if (notify) notify();
}

void SyncStateSet::set_on_local_change(std::function<void()> fn) {
  MutexLock lock(&mu_);
  on_local_change_ = std::move(fn);
}

bool SyncStateSet::Shrink(int64_t master_max) {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowMs();
  bool changed = false;
  for (auto it = local_.begin(); it != local_.end();) {
    if (*it == self_) {
      ++it;
      continue;
    }
    auto s = slaves_.find(*it);
    bool keep = false;
    if (s != slaves_.end()) {
      if (s->second.ack >= master_max) s->second.caught_up_ms = now;
      keep = now - s->second.caught_up_ms <= options_.max_time_not_catchup_ms;
    }
    if (keep) {
      ++it;
    } else {
      it = local_.erase(it);
      changed = true;
    }
  }
  if (changed) ++version_;
  return changed;
}

bool SyncStateSet::ShrinkOnTimer(int64_t master_max) {
  if (!Shrink(master_max)) return false;
  std::function<void()> notify;
  {
    MutexLock lock(&mu_);
    notify = on_local_change_;
  }
  if (notify) notify();
  return true;
}

int64_t SyncStateSet::NextShrinkMs() const {
  MutexLock lock(&mu_);
  int64_t next = INT64_MAX;
  for (int64_t id : local_) {
    if (id == self_) continue;
    auto s = slaves_.find(id);
    if (s == slaves_.end()) return clock_->NowMs();
    next = std::min(
        next, s->second.caught_up_ms + options_.max_time_not_catchup_ms + 1);
  }
  return next;
}

std::set<int64_t> SyncStateSet::local() const {
  MutexLock lock(&mu_);
  return local_;
}

std::set<int64_t> SyncStateSet::confirmed() const {
  MutexLock lock(&mu_);
  return confirmed_;
}

void SyncStateSet::SetConfirmed(std::set<int64_t> members) {
  MutexLock lock(&mu_);
  if (members == confirmed_) return;
  confirmed_ = std::move(members);
  ++version_;
}

std::set<int64_t> SyncStateSet::EffectiveLocked() const {
  std::set<int64_t> all = local_;
  all.insert(confirmed_.begin(), confirmed_.end());
  return all;
}

int64_t SyncStateSet::ConfirmOffsetLocked(int64_t master_max) {
  const std::set<int64_t> members = EffectiveLocked();
  if (!options_.all_ack || members.size() <= 1) {
    confirm_offset_ = master_max;
    return master_max;
  }
  int64_t confirm = master_max;
  for (int64_t id : members) {
    if (id == self_) continue;
    auto s = slaves_.find(id);
    // A member without a connection: the last value stands (RocketMQ keeps
    // its confirm offset until the set or the connections agree again).
    if (s == slaves_.end()) return confirm_offset_ >= 0 ? confirm_offset_ : 0;
    if (s->second.ack > 0) confirm = std::min(confirm, s->second.ack);
  }
  confirm_offset_ = confirm;
  return confirm;
}

int64_t SyncStateSet::ConfirmOffset(int64_t master_max) {
  MutexLock lock(&mu_);
  return ConfirmOffsetLocked(master_max);
}

bool SyncStateSet::EnoughReplicas() const {
  MutexLock lock(&mu_);
  const size_t size = std::max(local_.size(), confirmed_.size());
  return size >= static_cast<size_t>(options_.min_in_sync_replicas);
}

bool SyncStateSet::NeedsAcks() const {
  MutexLock lock(&mu_);
  if (options_.all_ack) return EffectiveLocked().size() > 1;
  return options_.in_sync_replicas > 1;
}

bool SyncStateSet::Covered(int64_t end) const {
  MutexLock lock(&mu_);
  int copies = 1;  // the master's
  if (options_.all_ack) {
    const std::set<int64_t> members = EffectiveLocked();
    for (int64_t id : members) {
      if (id == self_) continue;
      auto s = slaves_.find(id);
      if (s == slaves_.end() || s->second.ack < end) return false;
      ++copies;
    }
    return true;
  }
  for (const auto& [id, s] : slaves_)
    if (s.ack >= end) ++copies;
  return copies >= options_.in_sync_replicas;
}

uint64_t SyncStateSet::version() const {
  MutexLock lock(&mu_);
  return version_;
}

}  // namespace thruster::ha
