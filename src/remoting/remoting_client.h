#pragma once

// The requesting side: a broker registering with name servers, the admin tool,
// tests (spec/remoting.md §1.1, §2.3).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/status.h"
#include "remoting/connection.h"

namespace thruster::remoting {

struct RemotingClientOptions {
  // io threads ("netc-0", ...).
  int io_threads = 1;
  std::chrono::milliseconds connect_timeout{3000};
  ConnectionOptions connection;
  // Runs on every request this client sends, just before it is queued (Java's
  // RPCHook): ACL signing. Empty: none.
  std::function<void(RemotingCommand&)> rpc_hook;
  // tls.enable and tls.client.*: every connection handshakes TLS first.
  TlsClientOptions tls;
};

// Keeps one connection per "host:port" and multiplexes requests over it,
// matching responses by opaque (one counter per client, like a Java client
// process). Requests the peer sends on the same connection (§2.9) go to the
// registered processors.
//
// Lifecycle: construct → RegisterProcessor()… → Start() → Invoke…() → Stop()
// (idempotent, also run by the destructor; pending requests then fail with
// IOError). Invoke methods are thread-safe. They connect on first use and block
// the caller for up to connect_timeout while doing so, so never call them from
// a net thread of this client; InvokeSync also blocks until the response or the
// timeout.
class RemotingClient : private ConnectionHandler {
 public:
  explicit RemotingClient(RemotingClientOptions options = {});
  ~RemotingClient() override;
  RemotingClient(const RemotingClient&) = delete;
  RemotingClient& operator=(const RemotingClient&) = delete;

  void RegisterProcessor(int32_t code, RequestHandler handler);
  // InvalidArgument when the TLS settings cannot be loaded.
  Status Start();
  void Stop() TH_EXCLUDES(mu_);

  // Sends `request` and waits for its response. Timeout when none arrives
  // within `timeout`; IOError when the connection cannot be made or closes
  // first.
  Result<RemotingCommand> InvokeSync(const std::string& addr,
                                     RemotingCommand request,
                                     std::chrono::milliseconds timeout)
      TH_EXCLUDES(connect_mu_, mu_);
  // Sends `request`; `cb` runs exactly once on a net thread with the response
  // or the failure.
  void InvokeAsync(const std::string& addr, RemotingCommand request,
                   std::chrono::milliseconds timeout, ResponseCallback cb)
      TH_EXCLUDES(connect_mu_, mu_);
  // Sends `request` with the oneway flag; OK once it is queued on the
  // connection.
  Status InvokeOneway(const std::string& addr, RemotingCommand request)
      TH_EXCLUDES(connect_mu_, mu_);

  // Closes the connection to `addr`, if any; the next request reconnects.
  void CloseConnection(const std::string& addr) TH_EXCLUDES(mu_);

 private:
  Result<std::shared_ptr<Connection>> GetOrConnect(const std::string& addr)
      TH_EXCLUDES(connect_mu_, mu_);
  void OnRequest(const std::shared_ptr<Connection>& conn,
                 RemotingCommand&& request) override;
  void OnClose(const std::shared_ptr<Connection>& conn) override
      TH_EXCLUDES(mu_);
  int32_t NextOpaque() override;

  const RemotingClientOptions options_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work_;
  std::vector<std::thread> threads_;
  ProcessorTable processors_;
  std::shared_ptr<const TlsContext> tls_;  // set by Start() with tls.enable
  std::atomic<int32_t> next_opaque_{0};
  bool started_ = false;
  // Set by Stop(); read by Invoke calls on other threads, which then fail
  // instead of queueing forever.
  std::atomic<bool> stopped_{false};

  Mutex connect_mu_ TH_ACQUIRED_BEFORE(mu_);  // one connect at a time
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Connection>, std::less<>> connections_
      TH_GUARDED_BY(mu_);
};

// Splits "host:port" (IPv6 as "[::1]:port" or "::1:port" at the last ':').
// InvalidArgument on a bad port.
Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view addr);

}  // namespace thruster::remoting
