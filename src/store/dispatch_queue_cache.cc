#include "store/dispatch_queue_cache.h"

namespace thruster::store {

void DispatchQueueCache::DropIfStale() {
  const uint64_t now = queues_->generation();
  if (now == generation_) return;
  topics_.clear();
  last_topic_ = nullptr;
  last_slots_ = nullptr;
  uncached_ = Slot{};
  generation_ = now;
}

DispatchQueueCache::TopicSlots* DispatchQueueCache::FindTopic(
    std::string_view topic) {
  if (last_topic_ != nullptr && *last_topic_ == topic) return last_slots_;
  auto it = topics_.find(topic);
  if (it == topics_.end())
    it = topics_.emplace(std::string(topic), TopicSlots()).first;
  last_topic_ = &it->first;
  last_slots_ = &it->second;
  return last_slots_;
}

Result<DispatchQueueCache::Slot*> DispatchQueueCache::Find(
    std::string_view topic, int32_t queue_id) {
  DropIfStale();
  if (queue_id < 0 || queue_id >= kMaxCachedQueueId) {
    uncached_ = Slot{};
    TH_ASSIGN_OR_RETURN(uncached_.queue,
                        queues_->FindOrCreateConsumeQueue(topic, queue_id));
    return &uncached_;
  }
  TopicSlots& slots = *FindTopic(topic);
  const auto id = static_cast<size_t>(queue_id);
  if (id >= slots.size()) slots.resize(id + 1);
  Slot& slot = slots[id];
  if (slot.queue == nullptr) {
    TH_ASSIGN_OR_RETURN(slot.queue,
                        queues_->FindOrCreateConsumeQueue(topic, queue_id));
  }
  return &slot;
}

}  // namespace thruster::store
