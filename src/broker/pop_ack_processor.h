#pragma once

#include "broker/pop_service.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

// ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151) and
// CHANGE_MESSAGE_INVISIBLETIME (200053): spec/pop.md §3, §4, §7.4, §7.5.
// An ack marks a popped offset done (PopService writes the ack record); a
// change of invisible time writes a new checkpoint for the one message and
// acks the old one, so the handle the caller builds from the answer governs.
//
// A handle whose invisible time has already passed (popTime + invisibleTime
// <= now) is refused with NO_MESSAGE: its message may already be revived,
// and acking or extending it then would lose or duplicate it. (RocketMQ's
// broker answers SUCCESS and lets the revive win; its proxy refuses such
// handles with INVALID_RECEIPT_HANDLE before reaching the broker.)
//
// Thread-safe. Every reference must outlive the processor.
namespace thruster::broker {

class PopAckProcessor final : public RequestProcessor {
 public:
  PopAckProcessor(const BrokerContext& context, store::MessageStore& store,
                  TopicConfigManager& topics, PopService& pop);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void Ack(const remoting::RemotingCommand& req, const remoting::Responder& r);
  void BatchAck(const remoting::RemotingCommand& req,
                const remoting::Responder& r);
  void ChangeInvisibleTime(const remoting::RemotingCommand& req,
                           const remoting::Responder& r);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  PopService& pop_;
};

}  // namespace thruster::broker
