#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "ha/epoch_file.h"

// RocketMQ 5's auto-switch HA stream (spec/ha.md §7.8), used between the
// brokers of a controller-mode group: raw binary on the HA port, big-endian,
// every message led by its sender's connection state (i32).
//   slave handshake   1 · i16 isSyncFromLastFile · i16 isAsyncLearner ·
//                     i64 slave controller id                       16 bytes
//   master handshake  1 · i32 bodySize · i64 maxPhyOffset · i32 lastEpoch ·
//                     per epoch entry: i32 epoch · i64 startOffset  20 + 12n
//   slave report      2 · i64 slave max offset                      12 bytes
//   master transfer   2 · i32 bodySize · i64 offset · i32 epoch ·
//                     i64 epochStartOffset · i64 confirmOffset · data 36 + n
namespace thruster::ha {

// RocketMQ's HAConnectionState ordinals.
enum class HaState : int32_t {
  kReady = 0,
  kHandshake = 1,
  kTransfer = 2,
  kSuspend = 3,
  kShutdown = 4,
};

inline constexpr size_t kSlaveHandshakeSize = 16;
inline constexpr size_t kMasterHandshakeHeaderSize = 20;
inline constexpr size_t kEpochEntryWireSize = 12;
inline constexpr size_t kSlaveReportSize = 12;
inline constexpr size_t kAutoSwitchTransferHeaderSize = 36;
static_assert(kSlaveHandshakeSize == 4 + 2 + 2 + 8);
static_assert(kMasterHandshakeHeaderSize == 4 + 4 + 8 + 4);
static_assert(kAutoSwitchTransferHeaderSize == 4 + 4 + 8 + 4 + 8 + 8);

struct SlaveHandshake {
  bool sync_from_last_file = false;
  bool async_learner = false;
  int64_t slave_id = 0;
};

struct AutoSwitchTransferHeader {
  int32_t body_size = 0;
  int64_t offset = 0;
  int32_t epoch = 0;
  int64_t epoch_start_offset = 0;
  int64_t confirm_offset = 0;
};

struct MasterHandshake {
  int64_t max_offset = 0;
  int32_t last_epoch = 0;
  std::vector<EpochEntry> entries;  // end offsets left 0
};

std::array<std::byte, kSlaveHandshakeSize> EncodeSlaveHandshake(
    const SlaveHandshake& h);
std::array<std::byte, kSlaveReportSize> EncodeSlaveReport(int64_t offset);
std::vector<std::byte> EncodeMasterHandshake(
    int64_t max_offset, int32_t last_epoch,
    const std::vector<EpochEntry>& entries);
std::array<std::byte, kAutoSwitchTransferHeaderSize>
EncodeAutoSwitchTransferHeader(const AutoSwitchTransferHeader& h);

// One message from a slave at the front of `in`: `size` bytes long.
struct SlaveMessage {
  HaState state = HaState::kReady;  // kHandshake or kTransfer
  size_t size = 0;
  SlaveHandshake handshake;  // kHandshake
  int64_t report = 0;        // kTransfer: the slave's max offset
};
// nullopt while incomplete; Corruption for any other state.
Result<std::optional<SlaveMessage>> DecodeSlaveMessage(
    std::span<const std::byte> in);

// One message from a master at the front of `in`: `size` bytes, the transfer
// data being the last transfer.body_size of them.
struct MasterMessage {
  HaState state = HaState::kReady;  // kHandshake or kTransfer
  size_t size = 0;
  MasterHandshake handshake;          // kHandshake
  AutoSwitchTransferHeader transfer;  // kTransfer
};
// nullopt while incomplete; Corruption for another state, a negative body
// size, one above `max_body`, or a handshake body that is not whole entries.
Result<std::optional<MasterMessage>> DecodeMasterMessage(
    std::span<const std::byte> in, size_t max_body);

}  // namespace thruster::ha
