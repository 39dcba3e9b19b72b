#include "store/index_file_format.h"

#include <fmt/format.h>

#include <limits>

#include "common/check.h"
#include "common/coding.h"
#include "message/jhash.h"
#include "message/message.h"

namespace thruster::store::index_format {

namespace {

// |h|, with |i32 min| read as 0 (spec §5.1).
int32_t IndexHashFromJHash(int32_t h) {
  if (h == std::numeric_limits<int32_t>::min()) return 0;
  return h < 0 ? -h : h;
}

}  // namespace

int32_t IndexHash(std::string_view key) {
  return IndexHashFromJHash(message::JHash(key));
}

int32_t IndexHashOf(int32_t topic_hash, std::string_view key) {
  // "#" is ASCII, so the topic's last UTF-8 sequence ends before it.
  return IndexHashFromJHash(
      message::JHashContinue(message::JHashContinue(topic_hash, "#"), key));
}

std::string BuildKey(std::string_view topic, std::string_view key) {
  std::string out;
  out.reserve(topic.size() + 1 + key.size());
  out.append(topic);
  out.push_back('#');
  out.append(key);
  return out;
}

int32_t TimeDiffSeconds(int64_t store_timestamp, int64_t begin_timestamp) {
  if (begin_timestamp <= 0) return 0;
  int64_t diff = (store_timestamp - begin_timestamp) / 1000;
  if (diff < 0) return 0;
  if (diff > std::numeric_limits<int32_t>::max())
    return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(diff);
}

void EncodeHeader(const Header& h, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kHeaderSize, "index header needs {} bytes, got {}",
           kHeaderSize, out.size());
  std::byte* p = out.data();
  StoreI64(p + kBeginTimestampPos, h.begin_timestamp);
  StoreI64(p + kEndTimestampPos, h.end_timestamp);
  StoreI64(p + kBeginPhysOffsetPos, h.begin_phys_offset);
  StoreI64(p + kEndPhysOffsetPos, h.end_phys_offset);
  StoreI32(p + kHashSlotCountPos, h.hash_slot_count);
  StoreI32(p + kIndexCountPos, h.index_count);
}

Result<Header> DecodeHeader(std::span<const std::byte> in) {
  if (in.size() < kHeaderSize) {
    return Status::InvalidArgument(fmt::format(
        "index header needs {} bytes, got {}", kHeaderSize, in.size()));
  }
  const std::byte* p = in.data();
  return Header{
      LoadI64(p + kBeginTimestampPos),  LoadI64(p + kEndTimestampPos),
      LoadI64(p + kBeginPhysOffsetPos), LoadI64(p + kEndPhysOffsetPos),
      LoadI32(p + kHashSlotCountPos),   LoadI32(p + kIndexCountPos)};
}

void EncodeEntry(const Entry& e, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kEntrySize, "index entry needs {} bytes, got {}",
           kEntrySize, out.size());
  std::byte* p = out.data();
  StoreI32(p + kKeyHashPos, e.key_hash);
  StoreI64(p + kPhysOffsetPos, e.phys_offset);
  StoreI32(p + kTimeDiffPos, e.time_diff);
  StoreI32(p + kPrevIndexPos, e.prev_index);
}

Result<Entry> DecodeEntry(std::span<const std::byte> in) {
  if (in.size() < kEntrySize) {
    return Status::InvalidArgument(fmt::format(
        "index entry needs {} bytes, got {}", kEntrySize, in.size()));
  }
  const std::byte* p = in.data();
  return Entry{LoadI32(p + kKeyHashPos), LoadI64(p + kPhysOffsetPos),
               LoadI32(p + kTimeDiffPos), LoadI32(p + kPrevIndexPos)};
}

}  // namespace thruster::store::index_format
