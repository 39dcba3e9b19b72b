// The JSON reader (remoting/json.h) and the JSON remoting header: json::Parse,
// then what it wrote must parse to the same value; DecodeJsonHeader (the
// one-pass decoder) must agree with DecodeJsonHeaderWithParser on every input
// both accept.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "remoting/frame_codec.h"
#include "remoting/json.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace remoting = thruster::remoting;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto v = remoting::json::Parse(text);
  if (v.ok()) {
    std::string written = remoting::json::Write(*v);
    auto reread = remoting::json::Parse(written);
    TH_FUZZ_CHECK(reread.ok());
    TH_FUZZ_CHECK(*reread == *v);
  }

  remoting::RemotingCommand fast;
  remoting::RemotingCommand slow;
  thruster::Status fs = remoting::DecodeJsonHeader(text, &fast);
  thruster::Status ss = remoting::DecodeJsonHeaderWithParser(text, &slow);
  if (fs.ok() && ss.ok()) {
    TH_FUZZ_CHECK(fast.code() == slow.code());
    TH_FUZZ_CHECK(fast.language() == slow.language());
    TH_FUZZ_CHECK(fast.version() == slow.version());
    TH_FUZZ_CHECK(fast.opaque() == slow.opaque());
    TH_FUZZ_CHECK(fast.flag() == slow.flag());
    TH_FUZZ_CHECK(fast.remark() == slow.remark());
    TH_FUZZ_CHECK(fast.ext_fields() == slow.ext_fields());
  }
  return 0;
}
