#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

// RocketMQ's classic HA stream (spec/ha.md §2.1), byte for byte: raw binary on
// its own TCP connection, big-endian, no frame, no handshake.
//   slave → master: an offset report, i64 = the slave's CommitLog max offset
//   master → slave: a transfer frame, i64 offset · i32 size · size bytes of
//                   CommitLog data (size 0: heartbeat)
namespace thruster::ha {

inline constexpr size_t kReportSize = 8;
inline constexpr size_t kTransferHeaderSize = 12;
// How long a blocking HA socket read waits before it checks for shutdown.
inline constexpr int kReadPollMs = 1000;

void EncodeReport(int64_t offset, std::span<std::byte, kReportSize> out);
void EncodeTransferHeader(int64_t offset, int32_t size,
                          std::span<std::byte, kTransferHeaderSize> out);

struct TransferHeader {
  int64_t offset = 0;
  int32_t size = 0;
};
// The header at the front of `in`; nullopt while fewer than 12 bytes arrived.
std::optional<TransferHeader> DecodeTransferHeader(
    std::span<const std::byte> in);

// The master's reading rule (§2.2): of `in`, only complete 8-byte units count
// and only the last of them is taken. Returns that value (nullopt when `in`
// holds no complete unit) and sets `*consumed` to the bytes of complete units.
std::optional<int64_t> LastCompleteReport(std::span<const std::byte> in,
                                          size_t* consumed);

}  // namespace thruster::ha
