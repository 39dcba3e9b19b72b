// GET_BROKER_CONFIG / UPDATE_BROKER_CONFIG: spec/remoting.md §3.4.27.
#include "broker/broker_config_processor.h"

#include "broker/processor_util.h"
#include "common/logging.h"
#include "remoting/json.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;

}  // namespace

BrokerConfigProcessor::BrokerConfigProcessor(const BrokerContext& context,
                                             RuntimeConfig& config)
    : context_(context), config_(config) {}

void BrokerConfigProcessor::ProcessRequest(RemotingCommand req,
                                           remoting::Responder r) {
  if (req.code() == request_code::kGetBrokerConfig) {
    RemotingCommand resp = req.CreateResponse(rc::kSuccess);
    resp.SetExt("version",
                remoting::json::Write(config_.data_version().ToJson()));
    resp.set_body(std::string_view(config_.EncodeProperties()));
    return r.Send(std::move(resp));
  }
  if (req.code() != request_code::kUpdateBrokerConfig) {
    return SendError(
        req, r, rc::kRequestCodeNotSupported,
        " request type " + std::to_string(req.code()) + " not supported");
  }
  const Properties changes = Properties::Parse(req.body_view());
  if (changes.values().empty())
    return SendError(req, r, rc::kSystemError, "no config key in the body");
  Result<std::vector<std::string>> applied =
      config_.Update(changes, context_.clock.NowMs());
  if (!applied.ok()) {
    return SendError(req, r, rc::kSystemError,
                     std::string(applied.status().message()));
  }
  auto conn = r.connection();
  TH_LOG(broker, kInfo, "broker config updated ({} keys, requested by {})",
         applied->size(),
         conn ? conn->remote_address() : std::string("a gone client"));
  r.Send(req.CreateResponse(rc::kSuccess));
}

}  // namespace thruster::broker
