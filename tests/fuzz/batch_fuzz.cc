// The producer batch decoder (message/batch_codec.h): every entry of a valid
// batch lies inside it, the entries tile it exactly, and re-encoding them gives
// the same bytes back except MAGICCODE and BODYCRC (which the encoder writes as
// 0, as clients do).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/coding.h"
#include "message/batch_codec.h"
#include "message/properties.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace message = thruster::message;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  std::string again;
  size_t entries = 0;
  thruster::Status s = message::ForEachBatchEntry(
      in, 4 * 1024 * 1024, [&](const message::BatchEntry& e) {
        TH_FUZZ_CHECK(e.body.empty() ||
                      (e.body.data() >= in.data() &&
                       e.body.data() + e.body.size() <= in.data() + in.size()));
        TH_FUZZ_CHECK(message::EncodeBatchEntry(e, &again).ok());
        message::ParseProperties(e.properties);
        ++entries;
        return thruster::Status::OK();
      });
  if (!s.ok()) {
    TH_FUZZ_CHECK(!message::ValidateBatch(in, 4 * 1024 * 1024).ok());
    return 0;
  }
  TH_FUZZ_CHECK(entries > 0);
  TH_FUZZ_CHECK(again.size() == size);
  // Clear MAGICCODE and BODYCRC of every input entry, then compare.
  std::string expected(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos < expected.size()) {
    auto* p = reinterpret_cast<std::byte*>(expected.data() + pos);
    int32_t total = thruster::LoadI32(p);
    thruster::StoreI32(p + 4, 0);
    thruster::StoreI32(p + 8, 0);
    pos += static_cast<size_t>(total);
  }
  TH_FUZZ_CHECK(again == expected);
  return 0;
}
