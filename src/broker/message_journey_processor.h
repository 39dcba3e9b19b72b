#pragma once

#include "broker/message_journey.h"
#include "broker/request_processor.h"

namespace thruster::broker {

// TRACE_MESSAGE (20001, Thruster's own code): the journey of the message named
// by the `msgId` (offset msgId or UNIQ_KEY) or `key` header field, optionally
// narrowed to `topic`, with `group` always shown; answered with
// MessageJourney's JSON as the body, QUERY_NOT_FOUND when no message matches,
// INVALID_PARAMETER when neither msgId nor key is given.
//
// Thread-safe. `journey` must outlive it.
class MessageJourneyProcessor final : public RequestProcessor {
 public:
  explicit MessageJourneyProcessor(const MessageJourney& journey);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const MessageJourney& journey_;
};

}  // namespace thruster::broker
