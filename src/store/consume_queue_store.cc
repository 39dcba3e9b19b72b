#include "store/consume_queue_store.h"

#include <algorithm>

namespace thruster::store {

Status ConsumeQueueStore::Load() {
  std::string root = config_.ConsumeQueueDir();
  TH_RETURN_IF_ERROR(fs_->CreateDirs(root));
  TH_ASSIGN_OR_RETURN(auto topics, fs_->ListDir(root));
  MutexLock lock(&mu_);
  for (const auto& t : topics) {
    if (!t.is_dir) continue;
    auto ids = fs_->ListDir(io::JoinPath(root, t.name));
    if (!ids.ok()) return ids.status();
    for (const auto& q : *ids) {
      if (!q.is_dir || q.name.empty() || q.name.size() > 9 ||
          !std::all_of(q.name.begin(), q.name.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        continue;  // spec §1: a non-numeric queue directory is skipped
      }
      int32_t id = std::stoi(q.name);
      auto cq = std::make_shared<ConsumeQueue>(
          fs_, root, t.name, id, config_.mapped_file_size_consume_queue);
      TH_RETURN_IF_ERROR(cq->Load());
      queues_[t.name][id] = std::move(cq);
    }
  }
  return Status::OK();
}

std::shared_ptr<ConsumeQueue> ConsumeQueueStore::FindConsumeQueue(
    std::string_view topic, int32_t queue_id) const {
  MutexLock lock(&mu_);
  auto t = queues_.find(topic);
  if (t == queues_.end()) return nullptr;
  auto q = t->second.find(queue_id);
  return q == t->second.end() ? nullptr : q->second;
}

Result<std::shared_ptr<ConsumeQueue>>
ConsumeQueueStore::FindOrCreateConsumeQueue(std::string_view topic,
                                            int32_t queue_id) {
  MutexLock lock(&mu_);
  auto& by_id = queues_[std::string(topic)];
  auto it = by_id.find(queue_id);
  if (it != by_id.end()) return it->second;
  auto cq = std::make_shared<ConsumeQueue>(
      fs_, config_.ConsumeQueueDir(), std::string(topic), queue_id,
      config_.mapped_file_size_consume_queue);
  TH_RETURN_IF_ERROR(cq->Load());
  by_id[queue_id] = cq;
  return cq;
}

std::vector<std::shared_ptr<ConsumeQueue>> ConsumeQueueStore::All() const {
  std::vector<std::shared_ptr<ConsumeQueue>> all;
  MutexLock lock(&mu_);
  for (auto& [topic, by_id] : queues_) {
    for (auto& [id, cq] : by_id) all.push_back(cq);
  }
  return all;
}

std::vector<std::pair<std::string, int32_t>> ConsumeQueueStore::ListQueues()
    const {
  std::vector<std::pair<std::string, int32_t>> out;
  MutexLock lock(&mu_);
  for (const auto& [topic, by_id] : queues_) {
    for (const auto& [id, cq] : by_id) out.emplace_back(topic, id);
  }
  return out;
}

Status ConsumeQueueStore::DeleteTopic(std::string_view topic) {
  std::map<int32_t, std::shared_ptr<ConsumeQueue>> gone;
  {
    MutexLock lock(&mu_);
    auto it = queues_.find(topic);
    if (it == queues_.end())
      return Status::NotFound("no consume queues for topic " +
                              std::string(topic));
    gone = std::move(it->second);
    queues_.erase(it);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  for (auto& [id, cq] : gone) TH_RETURN_IF_ERROR(cq->Destroy());
  return Status::OK();
}

Status ConsumeQueueStore::RemoveQueue(std::string_view topic,
                                      int32_t queue_id) {
  std::shared_ptr<ConsumeQueue> gone;
  {
    MutexLock lock(&mu_);
    auto t = queues_.find(topic);
    if (t != queues_.end()) {
      auto q = t->second.find(queue_id);
      if (q != t->second.end()) {
        gone = std::move(q->second);
        t->second.erase(q);
      }
      if (t->second.empty()) queues_.erase(t);
    }
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (!gone)
    return Status::NotFound("no consume queue " + std::string(topic) + "/" +
                            std::to_string(queue_id));
  return gone->Destroy();
}

Status ConsumeQueueStore::DestroyAll() {
  MutexLock lock(&mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& [topic, by_id] : queues_) {
    for (auto& [id, cq] : by_id) TH_RETURN_IF_ERROR(cq->Destroy());
  }
  queues_.clear();
  return Status::OK();
}

Status ConsumeQueueStore::FlushAll(int least_pages) {
  for (const auto& cq : All()) TH_RETURN_IF_ERROR(cq->FlushAll(least_pages));
  return Status::OK();
}

}  // namespace thruster::store
