#include "broker/consumer_read_floor.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace thruster::broker {

std::optional<int64_t> LowestPhysOffsetToRead(
    const store::MessageStore& store, const ConsumerOffsetManager& offsets,
    const std::function<bool(std::string_view group)>& online) {
  std::optional<int64_t> floor;
  std::string topic;  // the topic whose groups are in `groups`
  std::vector<std::string> groups;
  bool have_topic = false;
  for (const auto& [queue_topic, queue_id] : store.ListQueues()) {
    if (!have_topic || queue_topic != topic) {
      topic = queue_topic;
      have_topic = true;
      groups = offsets.GroupsOfTopic(topic);
      std::erase_if(groups, [&](const std::string& g) { return !online(g); });
    }
    if (groups.empty()) continue;
    const int64_t max = store.GetMaxOffsetInQueue(topic, queue_id);
    const int64_t min = store.GetMinOffsetInQueue(topic, queue_id);
    for (const auto& group : groups) {
      std::optional<int64_t> committed = offsets.Query(group, topic, queue_id);
      if (!committed || *committed >= max) continue;
      const int64_t next = std::max(*committed, min);
      const int64_t phys =
          store.GetCommitLogOffsetInQueue(topic, queue_id, next);
      if (!floor || phys < *floor) floor = phys;
    }
  }
  return floor;
}

}  // namespace thruster::broker
