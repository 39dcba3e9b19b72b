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

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "broker/broker.h"
#include "common/logging.h"
#include "common/properties.h"
#include "namesrv/name_server.h"

namespace {

void PrintUsage() {
  std::fprintf(
      stderr,
      "usage: thruster-broker [-c broker.conf] [--key=value ...]\n"
      "  -c FILE            read RocketMQ broker.conf properties from FILE\n"
      "  --key=value        set any broker.conf key (overrides the file), "
      "e.g.\n"
      "                     --listenPort=10911 "
      "--storePathRootDir=./data/store\n"
      "                     --namesrvAddr=127.0.0.1:9876 (an external name "
      "server; turns the\n"
      "                     embedded one off) --namesrvListenPort=9876 "
      "--flushDiskType=SYNC_FLUSH\n"
      "                     --brokerIP1=127.0.0.1 --bindAddress=0.0.0.0\n");
}

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

// Where this process reaches a server bound to `bind_address`.
std::string LocalAddress(const std::string& bind_address) {
  return bind_address.empty() || bind_address == "0.0.0.0" ? "127.0.0.1"
                                                           : bind_address;
}

}  // namespace

int main(int argc, char** argv) {
  using thruster::Properties;
  std::string conf_path;
  Properties overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      PrintUsage();
      return 0;
    }
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "thruster-broker: %s needs a file name\n",
                     argv[i]);
        return 2;
      }
      conf_path = argv[++i];
      continue;
    }
    if (arg.rfind("-c=", 0) == 0) {
      conf_path = std::string(arg.substr(3));
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      arg.remove_prefix(2);
      size_t eq = arg.find('=');
      if (eq == std::string_view::npos) {
        if (i + 1 >= argc) {
          std::fprintf(stderr,
                       "thruster-broker: --%.*s needs a value (--key=value)\n",
                       static_cast<int>(arg.size()), arg.data());
          return 2;
        }
        overrides.Set(std::string(arg), argv[++i]);
      } else {
        overrides.Set(std::string(arg.substr(0, eq)),
                      std::string(arg.substr(eq + 1)));
      }
      continue;
    }
    std::fprintf(stderr, "thruster-broker: unexpected argument '%s'\n",
                 argv[i]);
    PrintUsage();
    return 2;
  }

  Properties props;
  if (!conf_path.empty()) {
    thruster::Result<Properties> loaded = Properties::Load(conf_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "thruster-broker: cannot read %s: %s\n",
                   conf_path.c_str(), loaded.status().ToString().c_str());
      return 2;
    }
    props = std::move(loaded).value();
  }
  for (const auto& [k, v] : overrides.values()) props.Set(k, v);

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

  // Block the stop signals before any thread starts, so only sigwait below sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
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
  if (broker_config->NameServerAddresses().empty()) {
    thruster::namesrv::NameServerOptions ns_options;
    ns_options.bind_address = broker_config->bind_address;
    ns_options.port = static_cast<uint16_t>(broker_config->namesrv_listen_port);
    ns_options.io_threads = 1;
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
  std::fprintf(stdout, "thruster-broker: %s listening on %s:%u (advertised %s)",
               broker.config().broker_name.c_str(),
               broker.config().bind_address.c_str(), broker.port(),
               broker.broker_addr().c_str());
  if (namesrv)
    std::fprintf(stdout, ", embedded name server on port %u", namesrv->port());
  std::fprintf(stdout, "\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  while (sig == SIGUSR1) sigwait(&signals, &sig);
  TH_LOG(broker, kInfo,
         "signal {} received, shutting down (send SIGINT again to force exit)",
         sig);
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    broker.Shutdown();  // unregisters from the name server, so stop it after
    if (namesrv) namesrv->Stop();
    done.store(true);
    kill(getpid(), SIGUSR1);
  });
  while (!done.load()) {
    sigwait(&signals, &sig);
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
