// Remoting frames (remoting/frame_codec.h): PeekFrameSize, then DecodeFrame of
// the input as one frame. Whatever decodes must encode again and decode to the
// same command (code, language, version, opaque, flag, remark, extFields,
// body), in its own serialize type.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "remoting/frame_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool SameFrameCommand(const thruster::remoting::RemotingCommand& a,
                      const thruster::remoting::RemotingCommand& b) {
  return a.code() == b.code() && a.language() == b.language() &&
         a.version() == b.version() && a.opaque() == b.opaque() &&
         a.flag() == b.flag() && a.remark() == b.remark() &&
         a.ext_fields() == b.ext_fields() &&
         std::ranges::equal(a.body(), b.body()) &&
         a.serialize_type() == b.serialize_type();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using thruster::remoting::DecodeFrame;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto peek = thruster::remoting::PeekFrameSize(in);
  if (peek.ok() && *peek != 0) TH_FUZZ_CHECK(*peek >= 8);
  auto cmd = DecodeFrame(in);
  if (!cmd.ok()) return 0;
  TH_FUZZ_CHECK(peek.ok() && *peek == size);
  auto again = thruster::remoting::EncodeFrame(*cmd);
  if (!again.ok()) return 0;  // a binary header cannot carry every JSON value
  auto back = DecodeFrame(std::as_bytes(std::span(*again)));
  TH_FUZZ_CHECK(back.ok());
  TH_FUZZ_CHECK(SameFrameCommand(*cmd, *back));
  return 0;
}
