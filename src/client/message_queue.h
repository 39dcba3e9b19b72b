#pragma once

// MessageQueue (spec/remoting.md §3.3): one queue of a topic on one broker
// group. Identity is the triple; order is topic, broker name, queue id.

#include <compare>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "remoting/json.h"

namespace thruster::client {

struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;

  // {"brokerName":"b","queueId":0,"topic":"T"} (members alphabetical, like
  // fastjson writes them).
  remoting::json::Value ToJson() const;
  // Lenient: queueId may be a number or a numeric string. InvalidArgument when
  // `v` is not an object.
  static Result<MessageQueue> FromJson(const remoting::json::Value& v);
  // "T@broker-a#0", for logs and tables.
  std::string ToString() const;

  friend auto operator<=>(const MessageQueue&, const MessageQueue&) = default;
};

}  // namespace thruster::client
