// The CommitLog record decoder (message/commit_log_format.h): walks the input
// record by record as recovery does, with and without the body CRC check. A
// valid record's views lie inside it, its size is TOTALSIZE, and it decodes
// the same from a span cut at its end. Properties go through the properties
// parser.

#include <cstddef>
#include <cstdint>
#include <span>

#include "message/commit_log_format.h"
#include "message/properties.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool InsideSpan(std::span<const std::byte> outer, const void* p, size_t n) {
  auto* b = static_cast<const std::byte*>(p);
  return n == 0 || (b >= outer.data() && b + n <= outer.data() + outer.size());
}

void WalkRecords(std::span<const std::byte> in, bool check_crc) {
  using thruster::message::RecordStatus;
  size_t pos = 0;
  while (pos < in.size()) {
    std::span<const std::byte> rest = in.subspan(pos);
    auto c = thruster::message::CheckRecord(rest, check_crc);
    if (c.status == RecordStatus::kBlank) {
      TH_FUZZ_CHECK(c.size >= 8);
      pos += static_cast<size_t>(c.size);  // the segment's data ends; go on
      continue;
    }
    if (c.status == RecordStatus::kLengthMismatch) {
      TH_FUZZ_CHECK(c.size > 0 && static_cast<size_t>(c.size) <= rest.size());
      pos += static_cast<size_t>(c.size);
      continue;
    }
    if (c.status != RecordStatus::kOk) {
      TH_FUZZ_CHECK(c.size == -1);
      return;
    }
    TH_FUZZ_CHECK(c.size > 0 && static_cast<size_t>(c.size) <= rest.size());
    TH_FUZZ_CHECK(c.record.total_size == c.size);
    std::span<const std::byte> rec = rest.first(static_cast<size_t>(c.size));
    TH_FUZZ_CHECK(InsideSpan(rec, c.record.body.data(), c.record.body.size()));
    TH_FUZZ_CHECK(
        InsideSpan(rec, c.record.topic.data(), c.record.topic.size()));
    TH_FUZZ_CHECK(InsideSpan(rec, c.record.properties.data(),
                             c.record.properties.size()));
    auto exact = thruster::message::CheckRecord(rec, check_crc);
    TH_FUZZ_CHECK(exact.status == RecordStatus::kOk && exact.size == c.size);
    auto props = thruster::message::ParseProperties(c.record.properties);
    for (const auto& [name, value] : props) {
      auto found = thruster::message::FindProperty(c.record.properties, name);
      TH_FUZZ_CHECK(found.has_value() && *found == value);
    }
    pos += static_cast<size_t>(c.size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  WalkRecords(in, /*check_crc=*/false);
  WalkRecords(in, /*check_crc=*/true);
  return 0;
}
