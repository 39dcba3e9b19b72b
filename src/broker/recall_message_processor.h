#pragma once

#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

// RECALL_MESSAGE (370, RocketMQ 5.3): spec/schedule-and-timer.md §7. Cancels a
// timer message that is not due yet, named by the recall handle its send
// answered (remoting/recall_handle.h). Header `producerGroup`, `topic`,
// `recallHandle`. Checks, in RocketMQ's order: recallMessageEnable (else
// NO_PERMISSION), a slave (SLAVE_NOT_AVAILABLE), a broker without write
// permission unless allowRecallWhenBrokerNotWriteable
// (SERVICE_NOT_AVAILABLE), an unknown topic (TOPIC_NOT_EXIST), then the
// handle: not decodable, another topic, another broker, or a time not in
// (now, now + timerMaxDelaySec] → ILLEGAL_OPERATION (604).
//
// The effect is a cancel record put like a timer message sent to `topic`
// queue 0 for the handle's time: body "0", tag _RECALL_TAG_, the target's
// UNIQ_KEY, TIMER_DEL_UNIQKEY = "<topic>+<UNIQ_KEY>". The timer transform
// parks it in the target's slot, whose release then drops the target
// (timer_message_service.h). SUCCESS (header `msgId` = the UNIQ_KEY) means
// the cancel is stored; a recall that reaches the timer store after the slot
// was released cancels nothing, as in RocketMQ.
//
// Thread-safe. `context`, `store` and `topics` must outlive it.
namespace thruster::broker {

class RecallMessageProcessor final : public RequestProcessor {
 public:
  RecallMessageProcessor(const BrokerContext& context,
                         store::MessageStore& store,
                         const TopicConfigManager& topics);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
  store::MessageStore& store_;
  const TopicConfigManager& topics_;
};

}  // namespace thruster::broker
