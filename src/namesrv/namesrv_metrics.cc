#include "namesrv/namesrv_metrics.h"

namespace thruster::namesrv {

NamesrvMetrics::NamesrvMetrics(RouteInfoManager& routes)
    : routes_(routes), http_([this] { return Render(); }) {}

NamesrvMetrics::~NamesrvMetrics() { Stop(); }

Status NamesrvMetrics::Start(const std::string& host, int32_t port,
                             std::string node_id) {
  node_id_ = std::move(node_id);
  return http_.Start(host, port);
}

void NamesrvMetrics::Stop() { http_.Stop(); }

void NamesrvMetrics::CountRpc(int32_t request_code, int32_t response_code,
                              double ms) {
  size_t i = 0;
  while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
  MutexLock lock(&mu_);
  Rpc& r = rpc_[{request_code, response_code}];
  ++r.counts[i];
  r.sum += ms;
}

std::string NamesrvMetrics::Render() const {
  const PromLabels node = {{"node_type", "namesrv"}, {"node_id", node_id_}};
  PromText out;
  std::map<std::pair<int32_t, int32_t>, Rpc> rpc;
  {
    MutexLock lock(&mu_);
    rpc = rpc_;
  }
  out.Family("rocketmq_rpc_latency", "histogram",
             "Time from a request's arrival to its answer, in milliseconds.");
  for (const auto& [k, r] : rpc) {
    PromLabels l = node;
    l.emplace_back("protocol_type", "remoting");
    l.emplace_back("request_code", std::to_string(k.first));
    l.emplace_back("response_code", std::to_string(k.second));
    out.Histogram("rocketmq_rpc_latency", l, kBoundsMs, r.counts, r.sum);
  }
  out.Family("rocketmq_topic_number", "gauge",
             "Topics in the name server's route table.");
  out.Sample("rocketmq_topic_number", node,
             static_cast<int64_t>(routes_.GetAllTopicList().topic_list.size()));
  out.Family("rocketmq_namesrv_live_brokers", "gauge",
             "Broker addresses registered with the name server, by cluster.");
  const remoting::ClusterInfo info = routes_.GetClusterInfo();
  for (const auto& [cluster, names] : info.cluster_addr_table) {
    int64_t brokers = 0;
    for (const std::string& name : names) {
      auto it = info.broker_addr_table.find(name);
      if (it != info.broker_addr_table.end())
        brokers += static_cast<int64_t>(it->second.broker_addrs.size());
    }
    PromLabels l = node;
    l.emplace_back("cluster", cluster);
    out.Sample("rocketmq_namesrv_live_brokers", l, brokers);
  }
  return out.Take();
}

}  // namespace thruster::namesrv
