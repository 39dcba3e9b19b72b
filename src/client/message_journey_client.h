#pragma once

#include <string>
#include <vector>

#include "client/client_instance.h"
#include "common/result.h"

// The admin side of the message journey (the broker's TRACE_MESSAGE, Thruster's
// own request code): asks brokers where a message is. `thruster admin
// traceMessage` and the dashboard's journey view are built on it.
namespace thruster::client {

struct JourneyRequest {
  std::string msg_id;  // offset msgId or UNIQ_KEY
  std::string topic;   // optional
  std::string key;     // used when msg_id is empty
  std::string group;   // optional: always shown
};

// One broker's answer: its address and the journey JSON it sent.
struct JourneyAnswer {
  std::string broker_addr;
  std::string json;
};

// Asks every master of the cluster info for the journey and returns the
// answers of the brokers that hold the message. NotFound when none does;
// InvalidArgument when neither msg_id nor key is given; the first transport
// error when no broker answered at all.
Result<std::vector<JourneyAnswer>> TraceMessage(ClientInstance* client,
                                                const JourneyRequest& request);

}  // namespace thruster::client
