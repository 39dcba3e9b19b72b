#include "namesrv/name_server.h"

#include <fmt/format.h>

#include <chrono>

#include "common/crc32.h"
#include "common/logging.h"
#include "remoting/codes.h"
#include "remoting/tls_file_watch_service.h"

namespace thruster::namesrv {
namespace {

using remoting::RemotingCommand;
namespace request_code = remoting::request_code;
namespace response_code = remoting::response_code;

RemotingCommand SystemError(const RemotingCommand& request, const Status& s) {
  return request.CreateResponse(response_code::kSystemError,
                                std::string(s.message()));
}

RemotingCommand RegisterBroker(RouteInfoManager& routes,
                               const RemotingCommand& request,
                               uint64_t connection_id) {
  RegisterBrokerRequest req;
  req.connection_id = connection_id;
  for (auto [name, field] : {std::pair{"brokerName", &req.broker_name},
                             std::pair{"brokerAddr", &req.broker_addr},
                             std::pair{"clusterName", &req.cluster_name}}) {
    Result<std::string_view> v = request.RequireExt(name);
    if (!v.ok()) return SystemError(request, v.status());
    *field = std::string(*v);
  }
  // haServerAddr is mandatory in RocketMQ's header class, but a broker without
  // HA may leave it empty.
  req.ha_server_addr = std::string(request.ExtOr("haServerAddr", ""));
  Result<int64_t> id = request.RequireExtInt64("brokerId");
  if (!id.ok()) return SystemError(request, id.status());
  req.broker_id = *id;
  req.timeout_ms =
      request.ExtInt64Or("heartbeatTimeoutMillis", kDefaultBrokerTimeoutMs);

  int64_t crc = request.ExtInt64Or("bodyCrc32", 0);
  if (crc != 0 && Crc32R(request.body()) != crc) {
    TH_LOG(namesrv, kWarn,
           "register from {} rejected: body crc32 does not match",
           req.broker_addr);
    return request.CreateResponse(response_code::kSystemError,
                                  "crc32 not match");
  }
  Result<remoting::RegisterBrokerBody> body =
      remoting::RegisterBrokerBody::Decode(
          request.body(), request.ExtBoolOr("compressed", false));
  if (!body.ok()) return SystemError(request, body.status());
  req.body = std::move(body).value();

  Result<RegisterBrokerResult> result = routes.RegisterBroker(req);
  if (!result.ok()) return SystemError(request, result.status());
  RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
  if (!result->master_addr.empty())
    resp.SetExt("masterAddr", result->master_addr);
  if (!result->ha_server_addr.empty())
    resp.SetExt("haServerAddr", result->ha_server_addr);
  return resp;
}

RemotingCommand UnregisterBroker(RouteInfoManager& routes,
                                 const RemotingCommand& request) {
  Result<std::string_view> name = request.RequireExt("brokerName");
  Result<std::string_view> addr = request.RequireExt("brokerAddr");
  Result<std::string_view> cluster = request.RequireExt("clusterName");
  Result<int64_t> id = request.RequireExtInt64("brokerId");
  for (const Status* s :
       {&name.status(), &addr.status(), &cluster.status(), &id.status()}) {
    if (!s->ok()) return SystemError(request, *s);
  }
  routes.UnregisterBroker(*cluster, *addr, *name, *id);
  return request.CreateResponse(response_code::kSuccess);
}

RemotingCommand GetRouteInfo(const RouteInfoManager& routes,
                             const RemotingCommand& request) {
  Result<std::string_view> topic = request.RequireExt("topic");
  if (!topic.ok()) return SystemError(request, topic.status());
  std::optional<remoting::TopicRouteData> route = routes.GetTopicRoute(*topic);
  if (!route) {
    return request.CreateResponse(
        response_code::kTopicNotExist,
        fmt::format("No topic route info in name server for the topic: {}",
                    *topic));
  }
  // RocketMQ answers clients older than 4.9.4 with bare numeric brokerAddrs
  // keys (§3.5.3).
  bool standard = request.version() >= remoting::kVersion4_9_4 ||
                  request.ExtBoolOr("acceptStandardJsonOnly", false);
  RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
  resp.set_body(
      remoting::json::Write(route->ToJson(/*bare_numeric_keys=*/!standard)));
  return resp;
}

RemotingCommand QueryDataVersion(RouteInfoManager& routes,
                                 const RemotingCommand& request) {
  Result<std::string_view> addr = request.RequireExt("brokerAddr");
  Result<std::string_view> cluster = request.RequireExt("clusterName");
  if (!addr.ok()) return SystemError(request, addr.status());
  if (!cluster.ok()) return SystemError(request, cluster.status());
  remoting::DataVersion theirs;
  if (!request.body().empty()) {
    Result<remoting::json::Value> v =
        remoting::json::Parse(request.body_view());
    if (!v.ok()) return SystemError(request, v.status());
    theirs = remoting::DataVersion::FromJson(*v);
  }
  std::optional<remoting::DataVersion> ours =
      routes.QueryDataVersion(*cluster, *addr, /*touch=*/true);
  RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
  resp.SetExtBool("changed", !ours || !(*ours == theirs));
  if (ours) resp.set_body(remoting::json::Write(ours->ToJson()));
  return resp;
}

}  // namespace

RemotingCommand ProcessNameServerRequest(RouteInfoManager& routes,
                                         const RemotingCommand& request,
                                         uint64_t connection_id) {
  switch (request.code()) {
    case request_code::kRegisterBroker:
      return RegisterBroker(routes, request, connection_id);
    case request_code::kUnregisterBroker:
      return UnregisterBroker(routes, request);
    case request_code::kGetRouteinfoByTopic:
      return GetRouteInfo(routes, request);
    case request_code::kGetBrokerClusterInfo: {
      RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
      resp.set_body(remoting::json::Write(routes.GetClusterInfo().ToJson()));
      return resp;
    }
    case request_code::kGetAllTopicListFromNameserver: {
      RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
      resp.set_body(remoting::json::Write(routes.GetAllTopicList().ToJson()));
      return resp;
    }
    case request_code::kQueryDataVersion:
      return QueryDataVersion(routes, request);
    case request_code::kDeleteTopicInNamesrv: {
      // Succeeds for a topic it does not know too (as in RocketMQ).
      Result<std::string_view> topic = request.RequireExt("topic");
      if (!topic.ok()) return SystemError(request, topic.status());
      routes.DeleteTopic(*topic, request.ExtOr("clusterName", ""));
      return request.CreateResponse(response_code::kSuccess);
    }
    case request_code::kWipeWritePermOfBroker:
    case request_code::kAddWritePermOfBroker: {
      Result<std::string_view> name = request.RequireExt("brokerName");
      if (!name.ok()) return SystemError(request, name.status());
      const bool wipe = request.code() == request_code::kWipeWritePermOfBroker;
      const int32_t count = wipe ? routes.WipeWritePermOfBroker(*name)
                                 : routes.AddWritePermOfBroker(*name);
      RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
      resp.SetExt(wipe ? "wipeTopicCount" : "addTopicCount", count);
      return resp;
    }
    default:
      return request.CreateResponse(
          response_code::kRequestCodeNotSupported,
          fmt::format(" request type {} not supported", request.code()));
  }
}

NameServer::NameServer(NameServerOptions options)
    : options_(std::move(options)),
      routes_(options_.clock),
      server_(
          remoting::RemotingServerOptions{.bind_address = options_.bind_address,
                                          .port = options_.port,
                                          .io_threads = options_.io_threads,
                                          .connection = options_.connection,
                                          .tls = options_.tls}),
      scan_thread_(&routes_, options_.scan_interval_ms) {
  if (options_.metrics_exporter_type == "PROM")
    metrics_ = std::make_unique<NamesrvMetrics>(routes_);
  RegisterProcessors();
}

NameServer::~NameServer() { Stop(); }

void NameServer::RegisterProcessors() {
  for (int32_t code :
       {request_code::kRegisterBroker, request_code::kUnregisterBroker,
        request_code::kGetRouteinfoByTopic, request_code::kGetBrokerClusterInfo,
        request_code::kGetAllTopicListFromNameserver,
        request_code::kQueryDataVersion, request_code::kDeleteTopicInNamesrv,
        request_code::kWipeWritePermOfBroker,
        request_code::kAddWritePermOfBroker}) {
    server_.RegisterProcessor(
        code, [this](RemotingCommand request, remoting::Responder responder) {
          auto conn = responder.connection();
          uint64_t conn_id = conn ? conn->id() : 0;
          const auto start = std::chrono::steady_clock::now();
          RemotingCommand resp =
              ProcessNameServerRequest(routes_, request, conn_id);
          if (metrics_ && !responder.oneway()) {
            metrics_->CountRpc(
                request.code(), resp.code(),
                std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count());
          }
          responder.Send(std::move(resp));  // no-op for oneway registrations
        });
  }
  server_.SetCloseListener(
      [this](const std::shared_ptr<remoting::Connection>& conn) {
        routes_.OnConnectionClosed(conn->id());
      });
}

Status NameServer::Start() {
  if (options_.request_hook) server_.SetRequestHook(options_.request_hook);
  TH_RETURN_IF_ERROR(server_.Start());
  if (metrics_) {
    if (Status s = metrics_->Start(
            options_.metrics_prom_exporter_host,
            options_.metrics_prom_exporter_port,
            options_.bind_address + ":" + std::to_string(server_.port()));
        !s.ok()) {
      server_.Stop();
      return s;
    }
  }
  scan_thread_.Start();
  if (options_.tls.mode != remoting::TlsMode::kDisabled) {
    tls_watch_ = std::make_unique<remoting::TlsFileWatchService>(&server_,
                                                                 options_.tls);
    tls_watch_->Start();
  }
  started_ = true;
  TH_LOG(namesrv, kInfo, "name server started on port {}", port());
  return Status::OK();
}

void NameServer::Stop() {
  if (!started_) return;
  started_ = false;
  scan_thread_.Stop();
  if (tls_watch_) tls_watch_->Stop();
  if (metrics_) metrics_->Stop();
  server_.Stop();
  TH_LOG(namesrv, kInfo, "name server stopped");
}

void NameServer::ScanThread::Run() {
  while (!stopped()) {
    WaitForRunning(interval_ms_);
    if (stopped()) break;
    routes_->ScanNotActiveBrokers();
    scans_.fetch_add(1, std::memory_order_release);
  }
}

}  // namespace thruster::namesrv
