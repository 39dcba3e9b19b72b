#include "proxy/proxy_util.h"

#include "message/message.h"

namespace thruster::proxy {

int32_t ConsistentHash(int64_t input, int32_t buckets) {
  // Guava's LinearCongruentialGenerator: state, then one double per step.
  uint64_t state = static_cast<uint64_t>(input);
  int32_t candidate = 0;
  while (true) {
    state = 2862933555777941757ULL * state + 1;
    const double next_double =
        static_cast<double>(static_cast<int32_t>(state >> 33) + 1) /
        2147483648.0;  // 2^31
    const double next = static_cast<double>(candidate + 1) / next_double;
    if (!(next >= 0 && next < static_cast<double>(buckets))) return candidate;
    candidate = static_cast<int32_t>(next);
  }
}

int32_t QueueForMessageGroup(std::string_view message_group, int32_t queues) {
  return ConsistentHash(message::JHash(message_group), queues);
}

std::string EncodeReceiptHandle(const remoting::PopExtraInfo& handle) {
  return handle.Encode() + " " + std::to_string(handle.commit_log_offset);
}

Result<remoting::PopExtraInfo> ParseReceiptHandle(std::string_view text) {
  return remoting::PopExtraInfo::Parse(text);
}

std::string PopAckTopic(std::string_view group, std::string_view topic,
                        int32_t retry_flag) {
  if (retry_flag == remoting::pop::kRetryTopicV1)
    return "%RETRY%" + std::string(group) + "_" + std::string(topic);
  if (retry_flag == remoting::pop::kRetryTopicV2)
    return "%RETRY%" + std::string(group) + "+" + std::string(topic);
  return std::string(topic);
}

Result<int64_t> ClampPollingTime(int64_t requested_ms, int64_t remaining_ms,
                                 int64_t request_timeout_ms, int64_t min_ms,
                                 int64_t max_ms) {
  int64_t poll =
      requested_ms >= 0 ? requested_ms : remaining_ms - request_timeout_ms / 2;
  poll = std::min(std::max(poll, min_ms), max_ms);
  if (remaining_ms < poll) {
    if (remaining_ms < min_ms) {
      return Status::InvalidArgument(
          "the request's deadline leaves " + std::to_string(remaining_ms) +
          " ms, less than the shortest long polling time (" +
          std::to_string(min_ms) + " ms)");
    }
    poll = remaining_ms;
  }
  return poll;
}

}  // namespace thruster::proxy
