// INVOKE_BROKER_TO_RESET_OFFSET: spec/remoting.md §3.4.27.
#include "broker/reset_offset_processor.h"

#include <algorithm>
#include <map>

#include "broker/processor_util.h"
#include "common/logging.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

}  // namespace

ResetOffsetProcessor::ResetOffsetProcessor(const BrokerContext& context,
                                           const store::MessageStore& store,
                                           const TopicConfigManager& topics,
                                           ConsumerOffsetManager& offsets,
                                           const ClientManager& clients)
    : context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      clients_(clients) {}

void ResetOffsetProcessor::ProcessRequest(RemotingCommand req,
                                          remoting::Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<std::string_view> group = req.RequireExt("group");
  Result<int64_t> timestamp = req.RequireExtInt64("timestamp");
  if (AnsweredRequestError(
          req, r, {topic.status(), group.status(), timestamp.status()}))
    return;
  const bool force = req.ExtBoolOr("isForce", true);
  const int32_t only_queue = req.ExtInt32Or("queueId", -1);
  const std::string_view fixed_text = req.ExtOr("offset", "");
  std::optional<int64_t> fixed;
  if (!fixed_text.empty()) {
    Result<int64_t> v = req.RequireExtInt64("offset");
    if (AnsweredRequestError(req, r, {v.status()})) return;
    fixed = *v;
  }
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc) {
    return SendError(req, r, rc::kSystemError,
                     "[reset-offset] reset offset failed, no topic in this "
                     "broker. topic=" +
                         std::string(*topic));
  }
  std::map<int32_t, int64_t> reset;
  for (int32_t q = 0; q < tc->write_queue_nums; ++q) {
    if (only_queue >= 0 && q != only_queue) continue;
    const int64_t min = store_.GetMinOffsetInQueue(*topic, q);
    const int64_t max = store_.GetMaxOffsetInQueue(*topic, q);
    int64_t target;
    if (fixed) {
      target = std::clamp(*fixed, min, max);
    } else if (*timestamp < 0) {
      target = max;
    } else {
      target = std::max<int64_t>(
          0, store_.GetOffsetInQueueByTime(*topic, q, *timestamp));
    }
    std::optional<int64_t> committed = offsets_.Query(*group, *topic, q);
    if (!force && committed && *committed <= target) target = *committed;
    reset[q] = target;
  }
  for (const auto& [q, offset] : reset)
    offsets_.Commit(*group, *topic, q, offset);

  // The body: the fastjson map with MessageQueue keys, or the list a C++
  // client reads (§3.4.27).
  const bool cpp = req.language() == remoting::LanguageCode::kCpp;
  json::Value table = cpp ? json::Value::Array() : json::Value::Object();
  for (const auto& [q, offset] : reset) {
    if (cpp) {
      json::Value e = json::Value::Object();
      e.Set("brokerName", json::Value::String(context_.config.broker_name));
      e.Set("offset", json::Value::Int(offset));
      e.Set("queueId", json::Value::Int(q));
      e.Set("topic", json::Value::String(std::string(*topic)));
      table.Push(std::move(e));
    } else {
      table.Add(MessageQueueJson(context_.config.broker_name, q, *topic),
                json::Value::Int(offset));
    }
  }
  json::Value body = json::Value::Object();
  body.Set("offsetTable", std::move(table));
  const std::string encoded = json::Write(body);

  // Running consumers hold their offsets in memory: tell them (their answer to
  // RESET_CONSUMER_CLIENT_OFFSET is to take these offsets).
  size_t notified = 0;
  for (const auto& conn : clients_.ConsumerConnections(*group)) {
    RemotingCommand push = RemotingCommand::CreateRequest(
        request_code::kResetConsumerClientOffset);
    push.SetExt("topic", std::string(*topic));
    push.SetExt("group", std::string(*group));
    push.SetExt("timestamp", *timestamp);
    push.SetExtBool("isForce", force);
    push.set_body(std::string_view(encoded));
    if (Status s = conn->InvokeOneway(std::move(push)); s.ok()) {
      ++notified;
    } else {
      TH_LOG(broker, kWarn, "reset offset: telling {} failed: {}",
             conn->remote_address(), s.ToString());
    }
  }
  TH_LOG(broker, kInfo,
         "reset offsets of group {} on topic {} ({} queues, timestamp {}, "
         "force {}); {} consumers told",
         *group, *topic, reset.size(), *timestamp, force, notified);
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(encoded));
  r.Send(std::move(resp));
}

}  // namespace thruster::broker
