#pragma once

#include "broker/filter/sql_filter.h"
#include "broker/request_processor.h"

// CHECK_CLIENT_CONFIG (46): what a Java consumer with an SQL92 subscription
// asks every broker before its first heartbeat, so a bad expression fails the
// consumer's start instead of its pulls. Body (CheckClientRequestBody):
// {"clientId":…,"group":…,"subscriptionData":{SubscriptionData}}. A TAG
// subscription (or none) is SUCCESS; with enablePropertyFilter off,
// SYSTEM_ERROR "The broker does not support consumer to filter message by
// <type>"; an expression that does not compile, SUBSCRIPTION_PARSE_FAILED with
// the compiler's message.
//
// Thread-safe. `context` must outlive it.
namespace thruster::broker {

class CheckClientConfigProcessor final : public RequestProcessor {
 public:
  explicit CheckClientConfigProcessor(const BrokerContext& context)
      : context_(context) {}

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
};

}  // namespace thruster::broker
