#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "ha/replication_manager.h"
#include "store/message_store.h"
#include "store/message_store_config.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/small_store.h"

namespace thruster::ha {

struct ControllerBrokerOptions {
  int64_t controller_id = 1;
  store::MessageStoreConfig store_config = testing::SmallStoreConfig();
  std::string topic = "TopicI";
  std::string tags = "TagI";
  size_t body_padding = 0;  // dots appended to every body Put() stores
  // The replication manager's (HA connections, the in-sync set); the store
  // keeps the system clock. Must outlive the broker.
  const Clock* clock = SystemClock::Default();
};

// One controller-mode broker for the ha tests: a store on its own in-memory
// file system and a ReplicationManager speaking the auto-switch stream
// (HaServiceOptions::controller_mode) on a loopback port, with the controller
// id it would get from etcd. The test drives the roles itself
// (BecomeMaster/BecomeSlave/OnSyncStateSetRecorded), as the controller would.
// Lifecycle: constructed loaded, started and fenced → Put/roles → Restart()
// any number of times → destroyed (replication first, then the store). Not
// thread-safe (the test thread only).
struct ControllerBroker {
  explicit ControllerBroker(ControllerBrokerOptions options);
  ControllerBroker(int64_t controller_id, store::MessageStoreConfig config);
  ~ControllerBroker();

  // (Re)creates the replication manager on the running store.
  void StartReplication();
  // A broker process restart: replication and the store stop (a clean
  // shutdown), the store is loaded again from the same files and started, and
  // a new replication manager starts, fenced, at epoch 0.
  void Restart();

  std::string address() const;
  // A SYNC put of one message to the options' topic, queue 0.
  store::PutResult Put(const std::string& body);
  // The CommitLog's bytes from 0 to the max phys offset.
  std::string Log();

  const ControllerBrokerOptions options;
  const int64_t id;
  testing::MemFileSystem fs;
  std::unique_ptr<store::MessageStore> store;
  std::unique_ptr<ReplicationManager> repl;

 private:
  void OpenStore();
};

}  // namespace thruster::ha
