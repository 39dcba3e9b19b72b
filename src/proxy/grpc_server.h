#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/broker.h"
#include "common/status.h"

// The 5.x gRPC endpoint (apache.rocketmq.v2.MessagingService, spec/pop.md §9)
// in the broker's process, as RocketMQ's proxy in local mode: every RPC becomes
// the remoting request the proxy would send, run through the broker's own
// processors (Broker::ProcessLocally), so a gRPC send takes the remoting send
// path and a receive is a pop. The port takes the remoting port's
// tls.server.* settings and, with aclEnable, the broker's ACL checks on the
// clients' signed metadata. No gRPC or protobuf header is included here; they
// stay in this directory's .cc files.
//
// Lifecycle: construct → Start() (after the broker's Start) → serve → Stop()
// (before the broker's Shutdown; idempotent, also run by the destructor).
// Thread-safety: Start/Stop from one thread; RPCs run on gRPC's callback
// threads and never block on the broker (answers arrive through the
// processors' responders).
namespace thruster::proxy {

struct GrpcServerOptions {
  std::string bind_address = "0.0.0.0";
  // grpcServerPort; 0: ephemeral.
  int32_t port = 8081;
};

class MessagingServiceImpl;

class GrpcServer {
 public:
  GrpcServer(broker::Broker& broker, GrpcServerOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving; IOError when the port cannot be had,
  // InvalidArgument when the TLS files cannot be read.
  Status Start();
  // Cancels open calls and stops; parked receives are answered first.
  void Stop();
  // The bound port (after Start).
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  broker::Broker& broker_;
  GrpcServerOptions options_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace thruster::proxy
