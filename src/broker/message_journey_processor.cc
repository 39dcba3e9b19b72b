#include "broker/message_journey_processor.h"

#include "broker/processor_util.h"

namespace thruster::broker {

MessageJourneyProcessor::MessageJourneyProcessor(const MessageJourney& journey)
    : journey_(journey) {}

void MessageJourneyProcessor::ProcessRequest(remoting::RemotingCommand request,
                                             remoting::Responder responder) {
  namespace rc = remoting::response_code;
  JourneyQuery q;
  q.msg_id = std::string(request.ExtOr("msgId", ""));
  q.topic = std::string(request.ExtOr("topic", ""));
  q.key = std::string(request.ExtOr("key", ""));
  q.group = std::string(request.ExtOr("group", ""));
  Result<remoting::json::Value> journey = journey_.Trace(q);
  if (!journey.ok()) {
    return SendError(request, responder,
                     journey.status().IsNotFound() ? rc::kQueryNotFound
                                                   : rc::kInvalidParameter,
                     std::string(journey.status().message()));
  }
  SendJson(request, responder, *journey);
}

}  // namespace thruster::broker
