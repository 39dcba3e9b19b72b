// CHECK_CLIENT_CONFIG (46).
#include "broker/check_client_config_processor.h"

#include "broker/client_manager.h"
#include "broker/processor_util.h"
#include "remoting/json.h"

namespace thruster::broker {

namespace rc = remoting::response_code;

void CheckClientConfigProcessor::ProcessRequest(remoting::RemotingCommand req,
                                                remoting::Responder r) {
  Result<remoting::json::Value> body = remoting::json::Parse(req.body_view());
  if (!body.ok() || !body->is_object()) {
    return SendError(req, r, rc::kSystemError,
                     "the CHECK_CLIENT_CONFIG body is not a JSON object");
  }
  const remoting::json::Value* sub = body->Find("subscriptionData");
  if (sub == nullptr || !sub->is_object())
    return r.Send(req.CreateResponse(rc::kSuccess));
  const std::string type = sub->GetString("expressionType", "TAG");
  if (type.empty() || type == "TAG")
    return r.Send(req.CreateResponse(rc::kSuccess));
  if (!context_.config.enable_property_filter) {
    return SendError(
        req, r, rc::kSystemError,
        "The broker does not support consumer to filter message by " + type);
  }
  if (type != kExpressionTypeSql92) {
    return SendError(req, r, rc::kSubscriptionParseFailed,
                     "unknown expression type " + type);
  }
  Result<std::shared_ptr<const filter::SqlExpression>> compiled =
      filter::SqlExpression::Compile(sub->GetString("subString", ""));
  if (!compiled.ok()) {
    return SendError(req, r, rc::kSubscriptionParseFailed,
                     std::string(compiled.status().message()));
  }
  r.Send(req.CreateResponse(rc::kSuccess));
}

}  // namespace thruster::broker
