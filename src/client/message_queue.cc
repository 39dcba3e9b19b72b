#include "client/message_queue.h"

#include <fmt/format.h>

#include "remoting/route_data.h"

namespace thruster::client {

namespace json = remoting::json;

json::Value MessageQueue::ToJson() const {
  json::Value v = json::Value::Object();
  v.Set("brokerName", json::Value::String(broker_name));
  v.Set("queueId", json::Value::Int(queue_id));
  v.Set("topic", json::Value::String(topic));
  return v;
}

Result<MessageQueue> MessageQueue::FromJson(const json::Value& v) {
  if (!v.is_object())
    return Status::InvalidArgument("MessageQueue is not a JSON object");
  MessageQueue mq;
  mq.topic = v.GetString("topic");
  mq.broker_name = v.GetString("brokerName");
  mq.queue_id = remoting::GetInt32(v, "queueId", 0);
  return mq;
}

std::string MessageQueue::ToString() const {
  return fmt::format("{}@{}#{}", topic, broker_name, queue_id);
}

}  // namespace thruster::client
