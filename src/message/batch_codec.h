#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

// The producer batch body (remoting spec §5.6, store spec §2.8): the body of
// SEND_BATCH_MESSAGE (and of SEND_MESSAGE_V2 with m=true) is a concatenation
// of compact entries, with no count, padding or checksum. Big-endian, signed.
//
// clang-format off
//   0           4           8           12          16          20          20+B          22+B
//   +-----------+-----------+-----------+-----------+-----------+-----------+-------------+------------+
//   | TOTALSIZE | MAGICCODE |  BODYCRC  |   FLAG    | BODYLENGTH|   BODY    | PROPERTIES- | PROPERTIES |
//   |    i32    |  i32 (0)  |  i32 (0)  |    i32    |   i32 B   |  B bytes  | LENGTH i16 P|  P bytes   |
//   +-----------+-----------+-----------+-----------+-----------+-----------+-------------+------------+
// clang-format on
//
// TOTALSIZE  this entry's size, 22 + B + P; the next entry starts there
// MAGICCODE  0, ignored
// BODYCRC    0, ignored (the store computes each record's CRC)
// FLAG       the message's user flag
// PROPERTIES this message's properties (message/properties.h), with its own
//            UNIQ_KEY
// The batch ends where the body ends. A batch is valid only if every entry's
// three lengths agree exactly and end inside the body; the CommitLog expands
// each entry into one record (message/commit_log_format.h) with the batch's
// topic, queue, hosts and times.
namespace thruster::message {

inline constexpr int32_t kBatchEntryFixedSize = 22;
inline constexpr size_t kBatchEntryFlagPos = 12;
inline constexpr size_t kBatchEntryBodyLengthPos = 16;
inline constexpr size_t kBatchEntryBodyPos = 20;
static_assert(kBatchEntryBodyPos == 5 * sizeof(int32_t));
static_assert(kBatchEntryFixedSize == kBatchEntryBodyPos + sizeof(int16_t));

// One entry, decoded in place: the views point into the batch.
struct BatchEntry {
  int32_t flag = 0;
  std::span<const std::byte> body;
  std::string_view properties;
};

// Appends `e` as one entry (MAGICCODE and BODYCRC 0, as clients send them).
// InvalidArgument if the properties are longer than 32767 bytes or the entry
// would be larger than an i32 can say.
Status EncodeBatchEntry(const BatchEntry& e, std::string* out);

// Reads a batch entry by entry; bounds-checked, never reads outside `batch`.
// Not thread-safe; `batch` must outlive the reader and the entries.
class BatchReader {
 public:
  explicit BatchReader(std::span<const std::byte> batch) : batch_(batch) {}

  bool done() const { return pos_ == batch_.size(); }
  // Entries decoded so far (the index of the next one).
  int index() const { return index_; }
  // Decodes the next entry (requires !done()). InvalidArgument naming the
  // entry's index: "batch entry N is truncated" (fewer than 22 bytes left),
  // "... has a bad length" (TOTALSIZE below 22 or past the end of the batch,
  // BODYLENGTH negative or past TOTALSIZE), "... has a bad properties length"
  // (PROPERTIESLENGTH negative or 22 + B + P != TOTALSIZE). After an error
  // the reader stays where the bad entry starts.
  Result<BatchEntry> Next();

 private:
  std::span<const std::byte> batch_;
  size_t pos_ = 0;
  int index_ = 0;
};

// Calls fn(const BatchEntry&) -> Status for every entry in order and returns
// the first error, the reader's or fn's. InvalidArgument for an empty batch or
// one larger than `max_size` bytes (spec §5.6: the whole body is bounded by
// maxMessageSize), before any entry is read.
Status CheckBatchSize(std::span<const std::byte> batch, int64_t max_size);
template <typename Fn>
Status ForEachBatchEntry(std::span<const std::byte> batch, int64_t max_size,
                         Fn&& fn) {
  TH_RETURN_IF_ERROR(CheckBatchSize(batch, max_size));
  BatchReader reader(batch);
  while (!reader.done()) {
    TH_ASSIGN_OR_RETURN(const BatchEntry entry, reader.Next());
    TH_RETURN_IF_ERROR(fn(entry));
  }
  return Status::OK();
}

// ForEachBatchEntry with nothing to do per entry: the broker's check before a
// batch goes to the store.
Status ValidateBatch(std::span<const std::byte> batch, int64_t max_size);

}  // namespace thruster::message
