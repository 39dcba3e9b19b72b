#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace thruster {

// Standard CRC-32 (zlib/IEEE polynomial), computed by libdeflate. `crc`
// continues an earlier value.
uint32_t Crc32(const void* data, size_t n, uint32_t crc = 0);

// RocketMQ's record checksum (store spec §0 `crc32r`): CRC-32 & 0x7FFFFFFF,
// never negative.
inline int32_t Crc32R(const void* data, size_t n) {
  return static_cast<int32_t>(Crc32(data, n) & 0x7FFFFFFFu);
}
inline int32_t Crc32R(std::span<const std::byte> s) {
  return Crc32R(s.data(), s.size());
}
inline int32_t Crc32R(std::string_view s) { return Crc32R(s.data(), s.size()); }

}  // namespace thruster
