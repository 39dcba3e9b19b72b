// thruster-namesrv: a RocketMQ-compatible name server (spec/remoting.md §3.5).

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "common/logging.h"
#include "namesrv/name_server.h"

int main(int argc, char** argv) {
  CLI::App app{"Thruster name server"};
  thruster::namesrv::NameServerOptions options;
  app.add_option("-p,--listenPort", options.port, "TCP port to listen on")
      ->capture_default_str();
  app.add_option("--bindAddress", options.bind_address, "address to bind")
      ->capture_default_str();
  app.add_option("--ioThreads", options.io_threads,
                 "network threads (0: one per core)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before any thread starts, so only sigwait below sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  thruster::namesrv::NameServer server(options);
  if (thruster::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "thruster-namesrv: %s\n", s.ToString().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  TH_LOG(namesrv, kInfo, "signal {} received, shutting down", sig);
  server.Stop();
  return 0;
}
