#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

// clang-format off
// consume_queue_format.h -- one fixed-size entry per message; queue offset q
// lives at queue-stream byte q * 20, in the file whose name is the stream byte
// it starts at. Big-endian, signed (spec §4.1).
//   0              8        12             20
//   +--------------+--------+--------------+
//   | phys offset  |  size  |   tag code   |
//   |     i64      |  i32   |     i64      |
//   +--------------+--------+--------------+
// phys offset  where the message record starts in the commit log
// size         the record's TOTALSIZE
// tag code     usually the tag's hash, for broker-side filtering (spec §4.2
//              lists the other meanings)
// Data ends at the first entry with phys offset < 0 or size <= 0 (new files
// are zero-filled). Entries carry no checksum: recovery re-derives them from
// the commit log. No version field. Background and the pre-blank filler:
// docs/formats/consume_queue.md.
// clang-format on
namespace thruster::store::cq_format {

struct Entry {
  int64_t phys_offset = 0;
  int32_t size = 0;
  int64_t tags_code = 0;
  bool operator==(const Entry&) const = default;
};

inline constexpr size_t kEntrySize = 20;
inline constexpr size_t kPhysOffsetPos = 0;
inline constexpr size_t kSizePos = 8;
inline constexpr size_t kTagsCodePos = 12;
static_assert(kEntrySize ==
              sizeof(int64_t) + sizeof(int32_t) + sizeof(int64_t));
static_assert(kSizePos == kPhysOffsetPos + sizeof(int64_t));
static_assert(kTagsCodePos == kSizePos + sizeof(int32_t));
static_assert(kTagsCodePos + sizeof(int64_t) == kEntrySize);

// Filler written in front of a queue's first real entry when its first file
// starts below the first queue offset (spec §4.1, §4.3 step 3). Recovery counts
// it as valid; it never names a real record.
inline constexpr int32_t kPreBlankSize = 0x7FFFFFFF;
inline constexpr Entry kPreBlankEntry{0, kPreBlankSize, 0};

// mappedFileSizeConsumeQueue default: 300000 entries.
inline constexpr int64_t kDefaultFileSize =
    300000 * static_cast<int64_t>(kEntrySize);

// A real entry: marks data (not the end) and is not pre-blank filler.
inline bool IsValid(const Entry& e) { return e.phys_offset >= 0 && e.size > 0; }
inline bool IsPreBlank(const Entry& e) {
  return e.size == kPreBlankSize && e.phys_offset == 0;
}

// Rounds a configured file size up to a whole number of entries (spec §4.1); at
// least one entry.
int64_t RoundFileSize(int64_t configured);

void EncodeEntry(const Entry& e,
                 std::span<std::byte> out);  // out.size() >= kEntrySize
// InvalidArgument when `in` is shorter than kEntrySize. Any 20 bytes decode;
// IsValid() tells data from end.
Result<Entry> DecodeEntry(std::span<const std::byte> in);

}  // namespace thruster::store::cq_format
