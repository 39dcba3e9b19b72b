#pragma once

// RocketMQ 5.3's recall handle (spec/schedule-and-timer.md §7,
// RecallMessageHandle.HandleV1): what a send of a timer message answers in
// `recallHandle` (remoting) or `recall_handle` (gRPC), and what
// RECALL_MESSAGE (370) takes back to cancel that message before it is due.
// The text "v1 <topic> <brokerName> <timestamp> <UNIQ_KEY>" (single spaces;
// the timestamp is the message's TIMER_OUT_MS + 1), Base64 with the URL-safe
// alphabet and padding. Shared by the broker (which makes and checks
// handles) and the clients (which find the broker a handle names).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace thruster::remoting {

struct RecallHandle {
  std::string topic;
  std::string broker_name;
  // TIMER_OUT_MS + 1: a time inside the message's slot, so the cancel record
  // put for this time is indexed in the same slot as its target.
  int64_t timestamp_ms = 0;
  std::string uniq_key;  // the message's UNIQ_KEY
};

// The handle of `h` (version 1).
std::string EncodeRecallHandle(const RecallHandle& h);

// Reads a handle made by EncodeRecallHandle or RocketMQ. Padding may be left
// out (as Java's decoder allows). InvalidArgument, with a reason, for text
// that is not URL-safe Base64, not version 1, without exactly five fields or
// with a timestamp that is not a number.
Result<RecallHandle> DecodeRecallHandle(std::string_view handle);

}  // namespace thruster::remoting
