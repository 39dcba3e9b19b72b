#pragma once

#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

namespace thruster::broker {

// INVOKE_BROKER_TO_RESET_OFFSET (222, spec/remoting.md §3.4.27), what mqadmin
// resetOffsetByTime sends to every broker of the topic. Header `topic`,
// `group`, `timestamp` (ms; -1 = the queue's end), `isForce`, optional
// `queueId` (-1 = all) and `offset` (a fixed offset instead of a time).
//
// For each write queue the target is the first offset stored at or after
// `timestamp`; without isForce a queue whose committed offset is already before
// the target keeps it (only rolls back, as RocketMQ). The results become the
// group's committed offsets at once, so the reset holds for consumers that are
// offline (as RocketMQ 5's server-side reset), and every online consumer of
// the group is told with RESET_CONSUMER_CLIENT_OFFSET (220, oneway; RocketMQ
// 4's way, which makes a running client drop its in-memory offsets). The
// answer is SUCCESS with body {"offsetTable":{{MessageQueue}:offset}} (a list
// of {brokerName, offset, queueId, topic} for a CPP caller); an unknown topic
// is SYSTEM_ERROR.
//
// Thread-safe. Every reference must outlive the processor.
class ResetOffsetProcessor final : public RequestProcessor {
 public:
  ResetOffsetProcessor(const BrokerContext& context,
                       const store::MessageStore& store,
                       const TopicConfigManager& topics,
                       ConsumerOffsetManager& offsets,
                       const ClientManager& clients);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
  const store::MessageStore& store_;
  const TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  const ClientManager& clients_;
};

}  // namespace thruster::broker
