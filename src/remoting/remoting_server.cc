#include "remoting/remoting_server.h"

#include <fmt/format.h>

#include "common/check.h"
#include "common/logging.h"

namespace thruster::remoting {

RemotingServer::RemotingServer(RemotingServerOptions options)
    : options_(std::move(options)), io_(1), acceptor_(io_) {}

RemotingServer::~RemotingServer() { Stop(); }

void RemotingServer::RegisterProcessor(int32_t code, RequestHandler handler) {
  TH_CHECK(!started_, "RegisterProcessor({}) after Start()", code);
  processors_.Register(code, std::move(handler));
}

void RemotingServer::SetDefaultProcessor(RequestHandler handler) {
  TH_CHECK(!started_, "SetDefaultProcessor after Start()");
  processors_.SetDefault(std::move(handler));
}

void RemotingServer::SetCloseListener(
    std::function<void(const std::shared_ptr<Connection>&)> listener) {
  TH_CHECK(!started_, "SetCloseListener after Start()");
  close_listener_ = std::move(listener);
}

void RemotingServer::SetRequestHook(RequestHook hook) {
  TH_CHECK(!started_, "SetRequestHook after Start()");
  request_hook_ = std::move(hook);
}

Status RemotingServer::Start() {
  TH_CHECK(!started_, "RemotingServer started twice");
  std::shared_ptr<const TlsContext> tls;
  if (options_.tls.mode != TlsMode::kDisabled) {
    TH_ASSIGN_OR_RETURN(tls, TlsContext::ForServer(options_.tls));
    MutexLock lock(&tls_mu_);
    tls_ = tls;
  }
  asio::error_code ec;
  auto address = asio::ip::make_address(options_.bind_address, ec);
  if (ec)
    return Status::InvalidArgument(fmt::format(
        "bad bind address {}: {}", options_.bind_address, ec.message()));
  asio::ip::tcp::endpoint endpoint(address, options_.port);
  std::string where =
      fmt::format("{}:{}", options_.bind_address, options_.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec)
    return Status::IOError("open " + where, ec.value());
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return Status::IOError("SO_REUSEADDR " + where, ec.value());
  }
  if (acceptor_.bind(endpoint, ec); ec)
    return Status::IOError("bind " + where, ec.value());
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::IOError("listen " + where, ec.value());
  }
  port_.store(acceptor_.local_endpoint(ec).port(), std::memory_order_release);
  started_ = true;
  int n =
      options_.io_threads > 0
          ? options_.io_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < n; ++i)
    loops_.push_back(std::make_unique<asio::io_context>(1));
  for (size_t i = 0; i < static_cast<size_t>(n); ++i)
    work_.push_back(asio::make_work_guard(Loop(i)));
  DoAccept();
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    threads_.push_back(StartIoThread(Loop(i), fmt::format("net-{}", i),
                                     options_.busy_poll_us));
  }
  TH_LOG(remoting, kInfo,
         "remoting server listening on {}:{} with {} io threads",
         options_.bind_address, port(), n);
  if (tls) {
    TH_LOG(remoting, kInfo,
           "TLS on port {}: tls.server.mode={}, certificate {}, client auth "
           "{}; {}",
           port(), TlsModeName(options_.tls.mode), options_.tls.cert_path,
           ClientAuthName(options_.tls.need_client_auth),
           KernelTlsAvailable()
               ? "kTLS available (kernel tls module loaded)"
               : "kTLS not available (no kernel tls module): TLS writes copy");
  }
  return Status::OK();
}

Status RemotingServer::ReloadTls() {
  if (options_.tls.mode == TlsMode::kDisabled)
    return Status::InvalidArgument("TLS is not enabled on this server");
  Result<std::shared_ptr<TlsContext>> fresh =
      TlsContext::ForServer(options_.tls);
  if (!fresh.ok()) {
    TH_LOG(remoting, kError,
           "TLS on port {}: the changed certificate files cannot be used, "
           "keeping the previous ones: {}",
           port(), fresh.status().ToString());
    return fresh.status();
  }
  {
    MutexLock lock(&tls_mu_);
    tls_ = std::move(fresh).value();
  }
  TH_LOG(remoting, kInfo,
         "TLS on port {}: reloaded certificate {}; new connections use it",
         port(), options_.tls.cert_path);
  return Status::OK();
}

void RemotingServer::DoAccept() {
  asio::io_context& loop = Loop(next_loop_++ % (loops_.size() + 1));
  acceptor_.async_accept(
      asio::make_strand(loop),
      [this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || !acceptor_.is_open())
            return;
          TH_LOG(remoting, kWarn, "accept failed: {}", ec.message());
        } else {
          std::shared_ptr<const TlsContext> tls;
          {
            MutexLock lock(&tls_mu_);
            tls = tls_;
          }
          auto conn = std::make_shared<Connection>(
              std::move(socket), static_cast<ConnectionHandler*>(this),
              options_.connection, std::move(tls));
          {
            MutexLock lock(&mu_);
            if (stopping_)
              return;  // Stop() already took its snapshot; the socket closes
                       // with `conn`
            connections_.emplace(conn->id(), conn);
          }
          TH_LOG(remoting, kDebug, "accepted {}", conn->remote_address());
          conn->Start();
        }
        DoAccept();
      });
}

void RemotingServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  asio::post(io_, [this] {
    asio::error_code ec;
    acceptor_.close(ec);
  });
  std::vector<std::shared_ptr<Connection>> conns;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, c] : connections_) conns.push_back(c);
  }
  for (auto& c : conns) c->Close();
  work_.clear();
  // Closing lets every handler finish; the io threads return once nothing is
  // left to run.
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    MutexLock lock(&mu_);
    connections_.clear();
  }
  TH_LOG(remoting, kInfo, "remoting server on port {} stopped", port());
}

size_t RemotingServer::connection_count() const {
  MutexLock lock(&mu_);
  return connections_.size();
}

void RemotingServer::OnRequest(const std::shared_ptr<Connection>& conn,
                               RemotingCommand&& request) {
  if (request_hook_ && !request_hook_(conn, request)) return;
  processors_.Dispatch(conn, std::move(request));
}

void RemotingServer::OnClose(const std::shared_ptr<Connection>& conn) {
  {
    MutexLock lock(&mu_);
    connections_.erase(conn->id());
  }
  if (close_listener_) close_listener_(conn);
}

int32_t RemotingServer::NextOpaque() {
  return next_opaque_.fetch_add(1, std::memory_order_relaxed) & 0x7FFFFFFF;
}

}  // namespace thruster::remoting
