#pragma once

#include <functional>

#include "broker/broker_config.h"
#include "common/clock.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/connection.h"
#include "remoting/remoting_command.h"

namespace thruster::broker {

// Handles the requests of one concern (sending, pulling, admin calls, ...). The
// Broker registers each processor for its request codes where it is composed;
// a new feature is a new processor registered there.
//
// Thread-safety: ProcessRequest runs concurrently on every net thread (and,
// for parked pulls, on `pull-hold`), so implementations are thread-safe. It
// must not block on disk flushes.
class RequestProcessor {
 public:
  virtual ~RequestProcessor() = default;
  // Answers `request` through `responder` exactly once, now or later from
  // another thread (a SYNC_FLUSH send answers once the record is durable, a
  // long poll when a message arrives or its time is up).
  virtual void ProcessRequest(remoting::RemotingCommand request,
                              remoting::Responder responder) = 0;
};

// What every processor may know of the broker itself: its settings, its clock,
// the address records are stored with, and a way to ask for an early
// name-server registration. Owned by the Broker (or a test fixture); every
// reference must outlive the processors given it.
struct BrokerContext {
  const BrokerConfig& config;
  const Clock& clock;
  // "brokerIP1:listenPort" as written into records and message ids. The port
  // is filled in once the server is bound, before the broker registers with a
  // name server (which is how clients learn its address).
  const message::HostAddress& store_host;
  // Asks for a registration with the name servers soon (a topic was created,
  // changed or deleted). Thread-safe, never blocks.
  std::function<void()> request_registration;
  // When the broker started (GET_BROKER_RUNTIME_INFO).
  int64_t start_time_ms = 0;
};

}  // namespace thruster::broker
