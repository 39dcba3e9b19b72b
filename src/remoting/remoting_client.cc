#include "remoting/remoting_client.h"

#include <fmt/format.h>

#include <future>

#include "common/check.h"
#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::remoting {

Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument(
        fmt::format("address '{}' is not host:port", addr));
  }
  auto port = json::ParseInt64(addr.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535)
    return Status::InvalidArgument(fmt::format("bad port in '{}'", addr));
  std::string_view host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::pair{std::string(host), static_cast<uint16_t>(*port)};
}

RemotingClient::RemotingClient(RemotingClientOptions options)
    : options_(std::move(options)) {}

RemotingClient::~RemotingClient() { Stop(); }

void RemotingClient::RegisterProcessor(int32_t code, RequestHandler handler) {
  TH_CHECK(!started_, "RegisterProcessor({}) after Start()", code);
  processors_.Register(code, std::move(handler));
}

Status RemotingClient::Start() {
  TH_CHECK(!started_, "RemotingClient started twice");
  if (options_.tls.enable) {
    TH_ASSIGN_OR_RETURN(tls_, TlsContext::ForClient(options_.tls));
  }
  started_ = true;
  work_.emplace(io_.get_executor());
  threads_ = StartIoThreads(io_, std::max(1, options_.io_threads), "netc");
  return Status::OK();
}

void RemotingClient::Stop() {
  if (!started_ || stopped_.exchange(true)) return;
  std::vector<std::shared_ptr<Connection>> conns;
  {
    MutexLock lock(&mu_);
    for (auto& [addr, c] : connections_) conns.push_back(c);
  }
  for (auto& c : conns) c->Close();
  work_.reset();
  for (auto& t : threads_) t.join();
  threads_.clear();
  MutexLock lock(&mu_);
  connections_.clear();
}

Result<std::shared_ptr<Connection>> RemotingClient::GetOrConnect(
    const std::string& addr) {
  {
    MutexLock lock(&mu_);
    auto it = connections_.find(addr);
    if (it != connections_.end() && it->second->is_open()) return it->second;
  }
  MutexLock connect_lock(&connect_mu_);
  {
    MutexLock lock(&mu_);
    auto it = connections_.find(addr);
    if (it != connections_.end() && it->second->is_open()) return it->second;
  }
  if (!started_ || stopped_.load())
    return Status::Shutdown("remoting client not running");
  TH_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(addr));
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io_);
  auto endpoints =
      resolver.resolve(host_port.first, std::to_string(host_port.second), ec);
  if (ec)
    return Status::IOError(fmt::format("resolve {}: {}", addr, ec.message()));

  auto socket = std::make_shared<asio::ip::tcp::socket>(asio::make_strand(io_));
  auto done = std::make_shared<std::promise<asio::error_code>>();
  auto result = done->get_future();
  asio::async_connect(
      *socket, endpoints,
      [done](const asio::error_code& e, const asio::ip::tcp::endpoint&) {
        done->set_value(e);
      });
  if (result.wait_for(options_.connect_timeout) != std::future_status::ready) {
    asio::post(socket->get_executor(), [socket] {
      asio::error_code ignored;
      socket->close(ignored);
    });
    result.wait();  // the cancelled connect completes promptly
    return Status::Timeout(fmt::format("connect to {} timed out", addr));
  }
  if (ec = result.get(); ec)
    return Status::IOError(
        fmt::format("connect to {}: {}", addr, ec.message()));

  auto conn = std::make_shared<Connection>(
      std::move(*socket), static_cast<ConnectionHandler*>(this),
      options_.connection, tls_);
  {
    MutexLock lock(&mu_);
    connections_[addr] = conn;
  }
  conn->Start();
  TH_LOG(remoting, kDebug, "connected to {}", addr);
  return conn;
}

Result<RemotingCommand> RemotingClient::InvokeSync(
    const std::string& addr, RemotingCommand request,
    std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<RemotingCommand>>>();
  auto future = promise->get_future();
  InvokeAsync(addr, std::move(request), timeout,
              [promise](Result<RemotingCommand> r) {
                promise->set_value(std::move(r));
              });
  return future.get();
}

void RemotingClient::InvokeAsync(const std::string& addr,
                                 RemotingCommand request,
                                 std::chrono::milliseconds timeout,
                                 ResponseCallback cb) {
  Result<std::shared_ptr<Connection>> conn = GetOrConnect(addr);
  if (!conn.ok()) {
    cb(conn.status());
    return;
  }
  if (options_.rpc_hook) options_.rpc_hook(request);
  (*conn)->InvokeAsync(std::move(request), timeout, std::move(cb));
}

Status RemotingClient::InvokeOneway(const std::string& addr,
                                    RemotingCommand request) {
  TH_ASSIGN_OR_RETURN(auto conn, GetOrConnect(addr));
  if (options_.rpc_hook) options_.rpc_hook(request);
  return conn->InvokeOneway(std::move(request));
}

void RemotingClient::CloseConnection(const std::string& addr) {
  std::shared_ptr<Connection> conn;
  {
    MutexLock lock(&mu_);
    auto it = connections_.find(addr);
    if (it == connections_.end()) return;
    conn = std::move(it->second);
    connections_.erase(it);
  }
  conn->Close();
}

void RemotingClient::OnRequest(const std::shared_ptr<Connection>& conn,
                               RemotingCommand&& request) {
  processors_.Dispatch(conn, std::move(request));
}

void RemotingClient::OnClose(const std::shared_ptr<Connection>& conn) {
  MutexLock lock(&mu_);
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->second == conn) {
      connections_.erase(it);
      break;
    }
  }
}

int32_t RemotingClient::NextOpaque() {
  return next_opaque_.fetch_add(1, std::memory_order_relaxed) & 0x7FFFFFFF;
}

}  // namespace thruster::remoting
