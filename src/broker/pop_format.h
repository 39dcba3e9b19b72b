#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

// The revive-topic records of pop consumption (spec/pop.md §5): a checkpoint
// (tag `ck`, RocketMQ's PopCheckPoint) says "these offsets of (topic, group,
// queue) were popped at `pt` and must be acked before `pt + it`"; an ack (tag
// `ack`, AckMsg) or batch ack (tag `bAck`, BatchAckMsg) says "these offsets of
// that checkpoint are done". Bodies are JSON with RocketMQ's short member
// names; readers ignore members they do not know.
namespace thruster::broker {

inline constexpr std::string_view kReviveTopicPrefix = "rmq_sys_REVIVE_LOG_";
inline constexpr std::string_view kReviveGroup = "CID_RMQ_SYS_REVIVE_GROUP";
inline constexpr std::string_view kCkTag = "ck";
inline constexpr std::string_view kAckTag = "ack";
inline constexpr std::string_view kBatchAckTag = "bAck";
inline constexpr std::string_view kPropTimerDeliverMs = "TIMER_DELIVER_MS";

// rmq_sys_REVIVE_LOG_<cluster>.
std::string ReviveTopic(std::string_view cluster_name);
// The pop retry topic of (group, topic), V1 naming: %RETRY%<group>_<topic>;
// a topic that already is a retry topic is its own retry topic (§6.2).
std::string PopRetryTopic(std::string_view group, std::string_view topic);

// PopCheckPoint (§5.1).
struct PopCheckPoint {
  int64_t start_offset = 0;    // so
  int64_t pop_time = 0;        // pt
  int64_t invisible_time = 0;  // it
  int64_t bit_map = 0;         // bm (0 when written)
  int32_t num = 0;             // n
  int32_t queue_id = 0;        // q
  std::string topic;           // t: the topic read (normal or retry)
  std::string group;           // c
  int64_t revive_offset = 0;   // ro
  std::vector<int32_t> queue_offset_diff;  // d: offset - so, per message
  std::string broker_name;                 // bn
  int32_t re_put_times = 0;                // rp

  int64_t ReviveTime() const { return pop_time + invisible_time; }
  // The queue offset of message `i` (so + d[i], or so + i without d).
  int64_t QueueOffset(size_t i) const;
  // Index of `offset` in this checkpoint, -1 when it is not one of its.
  int IndexOf(int64_t offset) const;
  // t + c + q + so + pt + bn: what acks are matched by (§6.1 step 2).
  std::string Key() const;
  std::string EncodeJson() const;
  // InvalidArgument for a body that is not a JSON object or lacks so/pt/t/c.
  static Result<PopCheckPoint> DecodeJson(std::string_view body);
};

// AckMsg / BatchAckMsg (§5.2). A single ack has `ack_offsets` of size one and
// is written with `ao`; a batch ack is written with ao = -1 and `aol`.
struct AckMsg {
  std::vector<int64_t> ack_offsets;
  int64_t start_offset = 0;  // so
  std::string group;         // c
  std::string topic;         // t: the topic read
  int32_t queue_id = 0;      // q
  int64_t pop_time = 0;      // pt
  std::string broker_name;   // bn

  std::string Key() const;
  std::string EncodeJson(bool batch) const;
  static Result<AckMsg> DecodeJson(std::string_view body);
};

}  // namespace thruster::broker
