// `thruster admin haStatus`: mqadmin's command of that name (RocketMQ 5.x):
// GET_BROKER_HA_STATUS (907) to one broker (-b) or to every master (of -c's
// cluster, else of every cluster), printing each master's CommitLog max offset
// and, per connected slave, its acknowledged offset, the gap and whether it is
// in sync (less than haMaxGapNotInSync behind). --json prints the brokers'
// HARuntimeInfo documents.
#include <fmt/format.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

struct HaStatusArgs : AdminConnection {
  bool json = false;
  std::string broker;
  std::string cluster;
};

Status PrintHaStatus(const HaStatusArgs& a, client::AdminClient& admin) {
  // (broker name, address) of every broker asked.
  std::vector<std::pair<std::string, std::string>> targets;
  if (!a.broker.empty()) {
    targets.emplace_back("", a.broker);
  } else {
    TH_ASSIGN_OR_RETURN(remoting::ClusterInfo info,
                        admin.client()->FetchClusterInfo());
    for (const auto& [cluster, names] : info.cluster_addr_table) {
      if (!a.cluster.empty() && cluster != a.cluster) continue;
      for (const std::string& name : names) {
        auto bd = info.broker_addr_table.find(name);
        if (bd == info.broker_addr_table.end()) continue;
        auto master = bd->second.broker_addrs.find(0);
        if (master != bd->second.broker_addrs.end())
          targets.emplace_back(name, master->second);
      }
    }
    if (targets.empty())
      return Status::NotFound(a.cluster.empty()
                                  ? "no master registered"
                                  : "no master in cluster " + a.cluster);
  }
  nlohmann::json all = nlohmann::json::array();
  Status first;
  for (const auto& [name, addr] : targets) {
    Result<std::string> text = admin.BrokerHaStatus(addr);
    nlohmann::json j = text.ok() ? nlohmann::json::parse(*text, nullptr, false)
                                 : nlohmann::json();
    if (text.ok() && j.is_discarded())
      text = Status::Corruption("HA status of " + addr + " is not JSON");
    if (!text.ok()) {
      if (first.ok()) first = text.status();
      if (!a.json)
        fmt::print("#MasterAddr\t{}\n#Error\t{}\n\n", addr,
                   text.status().message());
      continue;
    }
    if (a.json) {
      all.push_back({{"brokerName", name}, {"addr", addr}, {"haStatus", j}});
      continue;
    }
    const auto conns = j.value("haConnectionInfo", nlohmann::json::array());
    fmt::print(
        "#MasterAddr\t{}\n#MasterCommitLogMaxOffset\t{}\n#SlaveNum\t{}\n"
        "#InSyncSlaveNum\t{}\n",
        addr, j.value("masterCommitLogMaxOffset", int64_t{-1}), conns.size(),
        j.value("inSyncSlaveNums", int64_t{0}));
    fmt::print("{:<32} {:>16} {:>16} {:>12}\n", "#SlaveAddr", "#SlaveAckOffset",
               "#Diff", "#Status");
    for (const auto& c : conns)
      fmt::print("{:<32} {:>16} {:>16} {:>12}\n", c.value("addr", ""),
                 c.value("slaveAckOffset", int64_t{-1}),
                 c.value("diff", int64_t{-1}),
                 c.value("inSync", false) ? "OK" : "Fall Behind");
    if (j.contains("haClientRuntimeInfo")) {
      const auto& cl = j["haClientRuntimeInfo"];
      fmt::print("#MasterAddrOfThisSlave\t{}\n#Activated\t{}\n",
                 cl.value("masterAddr", ""), cl.value("isActivated", false));
    }
    fmt::print("\n");
  }
  if (a.json)
    fmt::print("{}\n",
               nlohmann::json{{"brokers", all}}.dump(
                   -1, ' ', false, nlohmann::json::error_handler_t::replace));
  return first;
}

}  // namespace

void AddHaAdminCommands(CLI::App& admin, int* exit_code) {
  static HaStatusArgs a;
  SeedNamesrvFromEnv(&a);
  auto* c = admin.add_subcommand(
      "haStatus", "each master's slaves: acknowledged offset, gap, in sync");
  AddAdminConnectionOptions(*c, &a);
  c->add_flag("--json", a.json, "print one JSON document");
  c->add_option("-b,--brokerAddr", a.broker, "this broker only (host:port)");
  c->add_option("-c,--clusterName", a.cluster, "the masters of this cluster");
  c->callback([exit_code] {
    *exit_code =
        RunAdminCommand("haStatus", a, [](client::ClientInstance& instance) {
          client::AdminClient admin(&instance);
          return PrintHaStatus(a, admin);
        });
  });
}

}  // namespace thruster::cli
