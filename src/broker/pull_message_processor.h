#pragma once

#include "broker/subscription_group_manager.h"

#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/filter/sql_filter.h"
#include "broker/pull_request_hold_service.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

namespace thruster::broker {

// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): spec/remoting.md §3.4.3.
// Found records go into the response as body segments pointing into the mapped
// CommitLog segments (zero copy); an empty answer to a pull with the suspend
// flag is parked in the PullRequestHoldService, which hands it back through
// ProcessHeld() when a message arrives or its time is up.
//
// Thread-safe. Every reference must outlive the processor.
class PullMessageProcessor final : public RequestProcessor {
 public:
  PullMessageProcessor(const BrokerContext& context, store::MessageStore& store,
                       TopicConfigManager& topics,
                       ConsumerOffsetManager& offsets, ClientManager& clients,
                       BrokerStats& stats, PullRequestHoldService& hold,
                       SubscriptionGroupManager* groups = nullptr);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;
  // Re-runs a parked pull (from `pull-hold`): answers whatever is there now,
  // never parks it again and never commits its offset a second time.
  void ProcessHeld(HeldPull pull);

 private:
  // `first` is false for a re-run from the hold service.
  void Pull(remoting::RemotingCommand req, remoting::Responder r, bool first);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  ClientManager& clients_;
  BrokerStats& stats_;
  PullRequestHoldService& hold_;
  // The groups' brokerId / whichBrokerWhenConsumeSlowly for
  // suggestWhichBrokerId (spec/ha.md §6.3); null: RocketMQ's defaults 0 / 1.
  SubscriptionGroupManager* groups_;
  // Compiled SQL92 subscriptions.
  filter::SqlFilterCache sql_filters_;
};

}  // namespace thruster::broker
