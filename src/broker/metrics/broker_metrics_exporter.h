#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/broker_config.h"
#include "broker/consumer_offset_manager.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "common/clock.h"
#include "common/status.h"
#include "remoting/metrics_http_server.h"
#include "store/message_store.h"

// The broker's Prometheus endpoint (metricsExporterType=PROM): GET /metrics on
// metricsPromExporterHost:metricsPromExporterPort, served by its own thread.
// A scrape writes the counted families (BrokerMetrics) and computes the
// gauges from the broker's state at that moment: topic and group numbers,
// each group's lag, lag latency and in-flight messages per topic, the store's
// size, flush and dispatch backlog, message reserve time, and the store's own
// append/flush/group-commit histograms (src/broker/README.md lists every
// family). Every series carries cluster, node_type="broker" and node_id
// (brokerName) labels.
//
// Thread-safety: Render() from any thread (the http thread calls it); every
// source it reads is thread-safe. The sources must outlive the exporter.
namespace thruster::broker::metrics {

class BrokerMetricsExporter {
 public:
  struct Sources {
    const BrokerConfig& config;
    store::MessageStore& store;
    TopicConfigManager& topics;
    ConsumerOffsetManager& offsets;
    SubscriptionGroupManager& groups;
    const Clock& clock;
  };
  explicit BrokerMetricsExporter(Sources sources);
  ~BrokerMetricsExporter();

  // Turns on the store's own counting and listens (IOError when the port is
  // taken).
  Status Start(const std::string& host, int32_t port);
  void Stop();
  uint16_t port() const { return http_.port(); }
  BrokerMetrics& counters() { return counters_; }
  // The whole exposition text, as a scrape gets it.
  std::string Render() const;

 private:
  Sources src_;
  BrokerMetrics counters_;
  remoting::MetricsHttpServer http_;
};

}  // namespace thruster::broker::metrics
