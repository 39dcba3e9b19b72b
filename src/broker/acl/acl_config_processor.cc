#include "broker/acl/acl_config_processor.h"

#include <fmt/format.h>

#include "broker/processor_util.h"
#include "common/logging.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::broker::acl {
namespace {

using remoting::RemotingCommand;
using remoting::Responder;
namespace code = remoting::request_code;
namespace json = remoting::json;

// "a=PUB,b=SUB" → {"a=PUB", "b=SUB"} (empty items dropped).
std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t pos = s.find(',');
    std::string_view item = s.substr(0, pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

json::Value DataVersionJson(const AclDataVersion& v) {
  json::Value o = json::Value::Object();
  o.Set("counter", json::Value::Int(v.counter));
  o.Set("timestamp", json::Value::Int(v.timestamp));
  return o;
}

}  // namespace

void AclConfigProcessor::ProcessRequest(RemotingCommand request,
                                        Responder responder) {
  if (request.code() == code::kGetBrokerClusterAclInfo) {
    GetAclInfo(request, responder);
    return;
  }
  MutexLock lock(&mu_);
  switch (request.code()) {
    case code::kUpdateAndCreateAclConfig:
      UpdateAccount(request, responder);
      return;
    case code::kDeleteAclConfig:
      DeleteAccount(request, responder);
      return;
    case code::kUpdateGlobalWhiteAddrsConfig:
      UpdateGlobalWhiteAddrs(request, responder);
      return;
    default:
      SendError(
          request, responder, remoting::response_code::kRequestCodeNotSupported,
          fmt::format("request code {} is not an ACL command", request.code()));
  }
}

void AclConfigProcessor::UpdateAccount(const RemotingCommand& req,
                                       const Responder& r) {
  constexpr int32_t kFailed =
      remoting::response_code::kUpdateAndCreateAclConfigFailed;
  const std::string_view ak = req.ExtOr("accessKey", "");
  if (ak.size() < kMinAclKeyLength) {
    SendError(req, r, kFailed,
              fmt::format("accessKey must have at least {} characters",
                          kMinAclKeyLength));
    return;
  }
  Result<PlainAclConfig> config = validator_.ReadFile();
  if (!config.ok()) {
    SendError(req, r, kFailed, config.status().ToString());
    return;
  }
  PlainAccessAccount* acc = nullptr;
  for (PlainAccessAccount& a : config->accounts)
    if (a.access_key == ak) acc = &a;
  if (acc == nullptr) {
    config->accounts.push_back(PlainAccessAccount{});
    acc = &config->accounts.back();
    acc->access_key = std::string(ak);
  }
  // Fields the request carries replace the account's; absent ones stay (as
  // RocketMQ's updateAccessConfig).
  if (auto v = req.FindExt("secretKey"); v && !v->empty())
    acc->secret_key = std::string(*v);
  if (auto v = req.FindExt("whiteRemoteAddress"))
    acc->white_remote_address = std::string(*v);
  if (auto v = req.FindExt("admin")) acc->admin = req.ExtBoolOr("admin", false);
  if (auto v = req.FindExt("defaultTopicPerm"))
    acc->default_topic_perm = std::string(*v);
  if (auto v = req.FindExt("defaultGroupPerm"))
    acc->default_group_perm = std::string(*v);
  if (auto v = req.FindExt("topicPerms")) acc->topic_perms = SplitComma(*v);
  if (auto v = req.FindExt("groupPerms")) acc->group_perms = SplitComma(*v);
  if (acc->secret_key.size() < kMinAclKeyLength) {
    SendError(req, r, kFailed,
              fmt::format("secretKey must have at least {} characters",
                          kMinAclKeyLength));
    return;
  }
  if (Status s = validator_.WriteFile(std::move(config).value()); !s.ok()) {
    SendError(req, r, kFailed, s.ToString());
    return;
  }
  TH_LOG(broker, kInfo, "ACL account {} created or updated", ak);
  r.Send(req.CreateResponse(remoting::response_code::kSuccess));
}

void AclConfigProcessor::DeleteAccount(const RemotingCommand& req,
                                       const Responder& r) {
  constexpr int32_t kFailed = remoting::response_code::kDeleteAclConfigFailed;
  const std::string_view ak = req.ExtOr("accessKey", "");
  Result<PlainAclConfig> config = validator_.ReadFile();
  if (!config.ok()) {
    SendError(req, r, kFailed, config.status().ToString());
    return;
  }
  const size_t before = config->accounts.size();
  std::erase_if(config->accounts, [&](const PlainAccessAccount& a) {
    return a.access_key == ak;
  });
  if (config->accounts.size() == before) {
    SendError(req, r, kFailed, fmt::format("No acl config for {}", ak));
    return;
  }
  if (Status s = validator_.WriteFile(std::move(config).value()); !s.ok()) {
    SendError(req, r, kFailed, s.ToString());
    return;
  }
  TH_LOG(broker, kInfo, "ACL account {} deleted", ak);
  r.Send(req.CreateResponse(remoting::response_code::kSuccess));
}

void AclConfigProcessor::UpdateGlobalWhiteAddrs(const RemotingCommand& req,
                                                const Responder& r) {
  constexpr int32_t kFailed =
      remoting::response_code::kUpdateGlobalWhiteAddrsConfigFailed;
  const std::string_view path = req.ExtOr("aclFileFullPath", "");
  if (!path.empty() && path != validator_.options().file_path) {
    SendError(req, r, kFailed,
              fmt::format("{} is not this broker's ACL file", path));
    return;
  }
  Result<PlainAclConfig> config = validator_.ReadFile();
  if (!config.ok()) {
    SendError(req, r, kFailed, config.status().ToString());
    return;
  }
  config->global_white_remote_addresses =
      SplitComma(req.ExtOr("globalWhiteAddrs", ""));
  if (Status s = validator_.WriteFile(std::move(config).value()); !s.ok()) {
    SendError(req, r, kFailed, s.ToString());
    return;
  }
  TH_LOG(broker, kInfo, "ACL global white addresses replaced");
  r.Send(req.CreateResponse(remoting::response_code::kSuccess));
}

void AclConfigProcessor::GetAclInfo(const RemotingCommand& req,
                                    const Responder& r) {
  const AclDataVersion v = validator_.data_version();
  RemotingCommand resp = req.CreateResponse(remoting::response_code::kSuccess);
  resp.SetExt("version", json::Write(DataVersionJson(v)));
  json::Value all = json::Value::Object();
  all.Set(validator_.options().file_path, DataVersionJson(v));
  resp.SetExt("allAclFileVersion", json::Write(all));
  resp.SetExt("brokerName", ctx_.config.broker_name);
  resp.SetExt("brokerAddr", ctx_.store_host.ToString());
  resp.SetExt("clusterName", ctx_.config.broker_cluster_name);
  r.Send(std::move(resp));
}

}  // namespace thruster::broker::acl
