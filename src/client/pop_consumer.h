#pragma once
// A pop consumer of the 5.x remoting protocol (spec/pop.md §2-§4): the broker
// picks the messages, hides each from other consumers for its invisible time
// and expects an ack; un-acked messages come back (from the group's pop retry
// topic) once that time is up. Each popped message carries its handle
// (extraInfo), built here from the response as RocketMQ's clients do.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "client/client_instance.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/status.h"
#include "message/commit_log_format.h"
#include "remoting/pop_protocol.h"
#include "remoting/remoting_command.h"

namespace thruster::client {

struct PopConsumerOptions {
  std::string group = "THRUSTER_POP_CONSUMER";
  // The clock bornTime comes from (the broker refuses pops born too long
  // before they arrive).
  const Clock* clock = SystemClock::Default();
};

struct PopRequest {
  std::string broker_addr;
  std::string broker_name;  // the broker's brokerName (part of every handle)
  std::string topic;
  int32_t queue_id = -1;  // -1: any queue of the broker
  int32_t max_nums = 32;
  int64_t invisible_time_ms = 60000;
  int64_t poll_time_ms = 0;      // long polling; 0 answers at once
  int32_t init_mode = 0;         // where a new group starts: 0 MIN, 1 MAX
  std::string expression = "*";  // TAG expression
  bool order = false;            // orderly (FIFO) pop
  std::string attempt_id;
};

// One popped message; `record` points into the PopResult's response.
struct PoppedMessage {
  message::DecodedRecord record;  // topic is the normal topic
  remoting::PopExtraInfo handle;
  // Where acks go: the normal topic, or the pop retry topic the message was
  // read from.
  std::string ack_topic;
  // Earlier deliveries (reconsume times, or the orderly delivery count).
  int32_t reconsume_times = 0;
};

enum class PopStatus {
  kFound,
  kNoNewMessage,  // POLLING_TIMEOUT: nothing within pollTime
  kPollingFull,   // POLLING_FULL: the broker parks too many pops
};

struct PopResult {
  PopStatus status = PopStatus::kNoNewMessage;
  int64_t pop_time = 0;
  int64_t invisible_time = 0;
  int32_t revive_qid = 0;
  int64_t rest_num = 0;
  std::vector<PoppedMessage> messages;
  remoting::RemotingCommand response;  // owns the bytes `messages` view
};

// Lifecycle: construct over a started ClientInstance that outlives it → use
// from any thread → destroy. Thread-safe (no per-message state).
class PopConsumer {
 public:
  PopConsumer(ClientInstance* client, PopConsumerOptions options = {});
  const PopConsumerOptions& options() const { return options_; }

  // POP_MESSAGE. Broker errors (TOPIC_NOT_EXIST, ...) are errors naming the
  // response code; the three pop outcomes are in PopResult::status.
  Result<PopResult> Pop(const PopRequest& request);
  // ACK_MESSAGE for one message. An error naming the response code when the
  // broker refuses (NO_MESSAGE 208 for an expired handle, ...).
  Status Ack(const std::string& broker_addr, const PoppedMessage& m);
  // BATCH_ACK_MESSAGE for several messages of one broker (grouped by
  // checkpoint as RocketMQ's clients do).
  Status BatchAck(const std::string& broker_addr,
                  std::span<const PoppedMessage> messages);
  // CHANGE_MESSAGE_INVISIBLETIME: hides `m` for `invisible_time_ms` from now;
  // on success `m->handle` is the new handle (the old one is acked).
  Status ChangeInvisibleTime(const std::string& broker_addr, PoppedMessage* m,
                             int64_t invisible_time_ms);

 private:
  ClientInstance* const client_;
  const PopConsumerOptions options_;
};

// Turns a POP_MESSAGE response into a PopResult: decodes the records and
// builds each message's handle (§2.5) from startOffsetInfo/msgOffsetInfo, or
// from its POP_CK property for messages of the retry topic.
Result<PopResult> ParsePopResponse(remoting::RemotingCommand response,
                                   const PopRequest& request,
                                   std::string_view group);

}  // namespace thruster::client
