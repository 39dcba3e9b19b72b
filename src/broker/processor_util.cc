#include "broker/processor_util.h"

#include "broker/topic_config_manager.h"

namespace thruster::broker {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace json = remoting::json;

void SendError(const RemotingCommand& req, const remoting::Responder& r,
               int32_t code, std::string remark) {
  r.Send(req.CreateResponse(code, std::move(remark)));
}

bool AnsweredRequestError(const RemotingCommand& req,
                          const remoting::Responder& r,
                          std::initializer_list<Status> checks) {
  for (const Status& s : checks) {
    if (!s.ok()) {
      SendError(req, r, rc::kSystemError, std::string(s.message()));
      return true;
    }
  }
  return false;
}

std::optional<std::string_view> RequireValidTopic(
    const RemotingCommand& req, const remoting::Responder& r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  if (AnsweredRequestError(req, r, {topic.status()})) return std::nullopt;
  if (Status s = ValidateTopicName(*topic); !s.ok()) {
    SendError(req, r, rc::kInvalidParameter, std::string(s.message()));
    return std::nullopt;
  }
  return *topic;
}

void SendJson(const RemotingCommand& req, const remoting::Responder& r,
              const json::Value& body) {
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(json::Write(body)));
  r.Send(std::move(resp));
}

json::Value MessageQueueJson(std::string_view broker_name, int32_t queue_id,
                             std::string_view topic) {
  json::Value mq = json::Value::Object();
  mq.Set("brokerName", json::Value::String(std::string(broker_name)));
  mq.Set("queueId", json::Value::Int(queue_id));
  mq.Set("topic", json::Value::String(std::string(topic)));
  return mq;
}

}  // namespace thruster::broker
