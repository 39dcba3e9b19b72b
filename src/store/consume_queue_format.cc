#include "store/consume_queue_format.h"

#include <fmt/format.h>

#include "common/check.h"
#include "common/coding.h"

namespace thruster::store::cq_format {

int64_t RoundFileSize(int64_t configured) {
  constexpr auto kUnit = static_cast<int64_t>(kEntrySize);
  if (configured < kUnit) return kUnit;
  return (configured + kUnit - 1) / kUnit * kUnit;
}

void EncodeEntry(const Entry& e, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kEntrySize,
           "consume queue entry needs {} bytes, got {}", kEntrySize,
           out.size());
  StoreI64(out.data() + kPhysOffsetPos, e.phys_offset);
  StoreI32(out.data() + kSizePos, e.size);
  StoreI64(out.data() + kTagsCodePos, e.tags_code);
}

Result<Entry> DecodeEntry(std::span<const std::byte> in) {
  if (in.size() < kEntrySize) {
    return Status::InvalidArgument(fmt::format(
        "consume queue entry needs {} bytes, got {}", kEntrySize, in.size()));
  }
  return Entry{LoadI64(in.data() + kPhysOffsetPos),
               LoadI32(in.data() + kSizePos),
               LoadI64(in.data() + kTagsCodePos)};
}

}  // namespace thruster::store::cq_format
