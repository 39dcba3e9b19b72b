#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

// clang-format off
// checkpoint_format.h -- the store's `checkpoint` file (store spec §6.1): a 4096-byte file of which only the
// first 40 bytes are used; the rest stays zero. Big-endian, signed. No version, no checksum: the file is
// rewritten in place (all five fields, then msync), and an absent file means all zero.
//   0                8                16               24               32               40
//   +----------------+----------------+----------------+----------------+----------------+
//   | physic msg ts  | logics msg ts  | index msg ts   | master flushed | confirm phys   |
//   |      i64       |      i64       |      i64       |  offset  i64   |  offset  i64   |
//   +----------------+----------------+----------------+----------------+----------------+
// physic msg ts    store timestamp of the newest CommitLog data known flushed
// logics msg ts    store timestamp of the newest record written to a consume queue
// index msg ts     end timestamp of the newest full and flushed index file
// master flushed   HA: the master's flushed phys offset as seen by a slave (0 otherwise)
// confirm phys     HA/controller: the confirmed CommitLog phys offset
// How recovery uses the values: spec §6.1 and §10.
// clang-format on
namespace thruster::store {

inline constexpr size_t kCheckpointFileSize = 4096;
inline constexpr size_t kCheckpointDataSize = 40;
inline constexpr size_t kPhysicMsgTimestampPos = 0;
inline constexpr size_t kLogicsMsgTimestampPos = 8;
inline constexpr size_t kIndexMsgTimestampPos = 16;
inline constexpr size_t kMasterFlushedOffsetPos = 24;
inline constexpr size_t kConfirmPhyOffsetPos = 32;
static_assert(kCheckpointDataSize == 5 * sizeof(int64_t));
static_assert(kConfirmPhyOffsetPos + sizeof(int64_t) == kCheckpointDataSize);
static_assert(kCheckpointDataSize <= kCheckpointFileSize);

struct CheckpointData {
  int64_t physic_msg_timestamp = 0;
  int64_t logics_msg_timestamp = 0;
  int64_t index_msg_timestamp = 0;
  int64_t master_flushed_offset = 0;
  int64_t confirm_phy_offset = 0;
  bool operator==(const CheckpointData&) const = default;
};

// Writes the 40 data bytes at the start of `out` (out.size() >=
// kCheckpointDataSize); the bytes after them are left untouched (they are zero
// in a freshly created file).
void EncodeCheckpoint(const CheckpointData& data, std::span<std::byte> out);

// Reads the 40 data bytes; Corruption when `in` is shorter than
// kCheckpointDataSize.
Result<CheckpointData> DecodeCheckpoint(std::span<const std::byte> in);

// Recovery's lower time bound: max(0, min(physic, logics) - 3000) (spec §6.1).
int64_t MinTimestamp(const CheckpointData& data);

// min(MinTimestamp, index msg ts) [4.x], the bound used when messageIndexSafe
// is on (spec §6.1).
int64_t MinTimestampIndex(const CheckpointData& data);

}  // namespace thruster::store
