// `thruster dashboard --namesrv HOST:PORT [--port 8080]`: a web UI for a
// Thruster (or RocketMQ) cluster, in the box. One HTTP server (cpp-httplib)
// serves the single-page front end compiled into the binary
// (dashboard_assets.h) and the JSON API of dashboard_api.h, which goes through
// the admin client to the name server and brokers. Runs until SIGINT/SIGTERM.
#include <fmt/format.h>
#include <httplib.h>

#include <csignal>
#include <cstdlib>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "thruster/commands.h"
#include "thruster/dashboard_api.h"
#include "thruster/dashboard_assets.h"

namespace thruster::cli {
namespace {

struct DashboardArgs {
  std::string namesrv = "127.0.0.1:9876";
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string access_key;
  std::string secret_key;
};

httplib::Server* g_server = nullptr;  // what the signal handler stops

extern "C" void StopOnSignal(int) {
  // httplib's stop() only flips an atomic flag and shuts the listening socket
  // down, which is safe from a signal handler.
  if (g_server != nullptr) g_server->stop();
}

void Serve(httplib::Server& server, const DashboardApi& api) {
  auto api_handler = [&api](const httplib::Request& req,
                            httplib::Response& res) {
    ApiRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.params.emplace(k, v);
    r.body = req.body;
    ApiResponse out = api.Handle(r);
    res.status = out.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(out.body, "application/json");
  };
  const char* kApi = R"(/api/.*)";
  server.Get(kApi, api_handler);
  server.Post(kApi, api_handler);
  server.Delete(kApi, api_handler);

  auto asset_handler = [](const httplib::Request& req, httplib::Response& res) {
    // The UI routes with the URL's fragment, so every page loads "/".
    const std::string path = req.path == "/" ? "/index.html" : req.path;
    for (const EmbeddedAsset& a : DashboardAssets()) {
      if (a.path != path) continue;
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(a.bytes.data(), a.bytes.size(),
                      std::string(a.content_type).c_str());
      return;
    }
    res.status = 404;
    res.set_content("not found\n", "text/plain");
  };
  server.Get(R"(/[^/]*)", asset_handler);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"error":"internal error"})", "application/json");
      });
}

int RunDashboard(const DashboardArgs& a) {
  client::ClientOptions o;
  o.namesrv_addr = a.namesrv;
  o.heartbeat_interval_ms = 0;
  o.instance_name = "dashboard";
  o.access_key = a.access_key;
  o.secret_key = a.secret_key;
  o.io_threads = 2;
  client::ClientInstance instance(o);
  if (Status s = instance.Start(); !s.ok()) {
    fmt::print(stderr, "thruster dashboard: {}\n", s.message());
    return 1;
  }
  client::AdminClient admin(&instance);
  DashboardApi api(&admin);

  httplib::Server server;
  Serve(server, api);
  int port = a.port;
  if (port == 0) {
    port = server.bind_to_any_port(a.bind);
  } else if (!server.bind_to_port(a.bind, port)) {
    port = -1;
  }
  if (port < 0) {
    fmt::print(stderr, "thruster dashboard: cannot listen on {}:{}\n", a.bind,
               a.port);
    instance.Stop();
    return 1;
  }
  g_server = &server;
  std::signal(SIGINT, StopOnSignal);
  std::signal(SIGTERM, StopOnSignal);
  fmt::print("thruster dashboard on http://{}:{}/ (name server {})\n", a.bind,
             port, a.namesrv);
  std::fflush(stdout);
  const bool ok = server.listen_after_bind();
  g_server = nullptr;
  instance.Stop();
  return ok ? 0 : 1;
}

}  // namespace

void AddDashboardCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DashboardArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dashboard", "serve a web dashboard of a cluster (admin client + UI)");
  if (const char* env = std::getenv("NAMESRV_ADDR")) args->namesrv = env;
  cmd->add_option("-n,--namesrv,--namesrvAddr", args->namesrv,
                  "name server HOST:PORT (';'-separated for several); default "
                  "$NAMESRV_ADDR or 127.0.0.1:9876");
  cmd->add_option("--port", args->port,
                  "HTTP port (0 picks a free one and prints it)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", args->bind,
                  "address to listen on; 0.0.0.0 for every interface (the "
                  "dashboard can create and delete topics: keep it private)");
  AddAclSigningOptions(*cmd, &args->access_key, &args->secret_key);
  cmd->callback([args, exit_code] { *exit_code = RunDashboard(*args); });
}

}  // namespace thruster::cli
