// A message's properties string (message/properties.h): FindProperty agrees
// with ParseProperties on every parsed name, and what EncodeProperties writes
// parses back to the same map.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "message/properties.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace message = thruster::message;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto props = message::ParseProperties(text);
  for (const auto& [name, value] : props) {
    TH_FUZZ_CHECK(!name.empty() && !value.empty());
    auto found = message::FindProperty(text, name);
    TH_FUZZ_CHECK(found.has_value() && *found == value);
  }
  std::string encoded = message::EncodeProperties(props);
  TH_FUZZ_CHECK(message::ParseProperties(encoded) == props);
  return 0;
}
