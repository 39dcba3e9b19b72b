#include "tests/support/small_store.h"

#include <utility>

namespace thruster::testing {

store::MessageStoreConfig SmallStoreConfig(std::string root) {
  store::MessageStoreConfig c;
  c.store_path_root_dir = std::move(root);
  c.mapped_file_size_commit_log = 8192;
  c.mapped_file_size_consume_queue = 20 * 50;
  c.max_hash_slot_num = 64;
  c.max_index_num = 256;
  c.flush_interval_commit_log = 10;
  c.flush_interval_consume_queue = 10;
  c.pre_touch_mapped_file = false;
  return c;
}

}  // namespace thruster::testing
