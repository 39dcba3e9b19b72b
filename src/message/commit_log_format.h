#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/coding.h"
#include "common/result.h"
#include "message/host_address.h"
#include "message/message.h"

// The CommitLog record (store spec §2). One length-prefixed, self-describing
// record per message; a record never straddles two segments; a segment ends
// with a BLANK record of >= 8 bytes. Big-endian, signed.
//
// clang-format off
//   A v1 record with IPv4 born and store hosts (spec §2.1 gives the general offsets):
//
//   0           4           8           12          16          20                      28
//   +-----------+-----------+-----------+-----------+-----------+-----------------------+
//   | TOTALSIZE | MAGICCODE |  BODYCRC  |  QUEUEID  |   FLAG    |      QUEUEOFFSET      |
//   |    i32    |    i32    |    i32    |    i32    |    i32    |          i64          |
//   +-----------+-----------+-----------+-----------+-----------+-----------------------+
//   28                      36          40                      48
//   +-----------------------+-----------+-----------------------+-----------------------+
//   |    PHYSICALOFFSET     |  SYSFLAG  |     BORNTIMESTAMP     | BORNHOST: ip 4, port  |
//   |          i64          |    i32    |          i64          |      4 + i32          |
//   +-----------------------+-----------+-----------------------+-----------------------+
//   56                      64                      72          76
//   +-----------------------+-----------------------+-----------+-----------------------+
//   |    STORETIMESTAMP     | STOREHOST: ip 4, port |RECONSUME- |   PREPAREDTXOFFSET    |
//   |          i64          |      4 + i32          |TIMES i32  |          i64          |
//   +-----------------------+-----------------------+-----------+-----------------------+
//   84          88          88+B    89+B         89+B+T     91+B+T
//   +-----------+-----------+-------+------------+----------+------------+
//   | BODYLENGTH|   BODY    | TOPIC-|   TOPIC    | PROPERTI-| PROPERTIES |
//   |   i32 B   |  B bytes  | LENGTH|  T bytes   | ESLENGTH |  P bytes   |
//   |           |           | i8 T  |            |  i16 P   |            |
//   +-----------+-----------+-------+------------+----------+------------+
//
//   An IPv6 host (SYSFLAG kBornHostV6 / kStoreHostV6) is 16 + 4 bytes, moving every later field by 12.
//   v2 (MAGICCODE kMagicV2, topics longer than 127 bytes) has an i16 TOPICLENGTH.
//
//   The END_FILE blank record that fills a segment's tail:
//   0           4           8
//   +-----------+-----------+- - - - - - - - - - - - - +
//   | TOTALSIZE | MAGICCODE |  rest of the segment     |
//   | remaining | BLANK     |  (not read)              |
//   +-----------+-----------+- - - - - - - - - - - - - +
// clang-format on
//
// BODYCRC = crc32r(body as stored); nothing else is checksummed. TOTALSIZE =
// 74 + bh + sh + tl + B + T + P (bh/sh 8 or 20, tl 1 or 2). A reader finds the
// end of valid data at the first record that is torn (fewer bytes than
// TOTALSIZE), has an unknown magic, a CRC mismatch, or a TOTALSIZE that
// disagrees with its parsed lengths (spec §2.9). The version is the magic code.
// Background (v1/v2, RocketMQ 4.x/5.x differences): docs/formats/commit_log.md.
namespace thruster::message {

inline constexpr int32_t kMagicV1 = static_cast<int32_t>(0xDAA320A7);
inline constexpr int32_t kMagicV2 = static_cast<int32_t>(0xDAA320AB);
inline constexpr int32_t kMagicBlank = static_cast<int32_t>(0xCBD43194);
inline constexpr int32_t kBlankMinLength = 8;  // END_FILE_MIN_BLANK_LENGTH
inline constexpr int kBodyCrcPos = 8;
inline constexpr int kQueueIdPos = 12;
inline constexpr int kFlagPos = 16;
inline constexpr int kQueueOffsetPos = 20;
inline constexpr int kPhysOffsetPos = 28;
inline constexpr int kSysFlagPos = 36;
inline constexpr int kBornTimestampPos = 40;
inline constexpr int kBornHostPos = 48;
inline constexpr int kMaxPropertiesLength = 32767;
inline constexpr int kMaxTopicLengthV1 = 127;
// The record bytes that are neither hosts, TOPICLENGTH nor the variable fields:
// the eight i32 and five i64 fields from TOTALSIZE to BODYLENGTH, plus the i16
// PROPERTIESLENGTH.
inline constexpr int kRecordFixedSize = 74;
static_assert(kBodyCrcPos == 2 * 4);
static_assert(kQueueIdPos == 3 * 4);
static_assert(kFlagPos == 4 * 4);
static_assert(kQueueOffsetPos == 5 * 4);
static_assert(kPhysOffsetPos == kQueueOffsetPos + 8);
static_assert(kSysFlagPos == kPhysOffsetPos + 8);
static_assert(kBornTimestampPos == kSysFlagPos + 4);
static_assert(kBornHostPos == kBornTimestampPos + 8);
static_assert(kRecordFixedSize ==
              8 * sizeof(int32_t) + 5 * sizeof(int64_t) + sizeof(int16_t));

// STORETIMESTAMP position: 56, or 68 when the born host is IPv6.
inline int StoreTimestampPos(int32_t sys_flag) {
  return (sys_flag & sysflag::kBornHostV6) ? 68 : 56;
}

// TOTALSIZE of the record `m` would become (v2 when the topic is longer than
// 127 bytes).
int32_t RecordSize(const MessageToStore& m);

// Appends the encoded record for `m` to `out` with QUEUEOFFSET, PHYSICALOFFSET
// and STORETIMESTAMP zero; they are patched in the put lock. Computes BODYCRC
// and sets the v6 sysflag bits from the hosts. Errors (InvalidArgument): body +
// record larger than `max_message_size` (4.x rule: TOTALSIZE), properties
// longer than 32767 bytes, topic longer than 32767 bytes or empty.
Result<int32_t> EncodeRecord(const MessageToStore& m, int32_t max_message_size,
                             std::string* out);
// EncodeRecord without the body's bytes: appends to `out` the record's bytes
// before BODY (TOTALSIZE to BODYLENGTH) and after it (TOPICLENGTH to the end),
// and sets `*body_pos` to the length of the first part, so that part, then
// `m.body`, then the rest is the record EncodeRecord writes. For an appender
// that copies the body straight from the message into the segment. Returns
// TOTALSIZE (the whole record's); same errors as EncodeRecord.
Result<int32_t> EncodeRecordWithoutBody(const MessageToStore& m,
                                        int32_t max_message_size,
                                        std::string* out, size_t* body_pos);

// Writes the fields assigned in the put lock into an encoded record at `rec`.
inline void PatchInLockFields(std::byte* rec, int64_t queue_offset,
                              int64_t phys_offset, int64_t store_ts) {
  StoreI64(rec + kQueueOffsetPos, queue_offset);
  StoreI64(rec + kPhysOffsetPos, phys_offset);
  StoreI64(rec + StoreTimestampPos(LoadI32(rec + kSysFlagPos)), store_ts);
}

// Writes the 8-byte END_FILE blank record: TOTALSIZE = remaining, MAGICCODE =
// BLANK (§2.2).
inline void EncodeBlank(std::byte* p, int32_t remaining) {
  StoreI32(p, remaining);
  StoreI32(p + 4, kMagicBlank);
}

// A record decoded in place; every view points into the input span.
struct DecodedRecord {
  int32_t total_size = 0;
  int32_t magic = 0;
  int32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t phys_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  HostAddress born_host;
  int64_t store_timestamp = 0;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::span<const std::byte> body;
  std::string_view topic;
  std::string_view properties;
};

enum class RecordStatus {
  kOk,     // a valid message record
  kBlank,  // the END_FILE blank: the segment's data ends here
  kTorn,   // fewer bytes than a header or than TOTALSIZE (size -1 in RocketMQ):
           // end of valid data
  kCorrupt,  // bad magic, CRC mismatch, or impossible lengths: end of valid
             // data
  kLengthMismatch,  // parsed lengths disagree with TOTALSIZE; `size` is
                    // TOTALSIZE (dispatch may skip it)
};

struct RecordCheck {
  RecordStatus status = RecordStatus::kTorn;
  int32_t size = -1;       // TOTALSIZE when known
  DecodedRecord record;    // filled for kOk
  std::string_view error;  // a short reason for kTorn/kCorrupt/kLengthMismatch
                           // (static string)
};

// checkMessageAndReturnSize (§2.9): validates the record at the start of `in`
// (which extends to the segment's readable end). With check_crc, the body CRC
// is verified. Never reads outside `in`. Checks in this order: fewer than 8
// bytes → kTorn; unknown magic → kCorrupt (zero-filled space after the last
// record lands here, error "zero bytes, no record"); TOTALSIZE < 0, or < 8 for
// a message record → kCorrupt; TOTALSIZE > in.size() → kTorn; BLANK → kBlank
// with size = TOTALSIZE (kCorrupt if < 8); then the fields are parsed against
// `in`: a negative length or one running past `in` → kCorrupt, body CRC
// mismatch → kCorrupt, parsed length != TOTALSIZE → kLengthMismatch. kTorn and
// kCorrupt have size -1. Does not allocate.
RecordCheck CheckRecord(std::span<const std::byte> in, bool check_crc);

// RecordCheck without the decoded record.
struct RecordCheckStatus {
  RecordStatus status = RecordStatus::kTorn;
  int32_t size = -1;
  std::string_view error;
};

// CheckRecord(in, false) for the `dispatch` thread, which reads seven fields
// of each record: the same status, size and error for every input. On kOk it
// sets only total_size, magic, queue_id, queue_offset, sys_flag,
// store_timestamp, topic and properties of `*record` and leaves the other
// fields as they were (the caller reuses one DecodedRecord across records);
// otherwise `*record` is unchanged. Each field is read at its offset rather
// than field by field, and the hosts are not decoded. Does not allocate; never
// reads outside `in`.
RecordCheckStatus CheckRecordForDispatch(std::span<const std::byte> in,
                                         DecodedRecord* record);

}  // namespace thruster::message
