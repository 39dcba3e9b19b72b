#pragma once

// The plain-ACL admin calls of mqadmin (spec/acl.md §8): updateAclConfig,
// deleteAclConfig, clusterAclConfigVersion and updateGlobalWhiteAddr, sent to
// one broker or to every master of a cluster. The client must be started
// with an admin account's keys (ClientOptions::access_key/secret_key) when the
// brokers enforce ACL.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/client_instance.h"
#include "common/result.h"

namespace thruster::client {

// The fields of UPDATE_AND_CREATE_ACL_CONFIG; unset ones are not sent, so the
// broker keeps the account's current values.
struct AclAccountUpdate {
  std::string access_key;
  std::optional<std::string> secret_key;
  std::optional<std::string> white_remote_address;
  std::optional<bool> admin;
  std::optional<std::string> default_topic_perm;
  std::optional<std::string> default_group_perm;
  std::optional<std::string> topic_perms;  // "a=PUB,b=SUB"
  std::optional<std::string> group_perms;
};

// GET_BROKER_CLUSTER_ACL_INFO of one broker.
struct BrokerAclInfo {
  std::string broker_addr;
  std::string broker_name;
  std::string cluster_name;
  std::string version;               // DataVersion JSON
  std::string all_acl_file_version;  // JSON map file → DataVersion
};

// Lifecycle: construct over a started ClientInstance that outlives it.
// Thread-safe.
class AclAdminClient {
 public:
  explicit AclAdminClient(ClientInstance* client) : client_(client) {}

  // Each returns the broker addresses done: `broker_addr`, or every master of
  // `cluster` (exactly one of the two is given). The first failure stops.
  Result<std::vector<std::string>> UpdateAclConfig(
      const AclAccountUpdate& update, const std::string& broker_addr,
      const std::string& cluster);
  Result<std::vector<std::string>> DeleteAclConfig(
      const std::string& access_key, const std::string& broker_addr,
      const std::string& cluster);
  Result<std::vector<std::string>> UpdateGlobalWhiteAddr(
      const std::string& addresses, const std::string& broker_addr,
      const std::string& cluster);
  Result<std::vector<BrokerAclInfo>> ClusterAclConfigVersion(
      const std::string& broker_addr, const std::string& cluster);

 private:
  Result<std::vector<std::string>> Targets(const std::string& broker_addr,
                                           const std::string& cluster);
  // Sends `req` to every target; fails on the first non-SUCCESS.
  Result<std::vector<std::string>> SendAll(const remoting::RemotingCommand& req,
                                           const std::string& broker_addr,
                                           const std::string& cluster,
                                           std::string_view what);

  ClientInstance* const client_;
};

}  // namespace thruster::client
