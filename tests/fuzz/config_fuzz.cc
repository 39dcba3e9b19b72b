// The broker.conf reader (common/properties.h) and the store's settings read
// from it (MessageStoreConfig::FromProperties): any text parses; every typed
// getter either converts or names the key in its error; the store config is
// built or refused with an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/properties.h"
#include "store/message_store_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  thruster::Properties props = thruster::Properties::Parse(text);
  for (const auto& [key, value] : props.values()) {
    auto s = props.GetString(key, "");
    TH_FUZZ_CHECK(s.ok() && *s == value);
    auto i = props.GetInt(key, 0);
    if (!i.ok())
      TH_FUZZ_CHECK(i.status().ToString().find(key) != std::string::npos);
    auto b = props.GetBool(key, false);
    if (!b.ok())
      TH_FUZZ_CHECK(b.status().ToString().find(key) != std::string::npos);
    auto d = props.GetDouble(key, 0);
    if (!d.ok())
      TH_FUZZ_CHECK(d.status().ToString().find(key) != std::string::npos);
  }
  auto config = thruster::store::MessageStoreConfig::FromProperties(props);
  (void)config;
  return 0;
}
