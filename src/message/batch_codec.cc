#include "message/batch_codec.h"

#include <fmt/format.h>

#include <limits>

#include "common/coding.h"

namespace thruster::message {
namespace {

Status BadEntry(int index, std::string_view what) {
  return Status::InvalidArgument(fmt::format("batch entry {} {}", index, what));
}

}  // namespace

Status EncodeBatchEntry(const BatchEntry& e, std::string* out) {
  if (e.properties.size() > static_cast<size_t>(INT16_MAX))
    return Status::InvalidArgument("properties longer than 32767 bytes");
  const size_t total =
      kBatchEntryFixedSize + e.body.size() + e.properties.size();
  if (total > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return Status::InvalidArgument("batch entry larger than 2 GiB");
  out->reserve(out->size() + total);
  ByteWriter w(out);
  w.I32(static_cast<int32_t>(total));
  w.I32(0);  // MAGICCODE
  w.I32(0);  // BODYCRC
  w.I32(e.flag);
  w.I32(static_cast<int32_t>(e.body.size()));
  w.Bytes(e.body);
  w.I16(static_cast<int16_t>(e.properties.size()));
  w.Bytes(e.properties);
  return Status::OK();
}

Result<BatchEntry> BatchReader::Next() {
  const size_t left = batch_.size() - pos_;
  if (left < static_cast<size_t>(kBatchEntryFixedSize))
    return BadEntry(index_, "is truncated");
  const std::byte* p = batch_.data() + pos_;
  const int32_t total = LoadI32(p);
  const int32_t body_len = LoadI32(p + kBatchEntryBodyLengthPos);
  if (total < kBatchEntryFixedSize || static_cast<size_t>(total) > left ||
      body_len < 0 || body_len > total - kBatchEntryFixedSize) {
    return BadEntry(index_, "has a bad length");
  }
  // In bounds: kBatchEntryBodyPos + body_len + 2 <= total <= left.
  const size_t props_len_pos =
      kBatchEntryBodyPos + static_cast<size_t>(body_len);
  const int16_t props_len = LoadI16(p + props_len_pos);
  if (props_len < 0 ||
      int64_t{kBatchEntryFixedSize} + body_len + props_len != total)
    return BadEntry(index_, "has a bad properties length");

  BatchEntry e;
  e.flag = LoadI32(p + kBatchEntryFlagPos);
  e.body =
      batch_.subspan(pos_ + kBatchEntryBodyPos, static_cast<size_t>(body_len));
  e.properties = AsStringView(batch_.subspan(
      pos_ + props_len_pos + sizeof(int16_t), static_cast<size_t>(props_len)));
  pos_ += static_cast<size_t>(total);
  ++index_;
  return e;
}

Status CheckBatchSize(std::span<const std::byte> batch, int64_t max_size) {
  if (batch.empty()) return Status::InvalidArgument("empty batch");
  if (static_cast<int64_t>(batch.size()) > max_size) {
    return Status::InvalidArgument(fmt::format(
        "batch of {} bytes exceeds maxMessageSize {}", batch.size(), max_size));
  }
  return Status::OK();
}

Status ValidateBatch(std::span<const std::byte> batch, int64_t max_size) {
  return ForEachBatchEntry(batch, max_size,
                           [](const BatchEntry&) { return Status::OK(); });
}

}  // namespace thruster::message
