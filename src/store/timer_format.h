#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

// The three on-disk formats of RocketMQ 5's timer store
// (spec/schedule-and-timer.md §6). Big-endian, signed, no checksums: the
// timerlog is re-scanned from the checkpoint after a crash (§6.6).
namespace thruster::store::timer_format {

// timerwheel: one file of kSlotsTotal slots of 32 bytes (§6.1), whatever the
// precision P; slot i = (timeMs / P) mod kSlotsTotal.
//   0            8            16           24     28     32
//   +------------+------------+------------+------+------+
//   | time units | first pos  | last pos   | num  | magic|
//   |    i64     |    i64     |    i64     | i32  | i32  |
//   +------------+------------+------------+------+------+
// time units  timeMs / P of the time this slot currently holds
// first pos   timerlog position of the slot's first unit
// last pos    timerlog position of its last unit (head of the prevPos chain)
// num         live units; magic unused (0)
// A slot whose time units differ from the asked time reads as empty; a zeroed
// slot is therefore empty.
inline constexpr int64_t kSlotsTotal = 2 * 7 * 86400;  // 1 209 600
inline constexpr size_t kSlotSize = 32;
inline constexpr size_t kWheelFileSize = kSlotsTotal * kSlotSize;
static_assert(kSlotSize == 3 * sizeof(int64_t) + 2 * sizeof(int32_t));
static_assert(kWheelFileSize == 38707200);

struct Slot {
  int64_t time_units = 0;
  int64_t first_pos = -1;
  int64_t last_pos = -1;
  int32_t num = 0;
  int32_t magic = 0;
  bool operator==(const Slot&) const = default;
};
void EncodeSlot(const Slot& s, std::span<std::byte> out);  // out >= kSlotSize
Slot DecodeSlot(std::span<const std::byte> in);            // in >= kSlotSize

// timerlog unit (§6.2), 52 bytes, in segments of mappedFileSizeTimerLog:
//   0     4          12     16            24     28          36     40     44
//   +-----+----------+------+-------------+------+-----------+------+------+----------+
//   |size | prev pos |magic | enqueue time|delay | offsetPy  |sizePy|topic |
//   reserved | | i32 |   i64    | i32  |    i64      | i32  |   i64     | i32
//   |hash  |   i64    |
//   +-----+----------+------+-------------+------+-----------+------+------+----------+
// size 52; prev pos: previous unit of the same slot, -1 for the first; magic:
// bit 0 always, bit 1 roll, bit 2 delete; delivery (slot) time = enqueue time
// + delay; offsetPy/sizePy: the record in rmq_sys_wheel_timer; topic hash:
// jhash(REAL_TOPIC). Data ends at the first unit whose size is not 52 or whose
// magic is invalid; a segment's unused tail starts with a 16-byte blank
// {i32 remaining, i64 0, i32 kBlankMagic}.
inline constexpr size_t kUnitSize = 52;
inline constexpr size_t kBlankSize = 16;
inline constexpr int32_t kMagicDefault = 1;
inline constexpr int32_t kMagicRoll = 1 << 1;
inline constexpr int32_t kMagicDelete = 1 << 2;
inline constexpr int32_t kBlankMagic = static_cast<int32_t>(0xCBD43194);
static_assert(kUnitSize == 4 + 8 + 4 + 8 + 4 + 8 + 4 + 4 + 8);

struct Unit {
  int64_t prev_pos = -1;
  int32_t magic = kMagicDefault;
  int64_t enqueue_time = 0;
  int32_t delay = 0;
  int64_t offset_py = 0;
  int32_t size_py = 0;
  int32_t topic_hash = 0;
  int64_t DeliverTime() const { return enqueue_time + delay; }
  bool operator==(const Unit&) const = default;
};
void EncodeUnit(const Unit& u, std::span<std::byte> out);  // out >= kUnitSize
// nullopt when `in` is short or holds no valid unit (a blank, zeros, garbage).
std::optional<Unit> DecodeUnit(std::span<const std::byte> in);
void EncodeBlank(int32_t remaining, std::span<std::byte> out);  // >= 16

// config/timercheck (§6.5): a 4096-byte file, the first 56 bytes used, i64s:
// lastReadTimeMs, lastTimerLogFlushPos, lastTimerQueueOffset,
// masterTimerQueueOffset, dataVersion {stateVersion, timestamp, counter}.
inline constexpr size_t kCheckpointFileSize = 4096;
inline constexpr size_t kCheckpointSize = 56;
struct Checkpoint {
  int64_t last_read_time_ms = 0;
  int64_t last_timer_log_flush_pos = 0;
  int64_t last_timer_queue_offset = 0;
  int64_t master_timer_queue_offset = 0;
  int64_t state_version = 0;
  int64_t timestamp = 0;
  int64_t counter = 0;
  bool operator==(const Checkpoint&) const = default;
};
void EncodeCheckpoint(const Checkpoint& c, std::span<std::byte> out);  // >= 56
Checkpoint DecodeCheckpoint(std::span<const std::byte> in);            // >= 56

}  // namespace thruster::store::timer_format
