#include "tests/support/in_process.h"

#include <utility>

namespace thruster::testing {

namesrv::NameServerOptions LoopbackNameServerOptions() {
  namesrv::NameServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.io_threads = 1;
  return o;
}

broker::BrokerConfig LoopbackBrokerConfig(std::string namesrv_addr,
                                          int io_threads) {
  broker::BrokerConfig c;
  c.bind_address = "127.0.0.1";
  c.broker_ip1 = "127.0.0.1";
  c.listen_port = 0;
  c.namesrv_addr = std::move(namesrv_addr);
  c.io_threads = io_threads;
  return c;
}

store::MessageStoreConfig SmallDiskStoreConfig(std::string root,
                                               int64_t commit_log_segment,
                                               int64_t consume_queue_entries) {
  store::MessageStoreConfig c;
  c.store_path_root_dir = std::move(root);
  c.mapped_file_size_commit_log = commit_log_segment;
  c.mapped_file_size_consume_queue = 20 * consume_queue_entries;
  c.max_hash_slot_num = 1000;
  c.max_index_num = 4000;
  return c;
}

}  // namespace thruster::testing
