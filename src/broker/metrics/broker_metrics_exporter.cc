#include "broker/metrics/broker_metrics_exporter.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "broker/topic_config_manager.h"

namespace thruster::broker::metrics {
namespace {

// Bytes under `dir` (regular files), 0 when it cannot be read.
int64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  std::filesystem::recursive_directory_iterator it(
      dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) {
      const auto size = it->file_size(fec);
      if (!fec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}


}  // namespace

BrokerMetricsExporter::BrokerMetricsExporter(Sources sources)
    : src_(sources), http_([this] { return Render(); }) {}

BrokerMetricsExporter::~BrokerMetricsExporter() { Stop(); }

Status BrokerMetricsExporter::Start(const std::string& host, int32_t port) {
  src_.store.commit_log().stats().set_enabled(true);
  return http_.Start(host, port);
}

void BrokerMetricsExporter::Stop() { http_.Stop(); }

std::string BrokerMetricsExporter::Render() const {
  const PromLabels node = {{"cluster", src_.config.broker_cluster_name},
                           {"node_type", "broker"},
                           {"node_id", src_.config.broker_name}};
  auto with = [&node](PromLabels extra) {
    PromLabels l = node;
    for (auto& e : extra) l.push_back(std::move(e));
    return l;
  };
  PromText out;
  counters_.Write(out, node);

  const std::vector<remoting::TopicConfig> topics = src_.topics.All();
  out.Family("rocketmq_topic_number", "gauge", "Topics on this broker.");
  out.Sample("rocketmq_topic_number", node,
             static_cast<int64_t>(topics.size()));
  out.Family("rocketmq_consumer_group_number", "gauge",
             "Subscription groups on this broker.");
  out.Sample("rocketmq_consumer_group_number", node,
             static_cast<int64_t>(src_.groups.All().size()));

  // Lag of every group with committed offsets, per topic.
  struct Lag {
    int64_t messages = 0;
    int64_t latency_ms = 0;
    int64_t inflight = 0;
  };
  std::map<std::pair<std::string, std::string>, Lag> lags;
  const int64_t now_ms = src_.clock.NowMs();
  for (const remoting::TopicConfig& t : topics) {
    const std::vector<std::string> groups =
        src_.offsets.GroupsOfTopic(t.topic_name);
    if (groups.empty()) continue;
    const int32_t queues = std::max(t.read_queue_nums, t.write_queue_nums);
    for (const std::string& g : groups) {
      Lag& lag = lags[{g, t.topic_name}];
      for (int32_t q = 0; q < queues; ++q) {
        const std::optional<int64_t> committed =
            src_.offsets.Query(g, t.topic_name, q);
        if (!committed || *committed < 0) continue;
        const int64_t max = src_.store.GetMaxOffsetInQueue(t.topic_name, q);
        if (max > *committed) {
          lag.messages += max - *committed;
          const int64_t stored =
              src_.store.GetMessageStoreTimestamp(t.topic_name, q, *committed);
          if (stored > 0)
            lag.latency_ms = std::max(lag.latency_ms, now_ms - stored);
        }
        const std::optional<int64_t> pulled =
            src_.offsets.QueryPullOffset(g, t.topic_name, q);
        if (pulled && *pulled > *committed)
          lag.inflight += std::min(*pulled, max) - *committed;
      }
    }
  }
  auto lag_labels = [&](const std::string& group, const std::string& topic) {
    return with({{"topic", topic},
                 {"consumer_group", group},
                 {"is_retry", BoolLabel(topic.starts_with(kRetryGroupTopicPrefix))},
                 {"is_system", BoolLabel(IsSystemTopic(topic, src_.config.broker_cluster_name,
                                                       src_.config.broker_name))}});
  };
  out.Family("rocketmq_consumer_lag_messages", "gauge",
             "Messages stored but not yet committed by the group.");
  for (const auto& [k, l] : lags)
    out.Sample("rocketmq_consumer_lag_messages", lag_labels(k.first, k.second),
               l.messages);
  out.Family("rocketmq_consumer_lag_latency", "gauge",
             "Age of the oldest message the group has not committed, in "
             "milliseconds.");
  for (const auto& [k, l] : lags)
    out.Sample("rocketmq_consumer_lag_latency", lag_labels(k.first, k.second),
               l.latency_ms);
  out.Family("rocketmq_consumer_inflight_messages", "gauge",
             "Messages pulled by the group but not yet committed.");
  for (const auto& [k, l] : lags)
    out.Sample("rocketmq_consumer_inflight_messages",
               lag_labels(k.first, k.second), l.inflight);

  store::MessageStore& store = src_.store;
  const int64_t max_phys = store.GetMaxPhyOffset();
  out.Family("rocketmq_storage_size", "gauge",
             "Bytes of the store directory's files (CommitLog, consume "
             "queues, index, config).");
  out.Sample("rocketmq_storage_size", node,
             DirectoryBytes(store.config().store_path_root_dir));
  out.Family("rocketmq_storage_flush_behind_bytes", "gauge",
             "CommitLog bytes written but not yet flushed.");
  out.Sample("rocketmq_storage_flush_behind_bytes", node,
             std::max<int64_t>(0, max_phys - store.commit_log().flushed_where()));
  out.Family("rocketmq_storage_dispatch_behind_bytes", "gauge",
             "CommitLog bytes not yet dispatched to consume queues and index.");
  out.Sample("rocketmq_storage_dispatch_behind_bytes", node,
             store.dispatch_behind_bytes());
  out.Family("rocketmq_storage_message_reserve_time", "gauge",
             "Age of the oldest message in the CommitLog, in milliseconds.");
  const int64_t earliest = store.GetEarliestMessageTime();
  out.Sample("rocketmq_storage_message_reserve_time", node,
             earliest > 0 ? std::max<int64_t>(0, now_ms - earliest) : 0);

  out.Family("thruster_store_commitlog_max_offset_bytes", "gauge",
             "The CommitLog's max phys offset (bytes ever appended).");
  out.Sample("thruster_store_commitlog_max_offset_bytes", node, max_phys);
  out.Family("thruster_store_commitlog_min_offset_bytes", "gauge",
             "The CommitLog's min phys offset (older segments deleted).");
  out.Sample("thruster_store_commitlog_min_offset_bytes", node,
             store.GetMinPhyOffset());
  const store::StoreStats& stats = store.commit_log().stats();
  out.Family("thruster_store_append_lock_seconds", "histogram",
             "Time one append (a message or a batch) held the CommitLog lock.");
  stats.append_lock_seconds.Write(out, "thruster_store_append_lock_seconds",
                                  node);
  out.Family("thruster_store_flush_seconds", "histogram",
             "Time one CommitLog flush (or group commit sync) took.");
  stats.flush_seconds.Write(out, "thruster_store_flush_seconds", node);
  out.Family("thruster_store_group_commit_batch_size", "histogram",
             "SYNC_FLUSH puts completed by one group commit.");
  stats.group_commit_batch.Write(out, "thruster_store_group_commit_batch_size",
                                 node);
  return out.Take();
}

}  // namespace thruster::broker::metrics
