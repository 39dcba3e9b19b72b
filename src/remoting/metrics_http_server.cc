#include "remoting/metrics_http_server.h"

#include <pthread.h>

#include <chrono>
#include <thread>

#include <httplib.h>

#include "common/logging.h"

namespace thruster::remoting {

struct MetricsHttpServer::Impl {
  std::function<std::string()> render;
  httplib::Server server;
  std::thread thread;
};

MetricsHttpServer::MetricsHttpServer(std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  impl_->render = std::move(render);
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

Status MetricsHttpServer::Start(const std::string& host, int32_t port) {
  if (impl_->thread.joinable())
    return Status::InvalidArgument("metrics server already started");
  if (port < 0 || port > 65535)
    return Status::InvalidArgument("metricsPromExporterPort is out of range");
  Impl* impl = impl_.get();
  // One worker: scrapes are rare and each one walks the broker's state.
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(1); };
  impl->server.Get("/metrics", [impl](const httplib::Request&,
                                      httplib::Response& res) {
    res.set_content(impl->render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  const std::string bind_host = host.empty() ? "0.0.0.0" : host;
  int bound = 0;
  if (port == 0) {
    bound = impl->server.bind_to_any_port(bind_host);
  } else if (impl->server.bind_to_port(bind_host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return Status::IOError("metrics: cannot listen on " + bind_host + ":" +
                           std::to_string(port));
  }
  port_ = static_cast<uint16_t>(bound);
  impl->thread = std::thread([impl] {
    pthread_setname_np(pthread_self(), "metrics-http");
    impl->server.listen_after_bind();
  });
  // Stop() may only stop a server that runs; it is running within a few
  // scheduler slices of the thread's start.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!impl->server.is_running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  TH_LOG(remoting, kInfo, "metrics: serving /metrics on {}:{}", bind_host,
         port_);
  return Status::OK();
}

void MetricsHttpServer::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace thruster::remoting
