#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

// clang-format off
// index_file_format.h -- one IndexFile: a hash table from message key to
// CommitLog phys offsets: header, slot table, entry array (spec §5.1).
// Big-endian, signed. No version, no checksum.
//
//   0          40                      40 + 4 * slots      + 20 * entries
//   +----------+-----------------------+-------------------+
//   |  header  | slot table: slots x 4 | entries x 20 B    |
//   +----------+-----------------------+-------------------+
//
// Header (40 bytes):
//   0        8        16           24           32        36        40
//   +--------+--------+------------+------------+---------+---------+
//   | begin  |  end   | begin phys | end phys   | slot    | index   |
//   |   ts   |   ts   |   offset   |   offset   | count   | count   |
//   |  i64   |  i64   |    i64     |    i64     |  i32    |  i32    |
//   +--------+--------+------------+------------+---------+---------+
// begin/end ts      store times of the first/last indexed message (ms)
// begin/end phys    phys offsets of the first/last indexed message
// slot count        how often an entry landed in an empty slot (statistics)
// index count       next free entry number; starts at 1 (a fresh file's 0
//                   reads as 1); entry 0 is never used
//
// Slot s (i32 at 40 + 4 * s): number of the newest entry whose key hash maps
// to s; 0 = empty.
//
// Entry n (at 40 + 4 * slots + 20 * n):
//   0          4                12          16          20
//   +----------+----------------+-----------+-----------+
//   | key hash |  phys offset   | time diff | prev index|
//   |   i32    |      i64       |    i32    |    i32    |
//   +----------+----------------+-----------+-----------+
// key hash     IndexHash(key) = |jhash(key)|, |i32 min| read as 0;
//              slot = key hash % slots
// time diff    (store ts - header begin ts) / 1000, SECONDS, clamped to
//              [0, i32 max]
// prev index   the previous entry of the same slot chain; 0 ends the chain
//
// A reader finds valid data through the slots: slot and chain values <= 0 or
// >= index count are ignored (and a chain only runs back to older entries).
// Keys are never stored, only their hashes. Background:
// docs/formats/index_file.md.
// clang-format on
namespace thruster::store::index_format {

inline constexpr size_t kHeaderSize = 40;
inline constexpr size_t kBeginTimestampPos = 0;
inline constexpr size_t kEndTimestampPos = 8;
inline constexpr size_t kBeginPhysOffsetPos = 16;
inline constexpr size_t kEndPhysOffsetPos = 24;
inline constexpr size_t kHashSlotCountPos = 32;
inline constexpr size_t kIndexCountPos = 36;
static_assert(kIndexCountPos + sizeof(int32_t) == kHeaderSize);
static_assert(kHashSlotCountPos == 4 * sizeof(int64_t));

inline constexpr size_t kSlotSize = 4;

inline constexpr size_t kEntrySize = 20;
inline constexpr size_t kKeyHashPos = 0;
inline constexpr size_t kPhysOffsetPos = 4;
inline constexpr size_t kTimeDiffPos = 12;
inline constexpr size_t kPrevIndexPos = 16;
static_assert(kEntrySize == sizeof(int32_t) + sizeof(int64_t) +
                                sizeof(int32_t) + sizeof(int32_t));
static_assert(kPrevIndexPos + sizeof(int32_t) == kEntrySize);

// maxHashSlotNum / maxIndexNum defaults: a 420000040-byte file.
inline constexpr int32_t kDefaultMaxHashSlotNum = 5000000;
inline constexpr int32_t kDefaultMaxIndexNum = 20000000;

struct Header {
  int64_t begin_timestamp = 0;
  int64_t end_timestamp = 0;
  int64_t begin_phys_offset = 0;
  int64_t end_phys_offset = 0;
  int32_t hash_slot_count = 0;
  int32_t index_count = 0;
  bool operator==(const Header&) const = default;
};

// Whether the record at `phys_offset` is already indexed by the newest file,
// whose header is `h`: its end phys offset is the last record indexed, and
// whole once its end time is set (a fresh file has none).
inline bool AlreadyIndexed(const Header& h, int64_t phys_offset) {
  return phys_offset < h.end_phys_offset ||
         (phys_offset == h.end_phys_offset && h.end_timestamp > 0);
}

struct Entry {
  int32_t key_hash = 0;
  int64_t phys_offset = 0;
  int32_t time_diff = 0;
  int32_t prev_index = 0;
  bool operator==(const Entry&) const = default;
};

// 40 + 4 * slot_num + 20 * index_num.
inline constexpr int64_t FileSize(int32_t slot_num, int32_t index_num) {
  return static_cast<int64_t>(kHeaderSize) +
         static_cast<int64_t>(kSlotSize) * slot_num +
         static_cast<int64_t>(kEntrySize) * index_num;
}
static_assert(FileSize(kDefaultMaxHashSlotNum, kDefaultMaxIndexNum) ==
              420000040);

// File pos of the slot for `key_hash` (>= 0).
inline constexpr int64_t SlotPos(int32_t key_hash, int32_t slot_num) {
  return static_cast<int64_t>(kHeaderSize) +
         static_cast<int64_t>(kSlotSize) * (key_hash % slot_num);
}
// File pos of entry number `n`.
inline constexpr int64_t EntryPos(int32_t slot_num, int32_t n) {
  return static_cast<int64_t>(kHeaderSize) +
         static_cast<int64_t>(kSlotSize) * slot_num +
         static_cast<int64_t>(kEntrySize) * n;
}

// The non-negative hash an entry stores: |jhash(key)|, with |i32 min| mapped to
// 0 (spec §5.1).
int32_t IndexHash(std::string_view key);
// The indexed key for a message key of `topic`: "topic#key" (spec §5.2).
std::string BuildKey(std::string_view topic, std::string_view key);
// IndexHash(BuildKey(topic, key)) without building the key. `topic_hash` is
// message::JHash(topic) (the dispatch thread computes it once per record).
int32_t IndexHashOf(int32_t topic_hash, std::string_view key);
// The time diff stored for a message stored at `store_timestamp` in a file
// whose header begins at `begin_timestamp`: whole seconds, clamped to [0, i32
// max]; 0 while `begin_timestamp` <= 0.
int32_t TimeDiffSeconds(int64_t store_timestamp, int64_t begin_timestamp);

void EncodeHeader(const Header& h,
                  std::span<std::byte> out);  // out.size() >= kHeaderSize
// InvalidArgument when `in` is shorter than kHeaderSize. Values are returned as
// stored (index count 0 too).
Result<Header> DecodeHeader(std::span<const std::byte> in);
void EncodeEntry(const Entry& e,
                 std::span<std::byte> out);  // out.size() >= kEntrySize
// InvalidArgument when `in` is shorter than kEntrySize.
Result<Entry> DecodeEntry(std::span<const std::byte> in);

}  // namespace thruster::store::index_format
