#include "broker/fetch_journal.h"

#include <algorithm>
#include <set>

namespace thruster::broker {

FetchJournal::FetchJournal(ClientIdResolver resolver)
    : resolver_(std::move(resolver)) {}

FetchJournal::Shard& FetchJournal::ShardOf(std::string_view group,
                                           std::string_view topic,
                                           int32_t queue_id) const {
  const size_t h = std::hash<std::string_view>()(group) * 31 +
                   std::hash<std::string_view>()(topic) +
                   static_cast<size_t>(queue_id);
  return shards_[h % kShards];
}

void FetchJournal::Record(std::string_view group, std::string_view topic,
                          int32_t queue_id, int64_t begin_offset,
                          int64_t end_offset, int64_t now_ms,
                          uint64_t connection_id,
                          std::string_view remote_address, Kind kind) {
  if (end_offset <= begin_offset) return;
  if (connection_id != 0) NoteConnection(connection_id, remote_address, now_ms);
  Shard& shard = ShardOf(group, topic, queue_id);
  MutexLock lock(&shard.mu);
  auto it = shard.rings.find(QueueKeyView{group, topic, queue_id});
  if (it == shard.rings.end()) {
    if (shard.rings.size() >= kMaxQueues / kShards) {
      shard.rings.erase(*shard.order.front());
      shard.order.pop_front();
    }
    it =
        shard.rings
            .emplace(QueueKey{std::string(group), std::string(topic), queue_id},
                     Ring{})
            .first;
    it->second.order = shard.order.insert(shard.order.end(), &it->first);
  } else {
    shard.order.splice(shard.order.end(), shard.order, it->second.order);
  }
  Ring& ring = it->second;
  ring.ranges[ring.next] =
      Range{begin_offset, end_offset, now_ms, connection_id, kind};
  ring.next = (ring.next + 1) % kRangesPerQueue;
  ring.count = std::min(ring.count + 1, kRangesPerQueue);
}

void FetchJournal::NoteConnection(uint64_t connection_id,
                                  std::string_view remote_address,
                                  int64_t now_ms) {
  {
    MutexLock lock(&conn_mu_);
    auto it = connections_.find(connection_id);
    if (it != connections_.end() && (!it->second.client_id.empty() ||
                                     now_ms - it->second.asked_ms < kReaskMs)) {
      return;
    }
  }
  // Unnamed: ask the client manager. A connection that fetches before its
  // first heartbeat (or never sends one) is asked again at most once a
  // kReaskMs.
  std::string client_id = resolver_ ? resolver_(connection_id) : std::string();
  MutexLock lock(&conn_mu_);
  auto [it, inserted] = connections_.try_emplace(connection_id);
  it->second.client_id = std::move(client_id);
  it->second.asked_ms = now_ms;
  if (inserted) it->second.address = std::string(remote_address);
  // Connection ids only grow, so the smallest is the oldest.
  while (connections_.size() > kMaxConnections)
    connections_.erase(connections_.begin());
}

std::vector<FetchJournal::Fetch> FetchJournal::FindFetches(
    std::string_view group, std::string_view topic, int32_t queue_id,
    int64_t queue_offset) const {
  std::vector<Range> hits;
  {
    Shard& shard = ShardOf(group, topic, queue_id);
    MutexLock lock(&shard.mu);
    auto it = shard.rings.find(QueueKeyView{group, topic, queue_id});
    if (it == shard.rings.end()) return {};
    const Ring& ring = it->second;
    // Oldest first: the ring's oldest entry is at `next` once it is full.
    const size_t first = ring.count < kRangesPerQueue ? 0 : ring.next;
    for (size_t i = 0; i < ring.count; ++i) {
      const Range& r = ring.ranges[(first + i) % kRangesPerQueue];
      if (r.begin_offset <= queue_offset && queue_offset < r.end_offset)
        hits.push_back(r);
    }
  }
  std::vector<Fetch> out;
  MutexLock lock(&conn_mu_);
  for (const Range& r : hits) {
    Fetch f{r.begin_offset, r.end_offset, r.time_ms, r.kind, {}, {}};
    if (auto c = connections_.find(r.connection_id); c != connections_.end()) {
      f.client_id = c->second.client_id;
      f.client_addr = c->second.address;
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> FetchJournal::GroupsOfTopic(
    std::string_view topic) const {
  std::set<std::string> groups;
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (const auto& [key, ring] : shard.rings) {
      if (key.topic == topic) groups.insert(key.group);
    }
  }
  return {groups.begin(), groups.end()};
}

size_t FetchJournal::queue_count() const {
  size_t n = 0;
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    n += shard.rings.size();
  }
  return n;
}

}  // namespace thruster::broker
