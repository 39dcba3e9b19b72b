#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "message/host_address.h"

// The client message id (UNIQ_KEY, remoting spec §5.8) that producers put into
// every message's properties and the broker adds to a message sent without
// one. 32 upper-case hex chars of 16 big-endian bytes:
//
// clang-format off
//   0           4     6           10                      14    16
//   +-----------+-----+-----------+-----------------------+-----+
//   |   IPv4    | pid |  random   | ms since the start of |count|
//   |  4 bytes  | u16 |   u32     | the month, local time | u16 |
//   +-----------+-----+-----------+-----------------------+-----+
// clang-format on
//
// The first 10 bytes are fixed per generator (RocketMQ puts the class loader's
// hash where we put a per-generator random). The month starts at local
// midnight of its first day, as RocketMQ's MessageClientIDSetter computes it
// with java.util.Calendar in the JVM's default time zone, so ids made by Java
// and by us on one host count from the same instant.
namespace thruster::message {

inline constexpr size_t kUniqKeyLength = 32;

// Thread-safe; Next(now_ms, out) never allocates.
class UniqKeyGenerator {
 public:
  // Uses the first 4 bytes of `host.ip` (an IPv4 address; keys are 32 chars
  // for every host).
  explicit UniqKeyGenerator(const HostAddress& host);

  // Writes the key for a message made at `now_ms` (ms since the epoch) into
  // out[0, kUniqKeyLength), no terminator.
  void Next(int64_t now_ms, char* out);
  std::string Next(int64_t now_ms);

  // The local-time start of the month `months_ahead` months after the one
  // holding `now_ms`, in ms since the epoch.
  static int64_t MonthStartMs(int64_t now_ms, int months_ahead);

 private:
  int64_t CachedMonthStartMs(int64_t now_ms);

  char prefix_[20] = {};  // hex of the fixed 10 bytes
  std::atomic<uint32_t> counter_{0};
  // The cached month in one word, so a reader never pairs one month's start
  // with another month's end: start (s since the epoch) << 24 | length (s,
  // below 2^24). Refreshed when a timestamp falls outside it; racing refreshes
  // store the same value.
  std::atomic<uint64_t> month_{0};
};

}  // namespace thruster::message
