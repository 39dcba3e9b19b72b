#pragma once

#include "broker/broker_stats.h"
#include "broker/request_processor.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "message/uniq_key.h"
#include "store/delay_level_table.h"
#include "store/message_store.h"

namespace thruster::broker {

// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
// CONSUMER_SEND_MSG_BACK (36): spec/remoting.md §3.4.1, §3.4.2, §3.4.14, §5.6,
// §6.8. Checks the header, permissions and topic (creating it from TBW102, a
// retry or a dead-letter topic as RocketMQ does), gives a message without one a
// UNIQ_KEY, then hands the record to MessageStore::AsyncPut… and answers from
// its completion: under SYNC_FLUSH on the `group-commit` thread once the
// record is durable.
//
// Thread-safe. `context`, `store`, `topics` and `stats` must outlive it.
class SendMessageProcessor final : public RequestProcessor {
 public:
  SendMessageProcessor(const BrokerContext& context, store::MessageStore& store,
                       TopicConfigManager& topics, BrokerStats& stats,
                       SubscriptionGroupManager* groups = nullptr);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void SendMessage(const remoting::RemotingCommand& req,
                   remoting::Responder&& r);
  // A retried record copied back into the group's retry topic, parked for its
  // back-off delay level, or into its dead-letter topic once it was retried
  // enough (spec/schedule-and-timer.md §4.1).
  void ConsumerSendMsgBack(remoting::RemotingCommand req,
                           remoting::Responder r);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  BrokerStats& stats_;
  // The groups' retryMaxTimes and retryQueueNums for send-back; null: the
  // broker's retryMaxTimes and one retry queue.
  SubscriptionGroupManager* groups_;
  // Keys are made from brokerIP1, which is known at construction.
  message::UniqKeyGenerator uniq_keys_;
  // messageDelayLevel, for parking delayed messages
  // (schedule_message_service.h).
  store::DelayLevelTable delay_levels_;
};

}  // namespace thruster::broker
