#include "store/reader_floor.h"

#include <algorithm>

namespace thruster::store {

std::optional<int64_t> LowestPhysOffsetToRead(const MessageStore& store,
                                              const QueueReadersFn& readers) {
  std::optional<int64_t> floor;
  std::vector<int64_t> next;
  for (const auto& [topic, queue_id] : store.ListQueues()) {
    next.clear();
    readers(topic, queue_id, &next);
    if (next.empty()) continue;
    const int64_t max = store.GetMaxOffsetInQueue(topic, queue_id);
    const int64_t min = store.GetMinOffsetInQueue(topic, queue_id);
    for (int64_t offset : next) {
      if (offset >= max) continue;
      const int64_t phys = store.GetCommitLogOffsetInQueue(
          topic, queue_id, std::max(offset, min));
      if (!floor || phys < *floor) floor = phys;
    }
  }
  return floor;
}

}  // namespace thruster::store
