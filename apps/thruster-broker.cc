// thruster-broker: a RocketMQ-compatible broker (spec/remoting.md §3.4) with an
// embedded name server.
//
//   thruster-broker [-c broker.conf] [--key=value ...]
//
// Every RocketMQ broker.conf key (broker and store) may be given in the file or
// as a flag; flags win. Without namesrvAddr the process also serves a name
// server on namesrvListenPort and the broker registers with it.

#include <pthread.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/acl/plain_access_validator.h"
#include "broker/broker.h"
#include "common/log_config.h"
#include "common/logging.h"
#include "common/properties.h"
#include "namesrv/name_server.h"
#include "proxy/grpc_server.h"
#include "server/server_config.h"

namespace {

constexpr const char* kKeysHelp =
    "  --key=value        set any broker.conf key (overrides the file), e.g.\n"
    "                     --listenPort=10911 --storePathRootDir=./data/store\n"
    "                     --namesrvAddr=127.0.0.1:9876 (an external name "
    "server; turns the\n"
    "                     embedded one off) --namesrvListenPort=9876 "
    "--flushDiskType=SYNC_FLUSH\n"
    "                     --brokerIP1=127.0.0.1 --bindAddress=0.0.0.0\n"
    "                     --metricsExporterType=PROM "
    "--metricsPromExporterPort=5557\n"
    "                     (Prometheus metrics at GET /metrics)\n"
    "                     --enableGrpcServer=true --grpcServerPort=8081 (the "
    "5.x gRPC\n"
    "                     endpoint, apache.rocketmq.v2, for the 5.x clients)\n"
    "TLS (RocketMQ's keys, file or flag; the embedded name server too):\n"
    "  --tls.server.mode=disabled|permissive|enforcing (also --tlsMode)\n"
    "  --tls.server.certPath=PEM --tls.server.keyPath=PEM "
    "--tls.server.keyPassword=P\n"
    "  --tls.server.trustCertPath=CA --tls.server.need.client.auth="
    "none|optional|require\n"
    "  --tls.enable=true (registration with name servers over TLS; default on "
    "when\n"
    "                     enforcing) --tls.client.trustCertPath=CA "
    "--tls.client.certPath\n"
    "                     --tls.client.keyPath --tls.client.keyPassword\n"
    "Logs (Thruster keys, file or flag):\n"
    "  --logTarget=file   file: broker.log, store.log, remoting.log, "
    "namesrv.log,\n"
    "                     broker_default.log ... under logDir; stdout: for "
    "journald;\n"
    "                     stderr: the terminal\n"
    "  --logDir=DIR       default ~/logs/rocketmqlogs\n"
    "  --logFileMaxSize=N bytes before a file rotates (134217728); "
    "--logFileMaxIndex=N\n"
    "                     rotated files kept (10)\n"
    "  --logLevel=LEVEL   DEBUG, INFO, WARN or ERROR (INFO)\n"
    "Signals: SIGTERM or SIGINT stop cleanly (checkpoint written, abort "
    "removed);\n"
    "SIGHUP re-reads the config file and applies logLevel,\n"
    "flushConsumerOffsetInterval, registerNameServerPeriod and "
    "channelExpiredTimeout\n"
    "at once (other changed keys are named in the log as needing a "
    "restart).\n";

void PrintStartError(const thruster::Status& s, const std::string& store_dir) {
  if (s.code() == thruster::Status::Code::kBusy) {
    std::fprintf(stderr,
                 "thruster-broker: the store %s is in use by another process "
                 "(its lock file is held); "
                 "stop that broker or pick another --storePathRootDir: %s\n",
                 store_dir.c_str(), s.ToString().c_str());
  } else {
    std::fprintf(stderr, "thruster-broker: cannot start: %s\n",
                 s.ToString().c_str());
  }
}

// The file of the modules without a RocketMQ log of their own.
constexpr std::string_view kDefaultLogFile = "broker_default.log";

// SIGHUP: applies the config file's hot-reloadable keys, says what else
// changed.
void ReloadConfig(const std::string& conf_path,
                  const thruster::Properties& overrides,
                  thruster::broker::Broker& broker,
                  thruster::Properties* running) {
  thruster::Result<thruster::apps::ReloadReport> report =
      thruster::apps::ReloadHotKeys(conf_path, overrides, kDefaultLogFile,
                                    running);
  if (!report.ok()) {
    TH_LOG(broker, kError, "SIGHUP: config {} not reloaded: {}",
           conf_path.empty() ? "(none, flags only)" : conf_path,
           report.status().ToString());
    return;
  }
  // The broker's own hot keys (those UPDATE_BROKER_CONFIG may change) go
  // through its RuntimeConfig, all or none, as that request would.
  thruster::Properties broker_changes;
  std::vector<std::string> restart_only;
  thruster::Result<thruster::Properties> fresh =
      thruster::apps::LoadConfig(conf_path, overrides);
  for (const std::string& key : report->needs_restart) {
    if (fresh.ok() && fresh->Has(key) &&
        thruster::broker::RuntimeConfig::IsHotKey(key)) {
      broker_changes.Set(key, fresh->values().find(key)->second);
    } else {
      restart_only.push_back(key);
    }
  }
  if (!broker_changes.values().empty()) {
    thruster::Result<std::vector<std::string>> applied =
        broker.runtime_config().Update(broker_changes,
                                       thruster::SystemClock::Default()->NowMs());
    if (applied.ok()) {
      for (const auto& [key, value] : broker_changes.values()) {
        running->Set(key, value);
        TH_LOG(broker, kInfo, "SIGHUP: {} is now {}", key, value);
      }
    } else {
      TH_LOG(broker, kError, "SIGHUP: broker settings not changed: {}",
             applied.status().ToString());
    }
  }
  report->needs_restart = std::move(restart_only);
  for (const std::string& key : report->applied) {
    TH_LOG(
        broker, kInfo, "SIGHUP: {} is now {} (log level {})", key,
        running->Has(key) ? running->values().find(key)->second : "its default",
        thruster::logging::LevelName(thruster::logging::GetLevel()));
  }
  for (const std::string& key : report->needs_restart) {
    TH_LOG(broker, kWarn,
           "SIGHUP: {} changed in {} but takes effect only after a restart",
           key, conf_path);
  }
  if (report->applied.empty() && report->needs_restart.empty()) {
    TH_LOG(broker, kInfo, "SIGHUP: {} reloaded, nothing changed",
           conf_path.empty() ? "no config file (-c)" : conf_path);
  }
}

// Where this process reaches a server bound to `bind_address`.
std::string LocalAddress(const std::string& bind_address) {
  return bind_address.empty() || bind_address == "0.0.0.0" ? "127.0.0.1"
                                                           : bind_address;
}

}  // namespace

int main(int argc, char** argv) {
  using thruster::Properties;
  CLI::App app{"thruster-broker: a RocketMQ-compatible broker"};
  std::string conf_path;
  app.add_option("-c,--config", conf_path,
                 "read RocketMQ broker.conf properties from FILE");
  app.allow_extras();
  app.footer(kKeysHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a malformed command line exits 2, as before CLI11.
    return app.exit(e) == 0 ? 0 : 2;
  }
  Properties overrides;
  if (!thruster::apps::ParseKeyValues("thruster-broker", app.remaining(),
                                      &overrides)) {
    std::fprintf(stderr, "Run with --help for more information.\n");
    return 2;
  }

  thruster::Result<Properties> loaded =
      thruster::apps::LoadConfig(conf_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "thruster-broker: cannot read %s: %s\n",
                 conf_path.c_str(), loaded.status().ToString().c_str());
    return 2;
  }
  Properties props = std::move(loaded).value();

  thruster::Result<thruster::store::MessageStoreConfig> store_config =
      thruster::store::MessageStoreConfig::FromProperties(props);
  if (!store_config.ok()) {
    std::fprintf(stderr, "thruster-broker: bad configuration: %s\n",
                 store_config.status().ToString().c_str());
    return 2;
  }
  thruster::Result<thruster::broker::BrokerConfig> broker_config =
      thruster::broker::BrokerConfig::FromProperties(props);
  if (!broker_config.ok()) {
    std::fprintf(stderr, "thruster-broker: bad configuration: %s\n",
                 broker_config.status().ToString().c_str());
    return 2;
  }

  thruster::Result<thruster::logging::LogConfig> log_config =
      thruster::logging::LogConfig::FromProperties(props, kDefaultLogFile);
  if (!log_config.ok()) {
    std::fprintf(stderr, "thruster-broker: bad configuration: %s\n",
                 log_config.status().ToString().c_str());
    return 2;
  }
  if (thruster::Status s = thruster::logging::Apply(*log_config); !s.ok()) {
    std::fprintf(stderr, "thruster-broker: cannot set up logging: %s\n",
                 s.ToString().c_str());
    return 1;
  }
  if (log_config->sink.target == thruster::logging::Target::kFile) {
    std::fprintf(stdout, "thruster-broker: logging to %s\n",
                 log_config->sink.dir.c_str());
    std::fflush(stdout);
  }

  // aclFile defaults to conf/plain_acl.yml under ROCKETMQ_HOME, else beside
  // the -c file.
  if (broker_config->acl_enable && broker_config->acl_file.empty())
    broker_config->acl_file =
        thruster::broker::acl::DefaultAclFilePath(conf_path);

  // Block the stop and reload signals before any thread starts, so only
  // sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // the shutdown thread's "done"
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The store first: a second broker on the same store is refused before it
  // takes any port.
  thruster::broker::Broker broker(*broker_config, *store_config);
  if (thruster::Status s = broker.Load(); !s.ok()) {
    PrintStartError(s, store_config->store_path_root_dir);
    return 1;
  }
  std::unique_ptr<thruster::namesrv::NameServer> namesrv;
  // With aclEnable the embedded name server checks its admin writes against
  // the same file (reads and broker registrations stay open, as RocketMQ's).
  std::unique_ptr<thruster::broker::acl::PlainAccessValidator> namesrv_acl;
  std::unique_ptr<thruster::broker::acl::AclWatchService> namesrv_acl_watch;
  if (broker_config->NameServerAddresses().empty()) {
    thruster::namesrv::NameServerOptions ns_options;
    if (broker_config->acl_enable) {
      thruster::broker::acl::AclOptions acl_options;
      acl_options.file_path = broker_config->acl_file;
      acl_options.only_codes =
          thruster::broker::acl::NameServerAdminWriteCodes();
      namesrv_acl =
          std::make_unique<thruster::broker::acl::PlainAccessValidator>(
              acl_options, thruster::SystemClock::Default());
      if (thruster::Status s = namesrv_acl->Load(); !s.ok()) {
        PrintStartError(s, store_config->store_path_root_dir);
        return 1;
      }
      ns_options.request_hook =
          [v = namesrv_acl.get()](
              const std::shared_ptr<thruster::remoting::Connection>& c,
              const thruster::remoting::RemotingCommand& req) {
            return v->Admit(c, req);
          };
      namesrv_acl_watch =
          std::make_unique<thruster::broker::acl::AclWatchService>(
              namesrv_acl.get());
      namesrv_acl_watch->Start();
    }
    ns_options.bind_address = broker_config->bind_address;
    ns_options.port = static_cast<uint16_t>(broker_config->namesrv_listen_port);
    ns_options.io_threads = 1;
    ns_options.tls = broker_config->tls.server;
    namesrv = std::make_unique<thruster::namesrv::NameServer>(ns_options);
    if (thruster::Status s = namesrv->Start(); !s.ok()) {
      PrintStartError(thruster::Status::IOError(
                          "embedded name server on port " +
                          std::to_string(broker_config->namesrv_listen_port) +
                          ": " + s.ToString()),
                      store_config->store_path_root_dir);
      return 1;
    }
    TH_LOG(broker, kInfo, "embedded name server listening on {}:{}",
           broker_config->bind_address, namesrv->port());
    broker.set_namesrv_addr(LocalAddress(broker_config->bind_address) + ":" +
                            std::to_string(namesrv->port()));
  }
  if (thruster::Status s = broker.Start(); !s.ok()) {
    PrintStartError(s, store_config->store_path_root_dir);
    return 1;
  }
  // The 5.x gRPC endpoint (RocketMQ's proxy in local mode), on the same
  // broker.
  std::unique_ptr<thruster::proxy::GrpcServer> grpc;
  if (broker_config->enable_grpc_server) {
    thruster::proxy::GrpcServerOptions grpc_options;
    grpc_options.bind_address = broker_config->bind_address;
    grpc_options.port = broker_config->grpc_server_port;
    grpc = std::make_unique<thruster::proxy::GrpcServer>(broker, grpc_options);
    if (thruster::Status s = grpc->Start(); !s.ok()) {
      PrintStartError(s, store_config->store_path_root_dir);
      broker.Shutdown();
      if (namesrv) namesrv->Stop();
      return 1;
    }
  }
  std::fprintf(stdout, "thruster-broker: %s listening on %s:%u (advertised %s)",
               broker.config().broker_name.c_str(),
               broker.config().bind_address.c_str(), broker.port(),
               broker.broker_addr().c_str());
  if (namesrv)
    std::fprintf(stdout, ", embedded name server on port %u", namesrv->port());
  if (grpc) std::fprintf(stdout, ", gRPC on port %u", grpc->port());
  std::fprintf(stdout, "\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  while (sig == SIGUSR1 || sig == SIGHUP) {
    if (sig == SIGHUP) ReloadConfig(conf_path, overrides, broker, &props);
    sigwait(&signals, &sig);
  }
  TH_LOG(broker, kInfo,
         "signal {} received, shutting down (send SIGINT again to force exit)",
         sig);
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    if (grpc) grpc->Stop();  // before the processors it calls go away
    broker.Shutdown();  // unregisters from the name server, so stop it after
    if (namesrv) namesrv->Stop();
    if (namesrv_acl_watch) namesrv_acl_watch->Stop();
    done.store(true);
    kill(getpid(), SIGUSR1);
  });
  while (!done.load()) {
    sigwait(&signals, &sig);
    if (sig == SIGHUP) continue;  // no reload while stopping
    if (sig == SIGINT && !done.load()) {
      std::fprintf(
          stderr,
          "thruster-broker: second SIGINT, exiting without a clean shutdown\n");
      std::fflush(stderr);
      _exit(130);
    }
  }
  stopper.join();
  return 0;
}
