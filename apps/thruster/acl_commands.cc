// `thruster admin` commands for plain ACL (spec/acl.md §8), as mqadmin names
// them. The account being written is -a/-s (mqadmin's letters; long forms
// --aclAccessKey/--aclSecretKey), the keys the request is signed with are
// --accessKey/--secretKey (an admin account's).

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "client/acl_admin_client.h"
#include "client/client_instance.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

// AdminConnection's keys sign the requests.
struct AclArgs : AdminConnection {
  bool json = false;
  std::string broker;
  std::string cluster;
  std::string account;  // -a: the account written
  std::string account_secret;
  std::string white_remote_address;
  std::string default_topic_perm;
  std::string default_group_perm;
  std::string topic_perms;
  std::string group_perms;
  std::string admin;  // "true"/"false"; empty: unchanged
  std::string global_white_addrs;
};

using AclCommand =
    std::function<Status(const AclArgs&, client::AclAdminClient&)>;

int RunAcl(std::string_view name, const AclArgs& a, const AclCommand& cmd) {
  return RunAdminCommand(name, a, [&](client::ClientInstance& instance) {
    client::AclAdminClient acl(&instance);
    return cmd(a, acl);
  });
}

std::optional<std::string> Opt(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

void PrintDone(const AclArgs& a, std::string_view what,
               const std::vector<std::string>& addrs) {
  if (a.json) {
    fmt::print("{}\n", nlohmann::json{{"brokers", addrs}}.dump());
    return;
  }
  for (const auto& addr : addrs) fmt::print("{} to {} success.\n", what, addr);
}

}  // namespace

void AddAclSigningOptions(CLI::App& cmd, std::string* access_key,
                          std::string* secret_key) {
  cmd.add_option("--accessKey", *access_key,
                 "ACL access key to sign requests with");
  cmd.add_option("--secretKey", *secret_key,
                 "ACL secret key to sign requests with");
}

void AddAclAdminCommands(CLI::App& admin, int* exit_code) {
  static AclArgs a;
  SeedNamesrvFromEnv(&a);
  auto add = [&](const char* name, const char* help, AclCommand cmd) {
    auto* c = admin.add_subcommand(name, help);
    AddAdminConnectionOptions(*c, &a);
    c->add_flag("--json", a.json, "print one JSON document");
    c->add_option("-b,--brokerAddr", a.broker, "one broker (host:port)");
    c->add_option("-c,--clusterName", a.cluster,
                  "every master of this cluster");
    c->callback([exit_code, name, cmd] { *exit_code = RunAcl(name, a, cmd); });
    return c;
  };

  auto* c = add("updateAclConfig", "create or update a plain ACL account",
                [](const AclArgs& a, client::AclAdminClient& acl) -> Status {
                  client::AclAccountUpdate u;
                  u.access_key = a.account;
                  u.secret_key = Opt(a.account_secret);
                  u.white_remote_address = Opt(a.white_remote_address);
                  if (!a.admin.empty()) u.admin = a.admin == "true";
                  u.default_topic_perm = Opt(a.default_topic_perm);
                  u.default_group_perm = Opt(a.default_group_perm);
                  u.topic_perms = Opt(a.topic_perms);
                  u.group_perms = Opt(a.group_perms);
                  TH_ASSIGN_OR_RETURN(
                      auto addrs, acl.UpdateAclConfig(u, a.broker, a.cluster));
                  PrintDone(a, "create or update plain access config", addrs);
                  return Status::OK();
                });
  c->add_option("-a,--aclAccessKey", a.account, "the account's access key")
      ->required();
  c->add_option("-s,--aclSecretKey", a.account_secret,
                "the account's secret key");
  c->add_option("-w,--whiteRemoteAddress", a.white_remote_address,
                "white remote address");
  c->add_option("-i,--defaultTopicPerm", a.default_topic_perm,
                "DENY, PUB, SUB or PUB|SUB");
  c->add_option("-u,--defaultGroupPerm", a.default_group_perm,
                "DENY, PUB, SUB or PUB|SUB");
  c->add_option("-t,--topicPerms", a.topic_perms, "topic=PERM,topic=PERM");
  c->add_option("-g,--groupPerms", a.group_perms, "group=PERM,group=PERM");
  c->add_option("-m,--admin", a.admin, "true or false");

  c = add("deleteAclConfig", "delete a plain ACL account",
          [](const AclArgs& a, client::AclAdminClient& acl) -> Status {
            TH_ASSIGN_OR_RETURN(
                auto addrs,
                acl.DeleteAclConfig(a.account, a.broker, a.cluster));
            PrintDone(a, "delete plain access config", addrs);
            return Status::OK();
          });
  c->add_option("-a,--aclAccessKey", a.account, "the account's access key")
      ->required();

  c = add("updateGlobalWhiteAddr", "replace the global white remote addresses",
          [](const AclArgs& a, client::AclAdminClient& acl) -> Status {
            TH_ASSIGN_OR_RETURN(auto addrs,
                                acl.UpdateGlobalWhiteAddr(a.global_white_addrs,
                                                          a.broker, a.cluster));
            PrintDone(a, "update global white remote addresses", addrs);
            return Status::OK();
          });
  c->add_option("-g,--globalWhiteRemoteAddresses", a.global_white_addrs,
                "comma-separated address patterns")
      ->required();

  add("clusterAclConfigVersion", "the ACL file version of each broker",
      [](const AclArgs& a, client::AclAdminClient& acl) -> Status {
        TH_ASSIGN_OR_RETURN(auto infos,
                            acl.ClusterAclConfigVersion(a.broker, a.cluster));
        if (a.json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& i : infos)
            out.push_back({{"brokerAddr", i.broker_addr},
                           {"brokerName", i.broker_name},
                           {"clusterName", i.cluster_name},
                           {"version", i.version},
                           {"allAclFileVersion", i.all_acl_file_version}});
          fmt::print("{}\n", out.dump());
          return Status::OK();
        }
        fmt::print("{:<20} {:<22} {:<20} {}\n", "#Cluster Name", "#Broker Addr",
                   "#Broker Name", "#AclConfigVersion");
        for (const auto& i : infos)
          fmt::print("{:<20} {:<22} {:<20} {}\n", i.cluster_name, i.broker_addr,
                     i.broker_name, i.version);
        return Status::OK();
      });
}

}  // namespace thruster::cli
