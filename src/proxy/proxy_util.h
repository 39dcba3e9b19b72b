#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "remoting/pop_protocol.h"

// The parts of the gRPC mapping (spec/pop.md §9) that need no gRPC: queue
// choice for message groups, receipt handles, the pop retry topic a handle
// names, and the proxy's clamps. Kept apart from the gRPC code so they compile
// (and are tested) without it.
namespace thruster::proxy {

// Guava's Hashing.consistentHash (jump hash, §9.4): the bucket in [0, buckets)
// for `input`; buckets must be > 0.
int32_t ConsistentHash(int64_t input, int32_t buckets);

// The write queue (an index into the route's write queues, sorted by broker
// name then queue id) for a message group: consistentHash(jhash(group), n).
int32_t QueueForMessageGroup(std::string_view message_group, int32_t queues);

// The receipt handle (§9.7): the pop handle's eight fields, a space, the
// message's commit-log offset.
std::string EncodeReceiptHandle(const remoting::PopExtraInfo& handle);
// InvalidArgument for a handle that does not parse (remoting::PopExtraInfo);
// a missing ninth field leaves commit_log_offset at -1.
Result<remoting::PopExtraInfo> ParseReceiptHandle(std::string_view text);

// The topic a handle's message was popped from: the consumed topic, or the
// group's pop retry topic V1 (%RETRY%<group>_<topic>) / V2
// (%RETRY%<group>+<topic>) for retry flags 1 and 2.
std::string PopAckTopic(std::string_view group, std::string_view topic,
                        int32_t retry_flag);

// ReceiveMessage's polling time (§9.6): the request's long_polling_timeout if
// given (>= 0), else the remaining deadline minus half the client's request
// timeout; clamped to [min_ms, max_ms]. When the remaining deadline is shorter
// than that it is used if >= min_ms; below min_ms, InvalidArgument
// (ILLEGAL_POLLING_TIME).
Result<int64_t> ClampPollingTime(int64_t requested_ms, int64_t remaining_ms,
                                 int64_t request_timeout_ms, int64_t min_ms,
                                 int64_t max_ms);

}  // namespace thruster::proxy
