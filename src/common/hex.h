#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Hex text of bytes, two digits per byte, most significant nibble first.
// RocketMQ's message ids and unique keys are upper-case hex; JSON's \u escapes
// and our dumps use the same helpers, so no other file writes a hex loop.
namespace thruster {

enum class HexCase : uint8_t { kUpper, kLower };

// Writes the 2 * n hex digits of p[0, n) to out (no terminator).
inline void WriteHex(const uint8_t* p, size_t n, char* out,
                     HexCase hex_case = HexCase::kUpper) {
  const char* digits =
      hex_case == HexCase::kUpper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xF];
  }
}

inline void WriteHexUpper(const uint8_t* p, size_t n, char* out) {
  WriteHex(p, n, out, HexCase::kUpper);
}

// Upper-case hex of `bytes`.
inline std::string HexUpper(std::string_view bytes) {
  std::string out(2 * bytes.size(), '\0');
  WriteHexUpper(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                out.data());
  return out;
}

// The value of one hex digit (either case), or -1 for any other char.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes the hex digits of `hex` (either case, even length) into out[0,
// hex.size() / 2). False, with `out` partly written, on an odd length or a
// non-hex char.
inline bool ReadHex(std::string_view hex, uint8_t* out) {
  if (hex.size() % 2 != 0) return false;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = HexDigitValue(hex[2 * i]);
    const int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace thruster
