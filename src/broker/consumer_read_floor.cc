#include "broker/consumer_read_floor.h"

#include <string>
#include <vector>

#include "store/reader_floor.h"

namespace thruster::broker {

std::optional<int64_t> LowestPhysOffsetToRead(
    const store::MessageStore& store, const ConsumerOffsetManager& offsets,
    const std::function<bool(std::string_view group)>& online) {
  // The online groups of the topic asked last (queues come topic by topic).
  std::string topic;
  std::vector<std::string> groups;
  bool have_topic = false;
  return store::LowestPhysOffsetToRead(store, [&](std::string_view queue_topic,
                                                  int32_t queue_id,
                                                  std::vector<int64_t>* next) {
    if (!have_topic || queue_topic != topic) {
      topic = std::string(queue_topic);
      have_topic = true;
      groups = offsets.GroupsOfTopic(topic);
      std::erase_if(groups, [&](const std::string& g) { return !online(g); });
    }
    for (const auto& group : groups) {
      if (auto committed = offsets.Query(group, topic, queue_id))
        next->push_back(*committed);
    }
  });
}

}  // namespace thruster::broker
