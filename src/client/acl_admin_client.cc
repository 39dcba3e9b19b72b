#include "client/acl_admin_client.h"

#include <fmt/format.h>

#include "client/admin_client.h"
#include "remoting/codes.h"

namespace thruster::client {
namespace {

using remoting::RemotingCommand;
namespace req_code = remoting::request_code;

}  // namespace

Result<std::vector<std::string>> AclAdminClient::Targets(
    const std::string& broker_addr, const std::string& cluster) {
  return AdminClient(client_).TargetBrokers(broker_addr, cluster);
}

Result<std::vector<std::string>> AclAdminClient::SendAll(
    const RemotingCommand& req, const std::string& broker_addr,
    const std::string& cluster, std::string_view what) {
  TH_ASSIGN_OR_RETURN(auto addrs, Targets(broker_addr, cluster));
  for (const std::string& addr : addrs) {
    TH_ASSIGN_OR_RETURN(RemotingCommand resp, client_->InvokeBroker(addr, req));
    TH_RETURN_IF_ERROR(
        StatusFromResponse(resp, fmt::format("{} on {}", what, addr)));
  }
  return addrs;
}

Result<std::vector<std::string>> AclAdminClient::UpdateAclConfig(
    const AclAccountUpdate& u, const std::string& broker_addr,
    const std::string& cluster) {
  RemotingCommand req =
      ClientInstance::NewRequest(req_code::kUpdateAndCreateAclConfig);
  req.SetExt("accessKey", u.access_key);
  if (u.secret_key) req.SetExt("secretKey", *u.secret_key);
  if (u.white_remote_address)
    req.SetExt("whiteRemoteAddress", *u.white_remote_address);
  if (u.admin) req.SetExtBool("admin", *u.admin);
  if (u.default_topic_perm)
    req.SetExt("defaultTopicPerm", *u.default_topic_perm);
  if (u.default_group_perm)
    req.SetExt("defaultGroupPerm", *u.default_group_perm);
  if (u.topic_perms) req.SetExt("topicPerms", *u.topic_perms);
  if (u.group_perms) req.SetExt("groupPerms", *u.group_perms);
  return SendAll(req, broker_addr, cluster,
                 "update ACL account " + u.access_key);
}

Result<std::vector<std::string>> AclAdminClient::DeleteAclConfig(
    const std::string& access_key, const std::string& broker_addr,
    const std::string& cluster) {
  RemotingCommand req = ClientInstance::NewRequest(req_code::kDeleteAclConfig);
  req.SetExt("accessKey", access_key);
  return SendAll(req, broker_addr, cluster, "delete ACL account " + access_key);
}

Result<std::vector<std::string>> AclAdminClient::UpdateGlobalWhiteAddr(
    const std::string& addresses, const std::string& broker_addr,
    const std::string& cluster) {
  RemotingCommand req =
      ClientInstance::NewRequest(req_code::kUpdateGlobalWhiteAddrsConfig);
  req.SetExt("globalWhiteAddrs", addresses);
  return SendAll(req, broker_addr, cluster, "update global white addresses");
}

Result<std::vector<BrokerAclInfo>> AclAdminClient::ClusterAclConfigVersion(
    const std::string& broker_addr, const std::string& cluster) {
  TH_ASSIGN_OR_RETURN(auto addrs, Targets(broker_addr, cluster));
  std::vector<BrokerAclInfo> out;
  for (const std::string& addr : addrs) {
    TH_ASSIGN_OR_RETURN(
        RemotingCommand resp,
        client_->InvokeBroker(addr, ClientInstance::NewRequest(
                                        req_code::kGetBrokerClusterAclInfo)));
    TH_RETURN_IF_ERROR(
        StatusFromResponse(resp, "ACL config version of " + addr));
    BrokerAclInfo info;
    info.broker_addr = std::string(resp.ExtOr("brokerAddr", addr));
    info.broker_name = std::string(resp.ExtOr("brokerName", ""));
    info.cluster_name = std::string(resp.ExtOr("clusterName", ""));
    info.version = std::string(resp.ExtOr("version", ""));
    info.all_acl_file_version =
        std::string(resp.ExtOr("allAclFileVersion", ""));
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace thruster::client
