#pragma once

// RocketMQ's remote address patterns (spec/acl.md §3,
// RemoteAddressStrategyFactory): the `globalWhiteRemoteAddresses` and
// per-account `whiteRemoteAddress` of plain_acl.yml. Forms, tried in this order
// on the trimmed pattern:
//   ""                          matches nothing
//   "*", "*.*.*.*", "*:*:…:*"    matches every client
//   "192.168.1.{1,2,3}"         the listed last segments (IPv6 alike)
//   "192.168.1.1,192.168.1.2"   the listed full addresses
//   "192.168.*.*", "10.1-20.*.*", "192.168.1.1-100"
//                               a range: the first of segments 2..4 that is
//                               `*` or `a-b` is the range, those before it must
//                               match literally, those after it are ignored
//   "192.168.1.5", "::1"        that address
// IPv6 addresses are compared in their expanded form (8 groups of 4 upper-case
// hex digits); IPv6 ranges work on those groups. A plain value: thread-safe to
// share once built.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace thruster::broker::acl {

class RemoteAddressMatcher {
 public:
  // InvalidArgument naming the pattern when a listed address is not an IPv4 or
  // IPv6 literal or a range is malformed (RocketMQ then refuses the file).
  static Result<RemoteAddressMatcher> Parse(std::string_view pattern);

  // `client_ip` as the connection reports it, without port ("10.0.0.5",
  // "::1"); an IPv4-mapped IPv6 address counts as its IPv4 address.
  bool Matches(std::string_view client_ip) const;
  const std::string& pattern() const { return pattern_; }

 private:
  enum class Kind : uint8_t { kNone, kAll, kList, kRange };

  std::string pattern_;
  Kind kind_ = Kind::kNone;
  // kList: the normalised addresses (IPv4 dotted, IPv6 expanded).
  std::vector<std::string> addresses_;
  // kRange: segments before the range (normalised), and the range itself.
  bool v6_ = false;
  std::vector<std::string> prefix_;
  uint32_t low_ = 0;
  uint32_t high_ = 0;
};

// The normalised text of an IP literal (IPv4 dotted without leading zeros,
// IPv6 expanded upper-case, IPv4-mapped IPv6 as IPv4); InvalidArgument when
// `ip` is not one.
Result<std::string> NormalizeIp(std::string_view ip);

}  // namespace thruster::broker::acl
