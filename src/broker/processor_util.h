#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "remoting/connection.h"
#include "remoting/json.h"
#include "remoting/remoting_command.h"

// Answers several processors give the same way (spec/remoting.md §2.5).
namespace thruster::broker {

// Answers `code` with `remark`.
void SendError(const remoting::RemotingCommand& req,
               const remoting::Responder& r, int32_t code, std::string remark);

// Answers SYSTEM_ERROR with the first failed check of the request (a missing or
// unparsable header field, an unparsable body); true when it did, and the
// processor must return.
bool AnsweredRequestError(const remoting::RemotingCommand& req,
                          const remoting::Responder& r,
                          std::initializer_list<Status> checks);

// The request's `topic` when it is present and a valid name (§3.4.1);
// otherwise answers the request with the error and returns nullopt.
std::optional<std::string_view> RequireValidTopic(
    const remoting::RemotingCommand& req, const remoting::Responder& r);

// Answers SUCCESS with `body` written as JSON.
void SendJson(const remoting::RemotingCommand& req,
              const remoting::Responder& r, const remoting::json::Value& body);

// {"brokerName":…,"queueId":…,"topic":…}, RocketMQ's MessageQueue.
remoting::json::Value MessageQueueJson(std::string_view broker_name,
                                       int32_t queue_id,
                                       std::string_view topic);

}  // namespace thruster::broker
