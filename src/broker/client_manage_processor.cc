// HEART_BEAT (34) and UNREGISTER_CLIENT (35): spec/remoting.md §3.4.6, §3.4.7.
#include "broker/client_manage_processor.h"

#include <algorithm>

#include "broker/processor_util.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

}  // namespace

ClientManageProcessor::ClientManageProcessor(const BrokerContext& context,
                                             ClientManager& clients,
                                             TopicConfigManager& topics,
                                             SubscriptionGroupManager* groups)
    : context_(context), clients_(clients), topics_(topics), groups_(groups) {}

void ClientManageProcessor::ProcessRequest(RemotingCommand request,
                                           remoting::Responder responder) {
  if (request.code() == request_code::kUnregisterClient) {
    UnregisterClient(std::move(request), std::move(responder));
  } else {
    Heartbeat(std::move(request), std::move(responder));
  }
}

void ClientManageProcessor::Heartbeat(RemotingCommand req,
                                      remoting::Responder r) {
  Result<HeartbeatData> hb = HeartbeatData::Parse(req.body_view());
  if (AnsweredRequestError(req, r, {hb.status()})) return;
  ClientChannel channel;
  if (auto conn = r.connection()) {
    channel.connection = conn;
    channel.connection_id = conn->id();
    channel.remote_address = conn->remote_address();
  }
  channel.language = std::string(remoting::LanguageName(req.language()));
  channel.version = req.version();
  channel.last_update_ms = context_.clock.NowMs();
  bool created_topic = false;
  for (const ConsumerData& cd : hb->consumers) {
    int32_t retry_queues = 1;
    if (groups_ != nullptr) {
      std::optional<SubscriptionGroupConfig> g =
          groups_->FindOrAutoCreate(cd.group_name);
      if (g) retry_queues = std::max(1, g->retry_queue_nums);
    }
    Result<std::pair<remoting::TopicConfig, bool>> retry =
        topics_.FindOrCreate(RetryTopic(cd.group_name), retry_queues,
                             remoting::kPermRead | remoting::kPermWrite);
    if (!retry.ok()) {
      return SendError(req, r, rc::kSystemError,
                       "cannot create the retry topic of group " +
                           cd.group_name + ": " +
                           std::string(retry.status().message()));
    }
    created_topic = created_topic || retry->second;
  }
  if (created_topic) context_.request_registration();
  std::vector<std::string> changed = clients_.Heartbeat(*hb, channel);
  r.Send(req.CreateResponse(rc::kSuccess));
  clients_.NotifyConsumerIdsChanged(changed);
}

void ClientManageProcessor::UnregisterClient(RemotingCommand req,
                                             remoting::Responder r) {
  Result<std::string_view> client_id = req.RequireExt("clientID");
  if (AnsweredRequestError(req, r, {client_id.status()})) return;
  auto conn = r.connection();
  std::vector<std::string> changed =
      clients_.Unregister(conn ? conn->id() : 0, req.ExtOr("producerGroup", ""),
                          req.ExtOr("consumerGroup", ""));
  r.Send(req.CreateResponse(rc::kSuccess));
  clients_.NotifyConsumerIdsChanged(changed);
}

}  // namespace thruster::broker
