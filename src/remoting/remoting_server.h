#pragma once

// The TCP side that brokers and name servers listen with (spec/remoting.md §1,
// §2).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "remoting/connection.h"

namespace thruster::remoting {

struct RemotingServerOptions {
  // Loopback by default; a deployed server passes "0.0.0.0".
  std::string bind_address = "127.0.0.1";
  // 0 picks an ephemeral port; port() tells which.
  uint16_t port = 0;
  // io threads ("net-0", ...); 0 means one per core. Each runs its own event
  // loop and owns the connections assigned to it (round robin at accept), so a
  // request is read, handled and answered on one thread without a hand-off.
  int io_threads = 0;
  // After its last event an io thread keeps polling for this long before it
  // blocks (0: block at once). On a VM, waking a thread whose CPU has gone idle
  // costs ~17 us per hop (one request/response on loopback: p50 22 us on one
  // CPU, 58 us across two); a polling thread takes the next request without
  // that wake-up. Costs CPU only while requests keep coming. Between empty
  // polls it yields its CPU to any runnable thread there, so on a machine
  // shared with the clients polling does not take their time.
  int busy_poll_us = 0;
  ConnectionOptions connection;
  // tls.server.*: with a mode other than kDisabled, Start() loads the
  // certificate and key and connections may (permissive) or must (enforcing)
  // speak TLS.
  TlsServerOptions tls;
};

// Accepts connections and dispatches each request to the handler registered for
// its code; unknown codes get REQUEST_CODE_NOT_SUPPORTED (§2.6), oneway
// requests never get an answer (§2.4). Responses may be sent later from any
// thread through the Responder, so a parked request (long-polling pull) delays
// nothing else.
//
// Lifecycle: construct → RegisterProcessor()… → Start() → Stop() (idempotent,
// also run by the destructor). Registration is not thread-safe and must happen
// before Start(); everything else is thread-safe.
class RemotingServer : private ConnectionHandler {
 public:
  explicit RemotingServer(RemotingServerOptions options);
  ~RemotingServer() override;
  RemotingServer(const RemotingServer&) = delete;
  RemotingServer& operator=(const RemotingServer&) = delete;

  void RegisterProcessor(int32_t code, RequestHandler handler);
  // Replaces the REQUEST_CODE_NOT_SUPPORTED default.
  void SetDefaultProcessor(RequestHandler handler);
  // Runs on the net thread before every request is dispatched (ACL checks):
  // returning false means the hook has dealt with the request (answered or
  // dropped it) and no processor sees it. Set before Start().
  using RequestHook = std::function<bool(const std::shared_ptr<Connection>&,
                                         const RemotingCommand&)>;
  void SetRequestHook(RequestHook hook);
  // Called on a net thread whenever a connection closes (a name server drops
  // the broker registered on it, a broker forgets its clients, §1.1). Set
  // before Start().
  void SetCloseListener(
      std::function<void(const std::shared_ptr<Connection>&)> listener);

  // Binds, listens and starts the io threads. IOError when the address cannot
  // be bound; InvalidArgument when the TLS settings cannot be loaded.
  Status Start();
  // Stops accepting, closes every connection (pending responses are dropped)
  // and joins the io threads.
  void Stop() TH_EXCLUDES(mu_);

  // Rebuilds the TLS context from the tls.server.* files (a renewed
  // certificate): connections accepted from now on use it, established ones
  // keep theirs. The previous context stays in use, and the error (naming the
  // file) is returned, when the files cannot be loaded. InvalidArgument when
  // the server was not started with TLS.
  Status ReloadTls() TH_EXCLUDES(tls_mu_);

  // The bound port (after Start()).
  uint16_t port() const { return port_.load(std::memory_order_acquire); }
  size_t connection_count() const TH_EXCLUDES(mu_);

 private:
  void DoAccept();
  void OnRequest(const std::shared_ptr<Connection>& conn,
                 RemotingCommand&& request) override;
  void OnClose(const std::shared_ptr<Connection>& conn) override
      TH_EXCLUDES(mu_);
  int32_t NextOpaque() override;

  // Loop i of the io threads: io_ (which also accepts) or loops_[i - 1].
  asio::io_context& Loop(size_t i) { return i == 0 ? io_ : *loops_[i - 1]; }

  const RemotingServerOptions options_;
  asio::io_context io_;
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  size_t next_loop_ = 0;  // accept handler only
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  ProcessorTable processors_;
  std::function<void(const std::shared_ptr<Connection>&)> close_listener_;
  RequestHook request_hook_;
  mutable Mutex tls_mu_;
  // Set by Start() when TLS is on, replaced by ReloadTls().
  std::shared_ptr<const TlsContext> tls_ TH_GUARDED_BY(tls_mu_);
  std::atomic<uint16_t> port_{0};
  std::atomic<int32_t> next_opaque_{0};
  bool started_ = false;
  bool stopped_ = false;

  mutable Mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_
      TH_GUARDED_BY(mu_);
  bool stopping_ TH_GUARDED_BY(mu_) = false;
};

}  // namespace thruster::remoting
