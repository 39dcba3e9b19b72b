#include "tests/ha/controller_broker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <utility>

#include "common/coding.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "tests/support/test_util.h"

namespace thruster::ha {

ControllerBroker::ControllerBroker(ControllerBrokerOptions o)
    : options(std::move(o)), id(options.controller_id) {
  OpenStore();
  StartReplication();
}

ControllerBroker::ControllerBroker(int64_t controller_id,
                                   store::MessageStoreConfig config)
    : ControllerBroker(ControllerBrokerOptions{controller_id, std::move(config),
                                               "TopicI", "TagI", 0,
                                               SystemClock::Default()}) {}

ControllerBroker::~ControllerBroker() {
  repl.reset();
  if (store != nullptr) store->Shutdown();
}

void ControllerBroker::OpenStore() {
  store = std::make_unique<store::MessageStore>(&fs, options.store_config);
  EXPECT_OK(store->Load());
  EXPECT_OK(store->Start());
}

void ControllerBroker::StartReplication() {
  repl.reset();
  HaServiceOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.controller_mode = true;
  o.controller_id = id;
  repl = std::make_unique<ReplicationManager>(store.get(), o, options.clock);
  EXPECT_OK(repl->Start(""));
}

void ControllerBroker::Restart() {
  repl.reset();
  store->Shutdown();
  store.reset();
  OpenStore();
  StartReplication();
}

std::string ControllerBroker::address() const {
  return "127.0.0.1:" + std::to_string(repl->ha_port());
}

store::PutResult ControllerBroker::Put(const std::string& body) {
  const std::string props = message::EncodeProperties(
      std::map<std::string, std::string, std::less<>>{{"TAGS", options.tags}});
  const std::string padded = body + std::string(options.body_padding, '.');
  message::MessageToStore m;
  m.topic = options.topic;
  m.queue_id = 0;
  m.body = AsBytes(padded);
  m.properties = props;
  m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
  m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
  return store->PutMessage(m);
}

std::string ControllerBroker::Log() {
  std::string out;
  int64_t from = 0;
  const int64_t to = store->GetMaxPhyOffset();
  while (from < to) {
    auto d = store->commit_log().GetData(store::PhysOffset{from});
    if (!d || d->bytes.empty()) break;
    const size_t n =
        std::min<size_t>(d->bytes.size(), static_cast<size_t>(to - from));
    out.append(reinterpret_cast<const char*>(d->bytes.data()), n);
    from += static_cast<int64_t>(n);
  }
  return out;
}

}  // namespace thruster::ha
