#pragma once

// A pull consumer of the RocketMQ remoting protocol (spec/remoting.md §3.4.3,
// §3.4.9-§3.4.12, §5.7, §6.5-§6.7): the caller picks queues and offsets;
// PULL_MESSAGE answers are decoded in place (the messages are views into the
// response body, no per-message allocation) and offsets are queried and
// committed per (group, topic, queue).

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "client/client_instance.h"
#include "client/message_queue.h"
#include "common/result.h"
#include "common/status.h"
#include "message/commit_log_format.h"
#include "remoting/remoting_command.h"

namespace thruster::client {

struct PullConsumerOptions {
  std::string group = "THRUSTER_CONSUMER";
  // Longest time the broker may hold a pull that finds nothing (long
  // polling); 0 asks for an immediate answer.
  int64_t suspend_timeout_ms = 0;
  // Client-side timeout of a pull (must exceed suspend_timeout_ms).
  std::chrono::milliseconds pull_timeout{10000};
  // Verify every record's body CRC while decoding.
  bool check_crc = false;
  // Register the group in this process's heartbeats (shows up in
  // consumerConnection).
  bool register_in_heartbeat = true;
};

enum class PullStatus {
  kFound,             // SUCCESS: messages present
  kNoNewMessage,      // PULL_NOT_FOUND
  kNoMatchedMessage,  // PULL_RETRY_IMMEDIATELY
  kOffsetIllegal,     // PULL_OFFSET_MOVED: continue at next_begin_offset
};
std::string_view PullStatusName(PullStatus s);

// One pull's answer. `messages` point into `response`'s body: they stay valid
// while this object lives and is not moved from or reused.
struct PullResult {
  PullStatus status = PullStatus::kNoNewMessage;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  std::vector<message::DecodedRecord> messages;
  remoting::RemotingCommand response;
};

// Decodes the concatenated stored records of a pull, query or view body
// (§5.7), appending views into `body` to `out`. Corruption when a record is
// torn, has an unknown magic, a bad CRC (with check_crc) or inconsistent
// lengths.
Status DecodeMessages(std::span<const std::byte> body, bool check_crc,
                      std::vector<message::DecodedRecord>* out);

using PullCallback = std::function<void(Result<PullResult>)>;

// Lifecycle: construct over a started ClientInstance that outlives it → use
// from any thread → destroy. Thread-safe (holds no per-queue state; the caller
// tracks offsets).
class PullConsumer {
 public:
  PullConsumer(ClientInstance* client, PullConsumerOptions options = {});

  const PullConsumerOptions& options() const { return options_; }

  // The readable queues of `topic` (§6.4 step 1), sorted. NotFound when the
  // topic does not exist.
  Result<std::vector<MessageQueue>> FetchSubscribeQueues(
      const std::string& topic);

  // PULL_MESSAGE from `offset`, at most `max_nums` messages matching
  // `subscription` ("*" or "TagA || TagB"). With `commit_offset` >= 0 the
  // broker also stores it as the group's offset. Broker errors
  // (TOPIC_NOT_EXIST, ...) are errors; the four pull outcomes are in
  // PullResult::status.
  Result<PullResult> Pull(const MessageQueue& mq,
                          const std::string& subscription, int64_t offset,
                          int32_t max_nums, int64_t commit_offset = -1);
  // The same, asynchronously; `cb` runs once on a net thread (must not block).
  // Calling it from such a callback is fine after a successful answer; after
  // a failure the connection may need re-opening, which blocks (see
  // Producer::TrySendAsync).
  void PullAsync(const MessageQueue& mq, const std::string& subscription,
                 int64_t offset, int32_t max_nums, int64_t commit_offset,
                 PullCallback cb);

  // QUERY_CONSUMER_OFFSET: the committed offset, NotFound when none.
  Result<int64_t> QueryOffset(const MessageQueue& mq);
  // UPDATE_CONSUMER_OFFSET (synchronous).
  Status UpdateOffset(const MessageQueue& mq, int64_t offset);
  Result<int64_t> MaxOffset(const MessageQueue& mq);
  Result<int64_t> MinOffset(const MessageQueue& mq);
  // SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after
  // `timestamp_ms` (the max offset when none).
  Result<int64_t> SearchOffset(const MessageQueue& mq, int64_t timestamp_ms);

 private:
  Result<std::string> BrokerAddr(const MessageQueue& mq);
  Result<remoting::RemotingCommand> BuildPull(const MessageQueue& mq,
                                              const std::string& subscription,
                                              int64_t offset, int32_t max_nums,
                                              int64_t commit_offset,
                                              std::string* addr);
  Result<int64_t> OffsetCall(const MessageQueue& mq, int32_t code,
                             int64_t timestamp_ms, const char* what);

  ClientInstance* const client_;
  const PullConsumerOptions options_;
};

// Turns a PULL_MESSAGE response into a PullResult (decoding the body on
// SUCCESS); broker errors become a Status naming `context`.
Result<PullResult> ParsePullResponse(remoting::RemotingCommand response,
                                     bool check_crc, std::string_view context);

}  // namespace thruster::client
