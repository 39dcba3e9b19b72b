#pragma once

#include "broker/request_processor.h"
#include "broker/schedule_message_service.h"

namespace thruster::broker {

// GET_ALL_DELAY_OFFSET (45, spec/schedule-and-timer.md §3.4): answers the text
// of `config/delayOffset.json` as the body, as RocketMQ's AdminBrokerProcessor
// does (a slave copies it verbatim); SYSTEM_ERROR when there is none.
//
// Thread-safe. `schedule` must outlive it.
class DelayOffsetProcessor final : public RequestProcessor {
 public:
  explicit DelayOffsetProcessor(ScheduleMessageService& schedule)
      : schedule_(schedule) {}

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  ScheduleMessageService& schedule_;
};

}  // namespace thruster::broker
