#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

// The Prometheus endpoint of a server (metricsExporterType=PROM): answers
// GET /metrics with whatever `render` returns (text exposition format
// 0.0.4), on a thread of its own (`metrics-http`) so a scrape never runs on a
// network or store thread. Everything else is 404.
//
// Start() binds host:port (port 0: an ephemeral one, see port()); Stop() (also
// the destructor) closes it and joins the thread. `render` runs on the
// server's thread, one scrape at a time; it must be thread-safe with respect
// to whatever it reads.
namespace thruster::remoting {

class MetricsHttpServer {
 public:
  explicit MetricsHttpServer(std::function<std::string()> render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // IOError when host:port cannot be bound. An empty host means every
  // interface (0.0.0.0).
  Status Start(const std::string& host, int32_t port);
  void Stop();
  // The bound port; 0 before Start().
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace thruster::remoting
