#pragma once

// A RocketMQ-compatible name server (spec/remoting.md §3.5): a RemotingServer
// answering REGISTER_BROKER, UNREGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC,
// GET_BROKER_CLUSTER_INFO, GET_ALL_TOPIC_LIST_FROM_NAMESERVER and
// QUERY_DATA_VERSION from a RouteInfoManager, plus a thread that expires silent
// brokers. Used by the thruster-namesrv app and embeddable in a broker process.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/service_thread.h"
#include "common/status.h"
#include "namesrv/namesrv_metrics.h"
#include "namesrv/route_info_manager.h"
#include "remoting/remoting_server.h"

namespace thruster::remoting {
class TlsFileWatchService;
}  // namespace thruster::remoting

namespace thruster::namesrv {

struct NameServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 9876;  // 0 picks an ephemeral port
  int io_threads = 0;    // 0: one per core
  // Time source for registration ages; must outlive the server.
  const Clock* clock = SystemClock::Default();
  // How often the expiry thread scans (§3.6: 5 s).
  int64_t scan_interval_ms = 5000;
  remoting::ConnectionOptions connection;
  // Runs before every request (the ACL check of the admin writes when the
  // application enables it); empty: none.
  remoting::RemotingServer::RequestHook request_hook;
  // "PROM": serve Prometheus metrics (namesrv/namesrv_metrics.h) on
  // metrics_prom_exporter_host:metrics_prom_exporter_port (0: ephemeral);
  // "DISABLE": none.
  std::string metrics_exporter_type = "DISABLE";
  std::string metrics_prom_exporter_host;
  int32_t metrics_prom_exporter_port = 5557;
  // tls.server.* (remoting/tls.h): disabled by default.
  remoting::TlsServerOptions tls;
};

// Lifecycle: construct → Start() → Stop() (idempotent; also run by the
// destructor). Thread-safe.
class NameServer {
 public:
  explicit NameServer(NameServerOptions options);
  ~NameServer();
  NameServer(const NameServer&) = delete;
  NameServer& operator=(const NameServer&) = delete;

  // Listens and starts the expiry thread. IOError when the port cannot be
  // bound.
  Status Start();
  void Stop();

  uint16_t port() const { return server_.port(); }
  // The Prometheus endpoint's port (metrics_exporter_type "PROM"), else 0.
  uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  // The route table, for an embedding broker (register without a socket) and
  // tests.
  RouteInfoManager& route_info() { return routes_; }
  // Expiry scans completed since Start(); tests wait for it to move instead of
  // sleeping.
  int64_t ScansForTesting() const { return scan_thread_.scans(); }

 private:
  class ScanThread : public ServiceThread {
   public:
    ScanThread(RouteInfoManager* routes, int64_t interval_ms)
        : ServiceThread("ns-scan"),
          routes_(routes),
          interval_ms_(interval_ms) {}
    ~ScanThread() override { Stop(); }
    int64_t scans() const { return scans_.load(std::memory_order_acquire); }

   protected:
    void Run() override;

   private:
    RouteInfoManager* routes_;
    int64_t interval_ms_;
    std::atomic<int64_t> scans_{0};
  };

  void RegisterProcessors();

  const NameServerOptions options_;
  RouteInfoManager routes_;
  // Made in the constructor when metrics are on; listens from Start().
  std::unique_ptr<NamesrvMetrics> metrics_;
  remoting::RemotingServer server_;
  ScanThread scan_thread_;
  // TLS on: rebuilds the server's TLS context when its files change.
  std::unique_ptr<remoting::TlsFileWatchService> tls_watch_;
  bool started_ = false;
};

// Answers one name-server request from `routes` (the server's handlers call
// this; tests can call it without sockets). `connection_id` is the connection
// the request came over (0 when there is none). Codes this name server does not
// implement get REQUEST_CODE_NOT_SUPPORTED.
remoting::RemotingCommand ProcessNameServerRequest(
    RouteInfoManager& routes, const remoting::RemotingCommand& request,
    uint64_t connection_id);

}  // namespace thruster::namesrv
