#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "broker/consumer_offset_manager.h"
#include "store/message_store.h"

// The broker's side of commitLogCacheKeepMb=-1: the lowest CommitLog phys
// offset an online consumer group still has to read, from the committed
// offsets of every group that has a consumer connected now (see
// store/reader_floor.h).
//
// Thread-safe (reads the store and the offset table under their own locks).
namespace thruster::broker {

// `online(group)`: whether a consumer of `group` is connected now. nullopt
// when no online group has anything left to read.
std::optional<int64_t> LowestPhysOffsetToRead(
    const store::MessageStore& store, const ConsumerOffsetManager& offsets,
    const std::function<bool(std::string_view group)>& online);

}  // namespace thruster::broker
