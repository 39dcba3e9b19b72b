#pragma once

#include <string>

#include "store/message_store_config.h"

namespace thruster::testing {

// A store sized for tests on the in-memory file system: 8 KiB CommitLog
// segments, 50-entry consume-queue files, a 64-slot / 256-entry index, 10 ms
// flush intervals and no pre-touch, so that a few messages roll every kind of
// file.
store::MessageStoreConfig SmallStoreConfig(std::string root = "/store");

}  // namespace thruster::testing
