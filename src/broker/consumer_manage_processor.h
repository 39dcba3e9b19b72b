#pragma once

#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/request_processor.h"
#include "store/message_store.h"

namespace thruster::broker {

// GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14) and
// UPDATE_CONSUMER_OFFSET (15): spec/remoting.md §3.4.8–§3.4.10. A group's
// live members, and its committed offsets (with RocketMQ's young-queue rule
// for a group that has none yet).
//
// Thread-safe. Every reference must outlive the processor.
class ConsumerManageProcessor final : public RequestProcessor {
 public:
  ConsumerManageProcessor(const BrokerContext& context,
                          store::MessageStore& store, ClientManager& clients,
                          ConsumerOffsetManager& offsets);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void GetConsumerList(remoting::RemotingCommand req, remoting::Responder r);
  void QueryConsumerOffset(remoting::RemotingCommand req,
                           remoting::Responder r);
  void UpdateConsumerOffset(remoting::RemotingCommand req,
                            remoting::Responder r);

  const BrokerContext& context_;
  store::MessageStore& store_;
  ClientManager& clients_;
  ConsumerOffsetManager& offsets_;
};

}  // namespace thruster::broker
