#include "client/message_journey_client.h"

#include <fmt/format.h>

#include <set>

namespace thruster::client {

Result<std::vector<JourneyAnswer>> TraceMessage(ClientInstance* client,
                                                const JourneyRequest& request) {
  namespace rc = remoting::response_code;
  if (request.msg_id.empty() && request.key.empty())
    return Status::InvalidArgument("give a message id (-i) or a key (-k)");
  TH_ASSIGN_OR_RETURN(remoting::ClusterInfo info, client->FetchClusterInfo());
  std::set<std::string> masters;
  for (const auto& [name, broker] : info.broker_addr_table) {
    if (auto it = broker.broker_addrs.find(0); it != broker.broker_addrs.end())
      masters.insert(it->second);
  }
  std::vector<JourneyAnswer> out;
  Status first_error = Status::OK();
  size_t answered = 0;
  std::string not_found;
  for (const std::string& addr : masters) {
    remoting::RemotingCommand req =
        ClientInstance::NewRequest(remoting::request_code::kTraceMessage);
    if (!request.msg_id.empty()) req.SetExt("msgId", request.msg_id);
    if (!request.topic.empty()) req.SetExt("topic", request.topic);
    if (!request.key.empty()) req.SetExt("key", request.key);
    if (!request.group.empty()) req.SetExt("group", request.group);
    Result<remoting::RemotingCommand> resp =
        client->InvokeBroker(addr, std::move(req));
    if (!resp.ok()) {
      if (first_error.ok()) first_error = resp.status();
      continue;
    }
    ++answered;
    if (resp->code() == rc::kQueryNotFound) {
      not_found = resp->remark();
      continue;
    }
    if (resp->code() != rc::kSuccess) {
      if (first_error.ok())
        first_error = StatusFromResponse(*resp, "trace message on " + addr);
      continue;
    }
    out.push_back(JourneyAnswer{addr, std::string(resp->body_view())});
  }
  if (!out.empty()) return out;
  if (!first_error.ok()) return first_error;
  if (answered == 0)
    return Status::NotFound("the cluster has no master broker");
  return Status::NotFound(not_found.empty() ? "message not found" : not_found);
}

}  // namespace thruster::client
