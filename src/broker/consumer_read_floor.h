#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "broker/consumer_offset_manager.h"
#include "store/message_store.h"

// The lowest CommitLog phys offset that a live consumer group still has to
// read: over every queue of the store and every online group with a committed
// offset on its topic, the phys offset of the first message not yet consumed
// (a queue the group has read to its end counts for nothing). The store's
// CacheKeepPolicy keeps the pages from there to the writer in the page cache
// (commitLogCacheKeepMb=-1) and recycles the rest first.
//
// Thread-safe (reads the store and the offset table under their own locks).
namespace thruster::broker {

// `online(group)`: whether a consumer of `group` is connected now. nullopt
// when no online group has anything left to read.
std::optional<int64_t> LowestPhysOffsetToRead(
    const store::MessageStore& store, const ConsumerOffsetManager& offsets,
    const std::function<bool(std::string_view group)>& online);

}  // namespace thruster::broker
