#pragma once

#include <string>
#include <vector>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "common/result.h"

// Dead-letter queues from the operator's side (spec/schedule-and-timer.md
// §4.3): read what `%DLQ%<group>` holds and send chosen messages back to the
// topic they were first sent to (their RETRY_TOPIC property), as new messages
// that consumers of that topic receive again. `thruster admin printMsg` and
// `resendDlq` are built on these.
namespace thruster::client {

// Every message of `topic` on every master, queue by queue from its min
// offset, at most `max_messages`. NotFound when the topic has no route.
Result<std::vector<MessageInfo>> ReadTopicMessages(ClientInstance* client,
                                                   const std::string& topic,
                                                   size_t max_messages = 10000);

// What one re-send did.
struct ResendOutcome {
  std::string msg_id;        // the dead message's id (MessageInfo::MsgId())
  std::string origin_topic;  // where it went (empty when it had none)
  std::string new_msg_id;    // the re-sent message's UNIQ_KEY, on success
  std::string error;         // why it was not re-sent
};

// The message a dead message is re-sent as: its body, flag, TAGS, KEYS and user
// properties, to its RETRY_TOPIC, with ORIGIN_MESSAGE_ID naming the message it
// first was (the dead one's ORIGIN_MESSAGE_ID, else its msgId) so the broker's
// message journey finds the copy; the broker's bookkeeping (DELAY,
// REAL_TOPIC, REAL_QID, RETRY_TOPIC, UNIQ_KEY, ...) is left behind.
// InvalidArgument when it has no RETRY_TOPIC. `dead` must outlive the result
// (the body is a view of it).
Result<Message> ResendMessage(const MessageInfo& dead);

// Re-sends the messages of `%DLQ%<group>` whose MsgId() or offset id is in
// `msg_ids` (every message when `msg_ids` is empty). NotFound when the group
// has no DLQ or an id is not in it (nothing is sent then).
Result<std::vector<ResendOutcome>> ResendDlqMessages(
    ClientInstance* client, const std::string& group,
    const std::vector<std::string>& msg_ids);

}  // namespace thruster::client
