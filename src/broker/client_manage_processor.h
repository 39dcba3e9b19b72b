#pragma once

#include "broker/client_manager.h"
#include "broker/request_processor.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"

namespace thruster::broker {

// HEART_BEAT (34) and UNREGISTER_CLIENT (35): spec/remoting.md §3.4.6,
// §3.4.7. Registers producers and consumers (creating each consumer group's
// retry topic) and tells a consumer group's members when its membership
// changed (NOTIFY_CONSUMER_IDS_CHANGED).
//
// Thread-safe. Every reference must outlive the processor.
class ClientManageProcessor final : public RequestProcessor {
 public:
  ClientManageProcessor(const BrokerContext& context, ClientManager& clients,
                        TopicConfigManager& topics,
                        SubscriptionGroupManager* groups = nullptr);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void Heartbeat(remoting::RemotingCommand req, remoting::Responder r);
  void UnregisterClient(remoting::RemotingCommand req, remoting::Responder r);

  const BrokerContext& context_;
  ClientManager& clients_;
  TopicConfigManager& topics_;
  // Consumer groups get their SubscriptionGroupConfig (auto-created) and as
  // many retry queues as it says; null: one retry queue.
  SubscriptionGroupManager* groups_;
};

}  // namespace thruster::broker
