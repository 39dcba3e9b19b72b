#include "broker/delay_offset_processor.h"

namespace thruster::broker {

void DelayOffsetProcessor::ProcessRequest(remoting::RemotingCommand request,
                                          remoting::Responder responder) {
  Result<std::string> text = schedule_.ReadOffsetFile();
  if (!text.ok()) {
    responder.Send(request.CreateResponse(
        remoting::response_code::kSystemError,
        "No delay offset in this broker: " + text.status().ToString()));
    return;
  }
  remoting::RemotingCommand resp =
      request.CreateResponse(remoting::response_code::kSuccess);
  resp.set_body(std::string_view(*text));
  responder.Send(std::move(resp));
}

}  // namespace thruster::broker
