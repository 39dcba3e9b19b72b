#pragma once

// Client message ids (UNIQ_KEY, spec/remoting.md §5.8): 32 uppercase hex chars
// for an IPv4 host, made of
//   IPv4 (4 bytes) ‖ pid (2) ‖ per-process random (4) ‖ ms since the start of
//   the current month, UTC (4) ‖ counter (2)
// The first 10 bytes are fixed per generator; the last 6 change per message.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace thruster::client {

inline constexpr size_t kUniqKeyLength = 32;

// Thread-safe; Next() never allocates.
class UniqKeyGenerator {
 public:
  explicit UniqKeyGenerator(uint32_t ipv4);

  // Writes the next id into `out` (32 chars, no terminator).
  void Next(char* out);
  std::string Next();

 private:
  std::array<char, 20> prefix_{};  // hex of the fixed 10 bytes
  std::atomic<uint32_t> counter_{0};
  // Start of the current month and of the next one (ms since the epoch),
  // refreshed lazily when a timestamp passes the next one.
  std::atomic<int64_t> month_start_ms_{0};
  std::atomic<int64_t> next_month_start_ms_{0};
};

}  // namespace thruster::client
