// Compiled in the store layer's include context: the store's own headers and the common layer's resolve.
#include "common/status.h"
#include "store/message_store.h"

namespace thruster {
int LayersStoreSeesStore() { return Status::OK().ok() ? 0 : 1; }
}  // namespace thruster
