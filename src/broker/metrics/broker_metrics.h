#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/mutex.h"
#include "common/prom_text.h"
#include "remoting/connection.h"

// The broker's counted metrics (metricsExporterType=PROM): messages and bytes
// in per topic and message type, out per topic and consumer group, message
// sizes, and every request's latency by request and response code, under
// RocketMQ 5's names (rocketmq_messages_in_total, rocketmq_throughput_in_total,
// rocketmq_message_size, rocketmq_rpc_latency, ...). The gauges (lag, storage)
// are computed at scrape time by BrokerMetricsExporter, not counted here.
//
// Counting stays off the shared cache lines: each thread counts into a shard
// of its own (found through a thread_local, created on the thread's first
// count), where it is the only writer of every cell (a relaxed load and store,
// no locked instruction); a scrape sums the shards. A shard's maps are changed
// only by its thread, under the shard's mutex, and read by the scraper under
// that mutex, so the owner looks up without a lock. Cells of deleted topics
// stay until restart (bounded by the topics ever seen).
//
// Thread-safe.
namespace thruster::broker::metrics {

// RocketMQ 5's message_type label values.
enum class MessageType : uint8_t { kNormal, kFifo, kDelay, kTransaction };
inline constexpr size_t kMessageTypes = 4;
std::string_view MessageTypeName(MessageType t);

// True for RocketMQ's system topics (is_system label), among them the topics a broker creates under its cluster
// name and its broker name.
bool IsSystemTopic(std::string_view topic, std::string_view cluster_name, std::string_view broker_name);
// The value of `name` among `labels`; empty when absent.
std::string_view LabelValue(const PromLabels& labels, std::string_view name);
// A boolean label value as Prometheus writes it.
inline const char* BoolLabel(bool b) { return b ? "true" : "false"; }

class BrokerMetrics final : public remoting::ResponseObserver {
 public:
  BrokerMetrics();
  ~BrokerMetrics() override;
  BrokerMetrics(const BrokerMetrics&) = delete;
  BrokerMetrics& operator=(const BrokerMetrics&) = delete;

  // `msgs` messages of `bytes` body bytes in all were stored in `topic`.
  void CountIn(std::string_view topic, MessageType type, int64_t msgs,
               int64_t bytes);
  // A pull handed `msgs` messages (`bytes` record bytes) of `topic` to
  // `group`.
  void CountOut(std::string_view topic, std::string_view group, int64_t msgs,
                int64_t bytes);
  // remoting::ResponseObserver: one answered request.
  void OnResponse(int32_t request_code, int32_t response_code,
                  int64_t start_ns) const override;
  // A steady-clock time in ns, for Responder::Observe.
  static int64_t NowNs();

  // Writes the counted families; `node` are the labels every series carries
  // (cluster, node_type, node_id).
  void Write(PromText& out, const PromLabels& node) const;

  // rocketmq_message_size buckets (bytes) and rocketmq_rpc_latency buckets
  // (milliseconds), as RocketMQ 5 sets them up.
  static constexpr std::array<double, 6> kMessageSizeBounds = {
      1024, 4096, 512 * 1024, 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024};
  static constexpr std::array<double, 9> kRpcLatencyBoundsMs = {
      1, 3, 5, 7, 10, 100, 1000, 2000, 3000};

 private:
  struct Shard;
  Shard* LocalShard() const;

  // Tells this instance's shards from another's in a thread's cache.
  const uint64_t serial_;
  mutable Mutex mu_;
  mutable std::unordered_map<std::thread::id, std::unique_ptr<Shard>> shards_
      TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker::metrics
