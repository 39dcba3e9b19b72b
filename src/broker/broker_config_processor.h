#pragma once

#include "broker/request_processor.h"
#include "broker/runtime_config.h"

namespace thruster::broker {

// GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25), spec/remoting.md
// §3.4.27, as mqadmin getBrokerConfig / updateBrokerConfig send them:
//   26  no header; body = `key=value` lines of every setting, ext `version` =
//       the DataVersion JSON
//   25  body = `key=value` lines to change; SUCCESS when every key was applied
//       (hot-changeable keys only, see RuntimeConfig), else SYSTEM_ERROR with
//       the reason and nothing changed
//
// Thread-safe. `context` and `config` must outlive the processor.
class BrokerConfigProcessor final : public RequestProcessor {
 public:
  BrokerConfigProcessor(const BrokerContext& context, RuntimeConfig& config);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
  RuntimeConfig& config_;
};

}  // namespace thruster::broker
