#include "message/commit_log_format.h"

#include <cstring>
#include <limits>

#include "common/check.h"
#include "common/crc32.h"

namespace thruster::message {
namespace {

constexpr size_t kHeaderSize = 8;  // TOTALSIZE + MAGICCODE

int HostSize(bool v6) { return v6 ? 20 : 8; }

int64_t RecordSize64(const MessageToStore& m) {
  const int64_t tl =
      m.topic.size() > static_cast<size_t>(kMaxTopicLengthV1) ? 2 : 1;
  return kRecordFixedSize + HostSize(m.born_host.v6) +
         HostSize(m.store_host.v6) + tl + static_cast<int64_t>(m.body.size()) +
         static_cast<int64_t>(m.topic.size()) +
         static_cast<int64_t>(m.properties.size());
}

// Copies `n` bytes to `p`; returns the end.
std::byte* PutBytes(std::byte* p, const void* data, size_t n) {
  if (n > 0) std::memcpy(p, data, n);
  return p + n;
}

// A host as the record holds it: the 4 or 16 address bytes, then the port.
std::byte* PutHost(std::byte* p, const HostAddress& h) {
  p = PutBytes(p, h.ip.data(), h.v6 ? 16 : 4);
  StoreI32(p, h.port);
  return p + sizeof(int32_t);
}

HostAddress GetHost(const std::byte* p, bool v6) {
  HostAddress h;
  h.v6 = v6;
  const size_t n = v6 ? 16 : 4;
  std::memcpy(h.ip.data(), p, n);
  h.port = LoadI32(p + n);
  return h;
}

RecordCheck Fail(RecordStatus status, std::string_view error,
                 int32_t size = -1) {
  RecordCheck c;
  c.status = status;
  c.size = size;
  c.error = error;
  return c;
}

}  // namespace

int32_t RecordSize(const MessageToStore& m) {
  const int64_t size = RecordSize64(m);
  return size > std::numeric_limits<int32_t>::max()
             ? std::numeric_limits<int32_t>::max()
             : static_cast<int32_t>(size);
}

namespace {

// EncodeRecord, with the body's bytes (`with_body`) or without them
// (EncodeRecordWithoutBody: `*body_pos` gets where they would go).
Result<int32_t> EncodeRecordTo(const MessageToStore& m,
                               int32_t max_message_size, std::string* out,
                               bool with_body, size_t* body_pos) {
  if (m.topic.empty()) return Status::InvalidArgument("empty topic");
  if (m.topic.size() >
      static_cast<size_t>(std::numeric_limits<int16_t>::max())) {
    return Status::InvalidArgument("topic longer than 32767 bytes");
  }
  if (m.properties.size() > static_cast<size_t>(kMaxPropertiesLength)) {
    return Status::InvalidArgument("properties longer than 32767 bytes");
  }
  const int64_t size = RecordSize64(m);
  if (size > max_message_size)
    return Status::InvalidArgument("message larger than max message size");
  const auto total_size = static_cast<int32_t>(size);
  const bool v2 = m.topic.size() > static_cast<size_t>(kMaxTopicLengthV1);

  int32_t sys_flag =
      m.sys_flag & ~(sysflag::kBornHostV6 | sysflag::kStoreHostV6);
  if (m.born_host.v6) sys_flag |= sysflag::kBornHostV6;
  if (m.store_host.v6) sys_flag |= sysflag::kStoreHostV6;

  // Every field stored at its offset into the record's bytes, zeroed first:
  // QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP stay zero here and are
  // patched in the put lock.
  const size_t start = out->size();
  const size_t body_bytes = with_body ? m.body.size() : 0;
  out->resize(start + static_cast<size_t>(total_size) - m.body.size() +
              body_bytes);
  std::byte* const rec = reinterpret_cast<std::byte*>(out->data()) + start;
  StoreI32(rec, total_size);
  StoreI32(rec + 4, v2 ? kMagicV2 : kMagicV1);
  StoreI32(rec + kBodyCrcPos, Crc32R(m.body));
  StoreI32(rec + kQueueIdPos, m.queue_id);
  StoreI32(rec + kFlagPos, m.flag);
  StoreI32(rec + kSysFlagPos, sys_flag);
  StoreI64(rec + kBornTimestampPos, m.born_timestamp);
  std::byte* p = PutHost(rec + kBornHostPos, m.born_host);
  p += sizeof(int64_t);  // STORETIMESTAMP
  p = PutHost(p, m.store_host);
  StoreI32(p, m.reconsume_times);
  StoreI64(p + 4, m.prepared_transaction_offset);
  StoreI32(p + 12, static_cast<int32_t>(m.body.size()));
  p += 16;
  if (body_pos != nullptr) *body_pos = static_cast<size_t>(p - rec);
  p = PutBytes(p, m.body.data(), body_bytes);
  if (v2) {
    StoreI16(p, static_cast<int16_t>(m.topic.size()));
    p += sizeof(int16_t);
  } else {
    *p++ = static_cast<std::byte>(m.topic.size());
  }
  p = PutBytes(p, m.topic.data(), m.topic.size());
  StoreI16(p, static_cast<int16_t>(m.properties.size()));
  p = PutBytes(p + 2, m.properties.data(), m.properties.size());
  TH_CHECK(p - rec + static_cast<std::ptrdiff_t>(m.body.size() - body_bytes) ==
               total_size,
           "record encoded to {} bytes, TOTALSIZE {}", p - rec, total_size);
  return total_size;
}

}  // namespace

Result<int32_t> EncodeRecord(const MessageToStore& m, int32_t max_message_size,
                             std::string* out) {
  return EncodeRecordTo(m, max_message_size, out, /*with_body=*/true, nullptr);
}

Result<int32_t> EncodeRecordWithoutBody(const MessageToStore& m,
                                        int32_t max_message_size,
                                        std::string* out, size_t* body_pos) {
  return EncodeRecordTo(m, max_message_size, out, /*with_body=*/false,
                        body_pos);
}

namespace {

// TOTALSIZE and MAGICCODE checked against `in`, the checks CheckRecord and
// CheckRecordForDispatch share: kOk with `size` = TOTALSIZE when a message
// record of that size lies within `in`.
RecordCheckStatus CheckHead(std::span<const std::byte> in) {
  if (in.size() < kHeaderSize)
    return {RecordStatus::kTorn, -1, "fewer than 8 bytes left"};
  const std::byte* p = in.data();
  const int32_t total_size = LoadI32(p);
  const int32_t magic = LoadI32(p + 4);
  if (magic != kMagicV1 && magic != kMagicV2 && magic != kMagicBlank) {
    return {RecordStatus::kCorrupt, -1,
            total_size == 0 && magic == 0 ? "zero bytes, no record"
                                          : "bad magic code"};
  }
  if (total_size < 0) return {RecordStatus::kCorrupt, -1, "negative TOTALSIZE"};
  // A message record cannot be shorter than its length and magic; reporting
  // such a TOTALSIZE as kLengthMismatch would tell a reader to skip 0 bytes.
  if (magic != kMagicBlank && total_size < 8)
    return {RecordStatus::kCorrupt, -1, "TOTALSIZE below 8"};
  if (static_cast<size_t>(total_size) > in.size())
    return {RecordStatus::kTorn, -1, "record shorter than TOTALSIZE"};
  if (magic == kMagicBlank) {
    if (total_size < kBlankMinLength)
      return {RecordStatus::kCorrupt, -1, "blank record shorter than 8 bytes"};
    return {RecordStatus::kBlank, total_size, {}};
  }
  return {RecordStatus::kOk, total_size, {}};
}

}  // namespace

RecordCheck CheckRecord(std::span<const std::byte> in, bool check_crc) {
  const RecordCheckStatus head = CheckHead(in);
  if (head.status != RecordStatus::kOk)
    return Fail(head.status, head.error, head.size);
  const int32_t total_size = head.size;

  // Fields are read against `in` (not TOTALSIZE), so a wrong TOTALSIZE surfaces
  // as kLengthMismatch, as in RocketMQ; a length field that runs past `in` is
  // kCorrupt.
  RecordCheck c;
  DecodedRecord& r = c.record;
  ByteReader rd(in);
  r.total_size = rd.I32();
  r.magic = rd.I32();
  r.body_crc = rd.I32();
  r.queue_id = rd.I32();
  r.flag = rd.I32();
  r.queue_offset = rd.I64();
  r.phys_offset = rd.I64();
  r.sys_flag = rd.I32();
  r.born_timestamp = rd.I64();
  const bool born_v6 = (r.sys_flag & sysflag::kBornHostV6) != 0;
  const bool store_v6 = (r.sys_flag & sysflag::kStoreHostV6) != 0;
  ConstByteSpan born = rd.Bytes(static_cast<size_t>(HostSize(born_v6)));
  r.store_timestamp = rd.I64();
  ConstByteSpan store = rd.Bytes(static_cast<size_t>(HostSize(store_v6)));
  r.reconsume_times = rd.I32();
  r.prepared_transaction_offset = rd.I64();
  const int32_t body_length = rd.I32();
  if (!rd.ok())
    return Fail(RecordStatus::kCorrupt, "header runs past the end of data");
  r.born_host = GetHost(born.data(), born_v6);
  r.store_host = GetHost(store.data(), store_v6);
  if (body_length < 0)
    return Fail(RecordStatus::kCorrupt, "negative BODYLENGTH");
  r.body = rd.Bytes(static_cast<size_t>(body_length));
  if (!rd.ok())
    return Fail(RecordStatus::kCorrupt, "body runs past the end of data");
  if (check_crc && Crc32R(r.body) != r.body_crc)
    return Fail(RecordStatus::kCorrupt, "body CRC mismatch");

  const bool v2 = r.magic == kMagicV2;
  const int topic_length = v2 ? rd.I16() : rd.I8();
  if (topic_length < 0)
    return Fail(RecordStatus::kCorrupt, "negative TOPICLENGTH");
  r.topic = AsStringView(rd.Bytes(static_cast<size_t>(topic_length)));
  const int16_t properties_length = rd.I16();
  if (properties_length < 0)
    return Fail(RecordStatus::kCorrupt, "negative PROPERTIESLENGTH");
  r.properties = AsStringView(rd.Bytes(static_cast<size_t>(properties_length)));
  if (!rd.ok())
    return Fail(RecordStatus::kCorrupt,
                "topic or properties run past the end of data");

  if (rd.pos() != static_cast<size_t>(total_size)) {
    return Fail(RecordStatus::kLengthMismatch,
                "TOTALSIZE disagrees with the field lengths", total_size);
  }
  c.status = RecordStatus::kOk;
  c.size = total_size;
  return c;
}

RecordCheckStatus CheckRecordForDispatch(std::span<const std::byte> in,
                                         DecodedRecord* record) {
  const RecordCheckStatus head = CheckHead(in);
  if (head.status != RecordStatus::kOk) return head;
  constexpr auto Corrupt = [](std::string_view error) {
    return RecordCheckStatus{RecordStatus::kCorrupt, -1, error};
  };
  // CheckRecord's checks in CheckRecord's order, each field read at its
  // offset: the hosts' sizes follow from SYSFLAG, every length is checked
  // against `in` before the bytes it covers are used.
  const std::byte* p = in.data();
  const size_t n = in.size();
  if (n < static_cast<size_t>(kSysFlagPos) + sizeof(int32_t))
    return Corrupt("header runs past the end of data");
  const int32_t sys_flag = LoadI32(p + kSysFlagPos);
  const size_t born =
      static_cast<size_t>(HostSize((sys_flag & sysflag::kBornHostV6) != 0));
  const size_t store =
      static_cast<size_t>(HostSize((sys_flag & sysflag::kStoreHostV6) != 0));
  const size_t store_ts_pos = static_cast<size_t>(kBornHostPos) + born;
  // BODYLENGTH follows STORETIMESTAMP, the store host, RECONSUMETIMES and
  // PREPAREDTXOFFSET.
  const size_t body_length_pos = store_ts_pos + 8 + store + 4 + 8;
  if (n < body_length_pos + sizeof(int32_t))
    return Corrupt("header runs past the end of data");
  const int32_t body_length = LoadI32(p + body_length_pos);
  if (body_length < 0) return Corrupt("negative BODYLENGTH");
  size_t pos = body_length_pos + sizeof(int32_t);
  if (n - pos < static_cast<size_t>(body_length))
    return Corrupt("body runs past the end of data");
  pos += static_cast<size_t>(body_length);

  const int32_t magic = LoadI32(p + 4);
  const size_t topic_length_size = magic == kMagicV2 ? 2 : 1;
  constexpr std::string_view kTopicOrPropertiesPast =
      "topic or properties run past the end of data";
  if (n - pos < topic_length_size) return Corrupt(kTopicOrPropertiesPast);
  const int topic_length =
      topic_length_size == 2 ? LoadI16(p + pos) : static_cast<int8_t>(p[pos]);
  if (topic_length < 0) return Corrupt("negative TOPICLENGTH");
  pos += topic_length_size;
  if (n - pos < static_cast<size_t>(topic_length) + sizeof(int16_t))
    return Corrupt(kTopicOrPropertiesPast);
  const size_t topic_pos = pos;
  pos += static_cast<size_t>(topic_length);
  const int16_t properties_length = LoadI16(p + pos);
  if (properties_length < 0) return Corrupt("negative PROPERTIESLENGTH");
  pos += sizeof(int16_t);
  if (n - pos < static_cast<size_t>(properties_length))
    return Corrupt(kTopicOrPropertiesPast);
  if (pos + static_cast<size_t>(properties_length) !=
      static_cast<size_t>(head.size)) {
    return {RecordStatus::kLengthMismatch, head.size,
            "TOTALSIZE disagrees with the field lengths"};
  }
  DecodedRecord& r = *record;
  r.total_size = head.size;
  r.magic = magic;
  r.queue_id = LoadI32(p + kQueueIdPos);
  r.queue_offset = LoadI64(p + kQueueOffsetPos);
  r.sys_flag = sys_flag;
  r.store_timestamp = LoadI64(p + store_ts_pos);
  r.topic = std::string_view(reinterpret_cast<const char*>(p + topic_pos),
                             static_cast<size_t>(topic_length));
  r.properties = std::string_view(reinterpret_cast<const char*>(p + pos),
                                  static_cast<size_t>(properties_length));
  return head;
}

}  // namespace thruster::message
