#pragma once

#include <cstdint>

// PULL_MESSAGE's sysFlag bits (RocketMQ's PullSysFlag), set by the consumer and read by the broker.
namespace thruster::remoting::pull_sys_flag {

inline constexpr int32_t kCommitOffset = 0x1;  // the request carries commitOffset to store
inline constexpr int32_t kSuspend = 0x2;       // hold the request until messages arrive (long polling)
inline constexpr int32_t kSubscription = 0x4;  // the request carries its subscription expression
inline constexpr int32_t kClassFilter = 0x8;   // the subscription is a filter class (not supported)

}  // namespace thruster::remoting::pull_sys_flag
