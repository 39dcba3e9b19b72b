// Subscription-group admin calls: spec/remoting.md §3.4.27.
#include "broker/subscription_group_processor.h"

#include "broker/processor_util.h"
#include "common/logging.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

}  // namespace

SubscriptionGroupProcessor::SubscriptionGroupProcessor(
    SubscriptionGroupManager& groups, ConsumerOffsetManager& offsets)
    : groups_(groups), offsets_(offsets) {}

void SubscriptionGroupProcessor::ProcessRequest(RemotingCommand req,
                                                remoting::Responder r) {
  switch (req.code()) {
    case request_code::kUpdateAndCreateSubscriptionGroup:
      return Update(std::move(req), std::move(r));
    case request_code::kGetAllSubscriptionGroupConfig:
      return GetAll(std::move(req), std::move(r));
    case request_code::kDeleteSubscriptionGroup:
      return Delete(std::move(req), std::move(r));
  }
  SendError(req, r, rc::kRequestCodeNotSupported,
            " request type " + std::to_string(req.code()) + " not supported");
}

void SubscriptionGroupProcessor::Update(RemotingCommand req,
                                        remoting::Responder r) {
  Result<json::Value> body = json::Parse(req.body_view());
  if (!body.ok() || !body->is_object()) {
    return SendError(req, r, rc::kSystemError,
                     "the body is not a SubscriptionGroupConfig JSON object");
  }
  SubscriptionGroupConfig c = SubscriptionGroupConfig::FromJson(*body);
  if (Status s = groups_.Update(c); !s.ok()) {
    return SendError(req, r,
                     s.code() == Status::Code::kInvalidArgument
                         ? rc::kInvalidParameter
                         : remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  auto conn = r.connection();
  TH_LOG(broker, kInfo, "subscription group {} updated (requested by {})",
         c.group_name,
         conn ? conn->remote_address() : std::string("a gone client"));
  r.Send(req.CreateResponse(rc::kSuccess));
}

void SubscriptionGroupProcessor::GetAll(RemotingCommand req,
                                        remoting::Responder r) {
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.set_body(std::string_view(groups_.EncodeJson()));
  r.Send(std::move(resp));
}

void SubscriptionGroupProcessor::Delete(RemotingCommand req,
                                        remoting::Responder r) {
  Result<std::string_view> group = req.RequireExt("groupName");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  const std::string name(*group);
  const bool remove_offset = req.ExtBoolOr("removeOffset", false) ||
                             req.ExtBoolOr("cleanOffset", false);
  // Deleting an unknown group succeeds, as in RocketMQ.
  if (Status s = groups_.Delete(name); !s.ok() && !s.IsNotFound()) {
    return SendError(req, r, remoting::ResponseCodeFromStatus(s),
                     std::string(s.message()));
  }
  if (remove_offset) offsets_.RemoveGroup(name);
  r.Send(req.CreateResponse(rc::kSuccess));
}

}  // namespace thruster::broker
