#pragma once

// The name server's route table (spec/remoting.md §3.5): which brokers exist,
// which clusters they form, which topics they host, and when each broker last
// registered. In memory only; brokers re-register every 30 s.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "remoting/register_broker_body.h"
#include "remoting/route_data.h"

namespace thruster::namesrv {

// Default registration expiry (§3.6).
inline constexpr int64_t kDefaultBrokerTimeoutMs = 120000;

struct RegisterBrokerRequest {
  std::string cluster_name;
  std::string broker_addr;
  std::string broker_name;
  int64_t broker_id = 0;
  std::string ha_server_addr;
  int64_t timeout_ms = kDefaultBrokerTimeoutMs;
  remoting::RegisterBrokerBody body;
  // Connection the registration came over (0 for an embedded broker); its close
  // drops the broker (§3.6).
  uint64_t connection_id = 0;
};

struct RegisterBrokerResult {
  // For a slave: the master's address and HA address, when the master is
  // registered; empty otherwise.
  std::string master_addr;
  std::string ha_server_addr;
};

// Lifecycle: construct → register/query/scan from any thread → destroy.
// Thread-safe (one mutex; every operation is a few map lookups). `clock` must
// outlive the manager.
class RouteInfoManager {
 public:
  explicit RouteInfoManager(const Clock* clock) : clock_(clock) {}

  // Applies a registration (§3.5.1 steps 3-6). InvalidArgument ("register
  // broker failed") for a single-topic registration from a broker id not
  // registered yet (step 4); nothing changes then.
  Result<RegisterBrokerResult> RegisterBroker(const RegisterBrokerRequest& req)
      TH_EXCLUDES(mu_);
  // Removes one broker address (§3.5.2); topics left without queues disappear.
  void UnregisterBroker(std::string_view cluster_name,
                        std::string_view broker_addr,
                        std::string_view broker_name, int64_t broker_id)
      TH_EXCLUDES(mu_);
  // The route of `topic`, or nullopt when no registered broker hosts it.
  std::optional<remoting::TopicRouteData> GetTopicRoute(
      std::string_view topic) const TH_EXCLUDES(mu_);
  remoting::ClusterInfo GetClusterInfo() const TH_EXCLUDES(mu_);
  // DELETE_TOPIC_IN_NAMESRV: forgets the topic's queue data (only that of the
  // brokers in `cluster_name` when it is not empty); false when it had none.
  bool DeleteTopic(std::string_view topic, std::string_view cluster_name)
      TH_EXCLUDES(mu_);
  // WIPE_WRITE_PERM_OF_BROKER / ADD_WRITE_PERM_OF_BROKER (§3.5.6): clears
  // (or sets) PERM_WRITE on every queue data of `broker_name`;
  // returns how many topics it changed. Holds until the broker's next
  // registration with a new DataVersion.
  int32_t WipeWritePermOfBroker(std::string_view broker_name) TH_EXCLUDES(mu_);
  int32_t AddWritePermOfBroker(std::string_view broker_name) TH_EXCLUDES(mu_);
  // Every topic that has queue data (§3.5.5).
  remoting::TopicList GetAllTopicList() const TH_EXCLUDES(mu_);
  // Removes every broker address whose last registration is older than its
  // timeout; returns how many.
  size_t ScanNotActiveBrokers() TH_EXCLUDES(mu_);
  // Removes the brokers registered over this connection (§3.6); returns how
  // many.
  size_t OnConnectionClosed(uint64_t connection_id) TH_EXCLUDES(mu_);

  // The DataVersion stored for a broker address, for QUERY_DATA_VERSION; also
  // refreshes its liveness when `touch` is set. nullopt when the address is not
  // registered.
  std::optional<remoting::DataVersion> QueryDataVersion(
      std::string_view cluster_name, std::string_view broker_addr, bool touch)
      TH_EXCLUDES(mu_);

 private:
  struct LiveInfo {
    int64_t last_update_ms = 0;
    int64_t timeout_ms = kDefaultBrokerTimeoutMs;
    remoting::DataVersion data_version;
    uint64_t connection_id = 0;
    std::string ha_server_addr;
  };
  using LiveKey =
      std::pair<std::string, std::string>;  // (cluster, broker address)

  // Drops `broker_addr` of `cluster_name` everywhere: live table, BrokerData,
  // and (when the broker name has no address left) its cluster membership and
  // queue data.
  void RemoveBrokerAddrLocked(const std::string& cluster_name,
                              const std::string& broker_addr) TH_REQUIRES(mu_);
  void RemoveBrokerNameLocked(const std::string& cluster_name,
                              const std::string& broker_name) TH_REQUIRES(mu_);

  const Clock* const clock_;
  mutable Mutex mu_;
  // topic → broker name → queues
  std::map<std::string, std::map<std::string, remoting::QueueData>, std::less<>>
      topic_queue_table_ TH_GUARDED_BY(mu_);
  // broker name → BrokerData
  std::map<std::string, remoting::BrokerData, std::less<>> broker_addr_table_
      TH_GUARDED_BY(mu_);
  // cluster → broker names
  std::map<std::string, std::set<std::string>, std::less<>> cluster_addr_table_
      TH_GUARDED_BY(mu_);
  std::map<LiveKey, LiveInfo> broker_live_table_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::namesrv
