// AdminClient's subscription-group, broker-config, producer-connection and
// write-permission calls (spec/remoting.md §3.4.24, §3.4.27, §3.5.6).
#include <fmt/format.h>

#include "client/admin_client.h"
#include "common/properties.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::client {

namespace json = remoting::json;
using remoting::RemotingCommand;
namespace req_code = remoting::request_code;

Result<std::vector<std::string>> AdminClient::TargetBrokers(
    const std::string& broker_addr, const std::string& cluster) {
  if (broker_addr.empty() == cluster.empty())
    return Status::InvalidArgument(
        "give exactly one of -b BROKER_ADDR and -c CLUSTER");
  if (!broker_addr.empty()) return std::vector<std::string>{broker_addr};
  TH_ASSIGN_OR_RETURN(auto info, client_->FetchClusterInfo());
  auto it = info.cluster_addr_table.find(cluster);
  if (it == info.cluster_addr_table.end())
    return Status::NotFound(fmt::format("cluster {} does not exist", cluster));
  std::vector<std::string> addrs;
  for (const auto& name : it->second) {
    auto bd = info.broker_addr_table.find(name);
    if (bd == info.broker_addr_table.end()) continue;
    auto master = bd->second.broker_addrs.find(0);
    if (master != bd->second.broker_addrs.end())
      addrs.push_back(master->second);
  }
  if (addrs.empty())
    return Status::NotFound(
        fmt::format("cluster {} has no master broker", cluster));
  return addrs;
}

Result<std::vector<std::string>> AdminClient::UpdateSubGroup(
    const std::string& config_json, const std::string& broker_addr,
    const std::string& cluster) {
  TH_ASSIGN_OR_RETURN(auto addrs, TargetBrokers(broker_addr, cluster));
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kUpdateAndCreateSubscriptionGroup);
    req.set_body(std::string_view(config_json));
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("update subscription group on {}", addr)));
  }
  return addrs;
}

Result<std::vector<std::string>> AdminClient::DeleteSubGroup(
    const std::string& group, bool remove_offset,
    const std::string& broker_addr, const std::string& cluster) {
  TH_ASSIGN_OR_RETURN(auto addrs, TargetBrokers(broker_addr, cluster));
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kDeleteSubscriptionGroup);
    req.SetExt("groupName", group);
    req.SetExtBool("removeOffset", remove_offset);
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("delete subscription group {} on {}", group, addr)));
  }
  return addrs;
}

Result<std::vector<std::string>> AdminClient::UpdateBrokerConfig(
    const std::string& key, const std::string& value,
    const std::string& broker_addr, const std::string& cluster) {
  TH_ASSIGN_OR_RETURN(auto addrs, TargetBrokers(broker_addr, cluster));
  for (const auto& addr : addrs) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kUpdateBrokerConfig);
    req.set_body(std::string_view(key + "=" + value + "\n"));
    TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeBroker(addr, std::move(req)));
    TH_RETURN_IF_ERROR(StatusFromResponse(
        resp, fmt::format("update config {} on {}", key, addr)));
  }
  return addrs;
}

Result<std::map<std::string, std::string>> AdminClient::GetBrokerConfig(
    const std::string& broker_addr) {
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      client_->InvokeBroker(
          broker_addr, ClientInstance::NewRequest(req_code::kGetBrokerConfig)));
  TH_RETURN_IF_ERROR(
      StatusFromResponse(resp, fmt::format("config of {}", broker_addr)));
  const Properties p = Properties::Parse(resp.body_view());
  return std::map<std::string, std::string>(p.values().begin(),
                                            p.values().end());
}

Result<std::vector<ProducerConnectionEntry>> AdminClient::ProducerConnection(
    const std::string& group, const std::string& topic) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  std::vector<ProducerConnectionEntry> out;
  std::string last_error;
  for (const auto& [name, addr] : Masters(route)) {
    RemotingCommand req =
        ClientInstance::NewRequest(req_code::kGetProducerConnectionList);
    req.SetExt("producerGroup", group);
    Result<RemotingCommand> resp = client_->InvokeBroker(addr, std::move(req));
    if (!resp.ok()) {
      last_error = std::string(resp.status().message());
      continue;
    }
    if (resp->code() != remoting::response_code::kSuccess) {
      last_error = resp->remark();
      continue;
    }
    Result<json::Value> body = json::Parse(resp->body_view());
    if (!body.ok()) return body.status();
    const json::Value* set = body->Find("connectionSet");
    if (set == nullptr || !set->is_array()) continue;
    for (size_t i = 0; i < set->size(); ++i) {
      const json::Value& c = set->at(i);
      out.push_back({addr, c.GetString("clientId"), c.GetString("clientAddr"),
                     c.GetString("language"), c.GetInt64("version")});
    }
  }
  if (out.empty())
    return Status::NotFound(
        fmt::format("no producer of group {} is connected{}", group,
                    last_error.empty() ? "" : " (" + last_error + ")"));
  return out;
}

Result<int64_t> AdminClient::ChangeWritePerm(const std::string& broker_name,
                                             bool wipe) {
  RemotingCommand req =
      ClientInstance::NewRequest(wipe ? req_code::kWipeWritePermOfBroker
                                      : req_code::kAddWritePermOfBroker);
  req.SetExt("brokerName", broker_name);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp, client_->InvokeNameServer(req));
  TH_RETURN_IF_ERROR(StatusFromResponse(
      resp, fmt::format("{} write permission of broker {}",
                        wipe ? "wipe" : "add", broker_name)));
  Result<int64_t> count =
      resp.RequireExtInt64(wipe ? "wipeTopicCount" : "addTopicCount");
  return count.ok() ? *count : 0;
}

}  // namespace thruster::client
