#pragma once

#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

// SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325), request-reply
// messaging (RocketMQ's ReplyMessageProcessor): the reply is pushed with
// PUSH_REPLY_MESSAGE_TO_CLIENT (326) to the connection of the client named in
// its REPLY_TO_CLIENT property (the client id it registered by heartbeat), and
// stored in its topic as a send would store it. The send header is
// SEND_MESSAGE's (V2: the one-letter names). When that client has no open
// connection, or does not accept the push, the answer is SYSTEM_ERROR saying so
// (the reply is still stored).
//
// Thread-safe. Everything given to the constructor must outlive it.
namespace thruster::broker {

class ReplyMessageProcessor final : public RequestProcessor {
 public:
  ReplyMessageProcessor(const BrokerContext& context,
                        store::MessageStore& store, TopicConfigManager& topics,
                        ClientManager& clients, BrokerStats& stats);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ClientManager& clients_;
  BrokerStats& stats_;
};

}  // namespace thruster::broker
