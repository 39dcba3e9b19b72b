#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

// The 5.x pop requests over remoting (spec/pop.md §1, §2.5): their request
// codes and the handle ("extraInfo", property POP_CK) that names one popped
// message. Shared by the broker (which parses handles) and the client (which
// builds them from a POP_MESSAGE response).
namespace thruster::remoting {

namespace request_code {
inline constexpr int32_t kPopMessage = 200050;
inline constexpr int32_t kAckMessage = 200051;
inline constexpr int32_t kPeekMessage = 200052;
inline constexpr int32_t kChangeMessageInvisibleTime = 200053;
inline constexpr int32_t kNotification = 200054;
inline constexpr int32_t kPollingInfo = 200055;
inline constexpr int32_t kBatchAckMessage = 200151;
}  // namespace request_code

namespace pop {
// The revive queue id that marks a handle of an orderly pop
// (KeyBuilder.POP_ORDER_REVIVE_QUEUE).
inline constexpr int32_t kOrderReviveQueue = 999;
// The handle property of a re-encoded retry message, and the first pop time.
inline constexpr std::string_view kPropPopCk = "POP_CK";
inline constexpr std::string_view kPropFirstPopTime = "1ST_POP_TIME";
// Retry flags (handle field 4).
inline constexpr int32_t kNormalTopic = 0;
inline constexpr int32_t kRetryTopicV1 = 1;
inline constexpr int32_t kRetryTopicV2 = 2;
}  // namespace pop

// ExtraInfoUtil's eight space-separated fields (§2.5):
//   ckQueueOffset popTime invisibleTime reviveQid retryFlag brokerName queueId
//   queueOffset
// A ninth field (the gRPC receipt handle's commit-log offset, §9.7) is
// accepted and kept in `commit_log_offset` (-1 when absent).
struct PopExtraInfo {
  int64_t ck_queue_offset = 0;
  int64_t pop_time = 0;
  int64_t invisible_time = 0;
  int32_t revive_qid = 0;
  int32_t retry_flag = 0;
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t commit_log_offset = -1;

  // The eight-field form (without the commit-log offset).
  std::string Encode() const;
  // InvalidArgument naming what is wrong: fewer than 8 fields, more than 9, a
  // field that is not a decimal integer, an unknown retry flag.
  static Result<PopExtraInfo> Parse(std::string_view text);
  bool orderly() const { return revive_qid == pop::kOrderReviveQueue; }
  // popTime + invisibleTime: the handle is expired at and after this time.
  int64_t ReviveTime() const { return pop_time + invisible_time; }
};

}  // namespace thruster::remoting
