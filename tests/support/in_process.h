#pragma once

#include <cstdint>
#include <string>

#include "broker/broker_config.h"
#include "namesrv/name_server.h"
#include "store/message_store_config.h"

// Configs for the tests that run a name server and brokers inside the test
// process, on loopback with ephemeral ports.
namespace thruster::testing {

// A name server on 127.0.0.1, an ephemeral port, one io thread.
namesrv::NameServerOptions LoopbackNameServerOptions();

// A broker on 127.0.0.1 (bound and advertised), an ephemeral port,
// `io_threads` network threads, registering with `namesrv_addr` (empty: with
// none).
broker::BrokerConfig LoopbackBrokerConfig(std::string namesrv_addr = "",
                                          int io_threads = 1);

// A store on disk under `root`: `commit_log_segment`-byte CommitLog segments,
// consume-queue files of `consume_queue_entries` entries and a 1000-slot /
// 4000-entry index, so that a test rolls files with little data.
store::MessageStoreConfig SmallDiskStoreConfig(
    std::string root, int64_t commit_log_segment = 1 << 20,
    int64_t consume_queue_entries = 300);

}  // namespace thruster::testing
