// thruster-namesrv: a RocketMQ-compatible name server (spec/remoting.md §3.5).
//
//   thruster-namesrv [-c namesrv.conf] [-p PORT] [--key=value ...]
//
// namesrv.conf holds RocketMQ's keys (listenPort, aclEnable, tls.server.*) and
// Thruster's (bindAddress, ioThreads, aclFile, the log keys); flags win over
// the file.

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "broker/acl/plain_access_validator.h"
#include "common/log_config.h"
#include "common/logging.h"
#include "common/properties.h"
#include "namesrv/name_server.h"
#include "remoting/tls_config.h"
#include "server/server_config.h"

namespace {

constexpr std::string_view kDefaultLogFile = "namesrv_default.log";

constexpr const char* kKeysHelp =
    "  --key=value        set any namesrv.conf key (overrides the file):\n"
    "                     --listenPort=9876 --bindAddress=0.0.0.0\n"
    "                     --ioThreads=N (network threads, 0: one per core)\n"
    "                     --metricsExporterType=PROM "
    "--metricsPromExporterPort=5557\n"
    "                     (Prometheus metrics at GET /metrics)\n"
    "ACL (plain ACL 1.0: the admin writes need an admin account):\n"
    "  --aclEnable=true   --aclFile=FILE (default conf/plain_acl.yml under\n"
    "                     ROCKETMQ_HOME, else plain_acl.yml beside -c)\n"
    "TLS (RocketMQ's keys, file or flag):\n"
    "  --tls.server.mode=disabled|permissive|enforcing (also --tlsMode)\n"
    "  --tls.server.certPath=PEM --tls.server.keyPath=PEM "
    "--tls.server.keyPassword=P\n"
    "  --tls.server.trustCertPath=CA --tls.server.need.client.auth="
    "none|optional|require\n"
    "Logs (Thruster keys, file or flag):\n"
    "  --logTarget=file   file: namesrv.log, remoting.log, "
    "namesrv_default.log\n"
    "                     under logDir; stdout: for journald; stderr: the "
    "terminal\n"
    "  --logDir=DIR       default ~/logs/rocketmqlogs\n"
    "  --logFileMaxSize=N bytes before a file rotates (134217728); "
    "--logFileMaxIndex=N\n"
    "                     rotated files kept (10)\n"
    "  --logLevel=LEVEL   DEBUG, INFO, WARN or ERROR (INFO)\n"
    "Signals: SIGTERM or SIGINT stop; SIGHUP re-reads the config file and "
    "applies\n"
    "logLevel at once (other changed keys are named in the log as needing a\n"
    "restart).\n";

void ReloadConfig(const std::string& conf_path,
                  const thruster::Properties& overrides,
                  thruster::Properties* running) {
  thruster::Result<thruster::apps::ReloadReport> report =
      thruster::apps::ReloadHotKeys(conf_path, overrides, kDefaultLogFile,
                                    running);
  if (!report.ok()) {
    TH_LOG(namesrv, kError, "SIGHUP: config not reloaded: {}",
           report.status().ToString());
    return;
  }
  for (const std::string& key : report->applied) {
    TH_LOG(namesrv, kInfo, "SIGHUP: {} applied (log level {})", key,
           thruster::logging::LevelName(thruster::logging::GetLevel()));
  }
  for (const std::string& key : report->needs_restart) {
    TH_LOG(namesrv, kWarn,
           "SIGHUP: {} changed in {} but takes effect only after a restart",
           key, conf_path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using thruster::Properties;
  CLI::App app{"thruster-namesrv: a RocketMQ-compatible name server"};
  std::string conf_path;
  std::string port;
  app.add_option("-c,--config", conf_path,
                 "read RocketMQ namesrv.conf properties from FILE");
  app.add_option("-p", port, "TCP port to listen on (listenPort, 9876)");
  app.allow_extras();
  app.footer(kKeysHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  Properties overrides;
  if (!thruster::apps::ParseKeyValues("thruster-namesrv", app.remaining(),
                                      &overrides)) {
    std::fprintf(stderr, "Run with --help for more information.\n");
    return 2;
  }
  if (!port.empty()) overrides.Set("listenPort", port);
  thruster::Result<Properties> loaded =
      thruster::apps::LoadConfig(conf_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "thruster-namesrv: cannot read %s: %s\n",
                 conf_path.c_str(), loaded.status().ToString().c_str());
    return 2;
  }
  Properties props = std::move(loaded).value();

  thruster::namesrv::NameServerOptions options;
  thruster::Result<int64_t> listen_port = props.GetInt("listenPort", 9876);
  thruster::Result<std::string> bind_address =
      props.GetString("bindAddress", options.bind_address);
  thruster::Result<int64_t> io_threads = props.GetInt("ioThreads", 0);
  thruster::Result<std::string> metrics_type =
      props.GetString("metricsExporterType", options.metrics_exporter_type);
  thruster::Result<std::string> metrics_host = props.GetString(
      "metricsPromExporterHost", options.metrics_prom_exporter_host);
  thruster::Result<int64_t> metrics_port = props.GetInt(
      "metricsPromExporterPort", options.metrics_prom_exporter_port);
  thruster::Result<thruster::logging::LogConfig> log_config =
      thruster::logging::LogConfig::FromProperties(props, kDefaultLogFile);
  thruster::Result<bool> acl_enable = props.GetBool("aclEnable", false);
  thruster::Result<std::string> acl_file = props.GetString("aclFile", "");
  thruster::Result<thruster::remoting::TlsConfig> tls =
      thruster::remoting::TlsConfig::FromProperties(props);
  thruster::Status bad = !listen_port.ok()    ? listen_port.status()
                         : !bind_address.ok() ? bind_address.status()
                         : !io_threads.ok()   ? io_threads.status()
                         : !log_config.ok()   ? log_config.status()
                         : !metrics_type.ok() ? metrics_type.status()
                         : !metrics_host.ok() ? metrics_host.status()
                         : !metrics_port.ok() ? metrics_port.status()
                         : !acl_enable.ok()   ? acl_enable.status()
                         : !acl_file.ok()     ? acl_file.status()
                         : !tls.ok()          ? tls.status()
                                              : thruster::Status::OK();
  if (bad.ok() && (*listen_port < 0 || *listen_port > 65535))
    bad = thruster::Status::InvalidArgument("listenPort is out of range");
  if (bad.ok() && (*io_threads < 0 || *io_threads > 1024))
    bad = thruster::Status::InvalidArgument("ioThreads must be in 0..1024");
  if (bad.ok() && *metrics_type != "DISABLE" && *metrics_type != "PROM") {
    bad = thruster::Status::InvalidArgument(
        "metricsExporterType " + *metrics_type +
        " is not supported (DISABLE or PROM)");
  }
  if (bad.ok() && (*metrics_port < 0 || *metrics_port > 65535))
    bad = thruster::Status::InvalidArgument(
        "metricsPromExporterPort is out of range");
  if (!bad.ok()) {
    std::fprintf(stderr, "thruster-namesrv: bad configuration: %s\n",
                 bad.ToString().c_str());
    return 2;
  }
  options.port = static_cast<uint16_t>(*listen_port);
  options.bind_address = *bind_address;
  options.io_threads = static_cast<int>(*io_threads);
  options.metrics_exporter_type = *metrics_type;
  options.metrics_prom_exporter_host = *metrics_host;
  options.metrics_prom_exporter_port = static_cast<int32_t>(*metrics_port);
  options.tls = tls->server;
  if (thruster::Status s = thruster::logging::Apply(*log_config); !s.ok()) {
    std::fprintf(stderr, "thruster-namesrv: cannot set up logging: %s\n",
                 s.ToString().c_str());
    return 1;
  }

  // Block the stop and reload signals before any thread starts, so only
  // sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // With aclEnable the admin writes (PUT/DELETE_KV_CONFIG, topic deletes,
  // write-permission changes, UPDATE_NAMESRV_CONFIG) need an admin account of
  // plain_acl.yml; reads and broker registrations stay open, as RocketMQ's.
  std::unique_ptr<thruster::broker::acl::PlainAccessValidator> acl;
  std::unique_ptr<thruster::broker::acl::AclWatchService> acl_watch;
  if (*acl_enable) {
    thruster::broker::acl::AclOptions acl_options;
    acl_options.file_path =
        acl_file->empty() ? thruster::broker::acl::DefaultAclFilePath(conf_path)
                          : *acl_file;
    acl_options.only_codes = thruster::broker::acl::NameServerAdminWriteCodes();
    acl = std::make_unique<thruster::broker::acl::PlainAccessValidator>(
        acl_options, thruster::SystemClock::Default());
    if (thruster::Status s = acl->Load(); !s.ok()) {
      std::fprintf(stderr, "thruster-namesrv: aclEnable: %s\n",
                   s.ToString().c_str());
      return 1;
    }
    options.request_hook =
        [v = acl.get()](
            const std::shared_ptr<thruster::remoting::Connection>& c,
            const thruster::remoting::RemotingCommand& req) {
          return v->Admit(c, req);
        };
    acl_watch =
        std::make_unique<thruster::broker::acl::AclWatchService>(acl.get());
    acl_watch->Start();
    TH_LOG(namesrv, kInfo, "aclEnable: admin writes checked against {}",
           acl_options.file_path);
  }

  thruster::namesrv::NameServer server(options);
  if (thruster::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "thruster-namesrv: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stdout, "thruster-namesrv: listening on %s:%u\n",
               options.bind_address.c_str(), server.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  while (sig == SIGHUP) {
    ReloadConfig(conf_path, overrides, &props);
    sigwait(&signals, &sig);
  }
  TH_LOG(namesrv, kInfo, "signal {} received, shutting down", sig);
  server.Stop();
  if (acl_watch) acl_watch->Stop();
  return 0;
}
