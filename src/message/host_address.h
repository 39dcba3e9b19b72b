#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace thruster::message {

// An IPv4 or IPv6 socket address as RocketMQ writes it into records and
// message ids (store spec §2.1, §2.6): the address bytes, then the port as i32.
// A plain value; thread-compatible.
struct HostAddress {
  std::array<uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes
  bool v6 = false;
  int32_t port = 0;

  static HostAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                        int32_t port);
  // Parses "1.2.3.4:10911" or "[::1]:10911".
  static Result<HostAddress> Parse(std::string_view s);
  int size() const { return v6 ? 20 : 8; }  // bytes in a record
  std::string ToString() const;             // "1.2.3.4:10911"
  bool operator==(const HostAddress&) const = default;
};

}  // namespace thruster::message
