#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "common/mutex.h"
#include "common/prom_text.h"
#include "common/status.h"
#include "namesrv/route_info_manager.h"
#include "remoting/metrics_http_server.h"

// The name server's Prometheus endpoint (thruster-namesrv with
// metricsExporterType=PROM; RocketMQ 5's name server has none, so the
// families follow the broker's naming):
//   rocketmq_rpc_latency{node_type="namesrv",request_code,response_code}
//       histogram, milliseconds, the same buckets as the broker's
//   rocketmq_topic_number{node_type="namesrv"}   topics in the route table
//   rocketmq_namesrv_live_brokers{cluster}        registered broker addresses
// Every series carries node_type="namesrv" and node_id (host:port).
//
// Thread-safety: CountRpc() from the net threads (one short lock: a name
// server answers few requests), Render() on the http thread. Thread-safe.
namespace thruster::namesrv {

class NamesrvMetrics {
 public:
  explicit NamesrvMetrics(RouteInfoManager& routes);
  ~NamesrvMetrics();

  void CountRpc(int32_t request_code, int32_t response_code, double ms)
      TH_EXCLUDES(mu_);
  std::string Render() const TH_EXCLUDES(mu_);
  // `node_id`: the node_id label (the name server's host:port); set before
  // the endpoint serves.
  Status Start(const std::string& host, int32_t port, std::string node_id);
  void Stop();
  uint16_t port() const { return http_.port(); }

 private:
  static constexpr std::array<double, 9> kBoundsMs = {1,   3,    5,    7,   10,
                                                      100, 1000, 2000, 3000};
  struct Rpc {
    std::array<int64_t, kBoundsMs.size() + 1> counts{};
    double sum = 0;
  };
  RouteInfoManager& routes_;
  std::string node_id_;
  mutable Mutex mu_;
  std::map<std::pair<int32_t, int32_t>, Rpc> rpc_ TH_GUARDED_BY(mu_);
  remoting::MetricsHttpServer http_;
};

}  // namespace thruster::namesrv
