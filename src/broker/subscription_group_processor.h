#pragma once

#include "broker/consumer_offset_manager.h"
#include "broker/request_processor.h"
#include "broker/subscription_group_manager.h"

namespace thruster::broker {

// The subscription-group admin calls (spec/remoting.md §3.4.27), as mqadmin
// updateSubGroup / deleteSubGroup and dashboards send them:
//   UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200)  body: SubscriptionGroupConfig
//   GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201)     answers the whole table
//   DELETE_SUBSCRIPTIONGROUP (207)             header groupName, and
//                                              removeOffset (4.9) / cleanOffset
//                                              to drop the group's offsets too
//
// Thread-safe. Every reference must outlive the processor.
class SubscriptionGroupProcessor final : public RequestProcessor {
 public:
  SubscriptionGroupProcessor(SubscriptionGroupManager& groups,
                             ConsumerOffsetManager& offsets);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void Update(remoting::RemotingCommand req, remoting::Responder r);
  void GetAll(remoting::RemotingCommand req, remoting::Responder r);
  void Delete(remoting::RemotingCommand req, remoting::Responder r);

  SubscriptionGroupManager& groups_;
  ConsumerOffsetManager& offsets_;
};

}  // namespace thruster::broker
