#pragma once

// Remoting frames (spec/remoting.md §1.2). Big-endian.
//   0          4                    8                     8+H
//   +----------+--------------------+---------------------+----------------+
//   |  length  | type(1) | H (24b)  | header (H bytes)    | body           |
//   |   i32    |   headerLengthWord |  JSON or binary     | length - 4 - H |
//   +----------+--------------------+---------------------+----------------+
// length   bytes after this field: 4 + H + body length. The body length is
// never sent. type     0 = JSON header (§1.3), 1 = ROCKETMQ binary header
// (§1.4) No checksum, magic or padding; a frame ends where `length` says.
//
// Binary header (§1.4):
//   code i16 | language i8 | version i16 | opaque i32 | flag i32 | remarkLen
//   i32 | remark | extLen i32 | ext entries (keyLen i16, key, valueLen i32,
//   value)...
// Empty strings decode as absent there; a key appearing twice keeps the later
// value.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "remoting/remoting_command.h"

namespace thruster::remoting {

inline constexpr size_t kLengthFieldSize = 4;
inline constexpr size_t kHeaderLengthWordSize = 4;
// Largest header the 24-bit header length can express.
inline constexpr size_t kMaxHeaderLength = 0xFFFFFF;
// RocketMQ's default frameMaxLength: the largest value of the `length` field we
// accept (§1.2).
inline constexpr size_t kDefaultMaxFrameLength = 16 * 1024 * 1024;
// Fixed part of a binary header (§1.4).
inline constexpr size_t kBinaryHeaderFixedSize = 2 + 1 + 2 + 4 + 4 + 4 + 4;
static_assert(kBinaryHeaderFixedSize == 21);

// Looks at the start of a byte stream. Returns 0 while fewer than 4 bytes are
// available, otherwise the size of the whole frame (4 + length).
// InvalidArgument when `length` is below 4 (no room for the header-length word)
// or above `max_frame_length`: the caller closes the connection.
Result<size_t> PeekFrameSize(std::span<const std::byte> stream,
                             size_t max_frame_length = kDefaultMaxFrameLength);

// Decodes exactly one frame, length prefix included. Corruption when the bytes
// are shorter than the prefix says ("truncated frame"), longer ("trailing
// bytes"), the header length points beyond the frame, the serialize type is
// unknown, or the header does not parse. The result's serialize_type() is the
// frame's.
Result<RemotingCommand> DecodeFrame(std::span<const std::byte> frame);
// The same for the bytes after the length prefix (`length` bytes).
Result<RemotingCommand> DecodeFramePayload(std::span<const std::byte> payload);

// Appends the length prefix, header-length word, header (in
// cmd.serialize_type()) and cmd.body(). The length field also counts
// cmd.body_segments(), which the caller writes right after these bytes.
// InvalidArgument when the header exceeds 24 bits, a binary header cannot
// express the code or version (> 32767), or the frame would exceed INT32_MAX.
Status EncodeFramePrefix(const RemotingCommand& cmd, std::string* out);
// The whole frame as one string, body segments copied in (tests, cold paths).
Result<std::string> EncodeFrame(const RemotingCommand& cmd);

// Header codecs, exposed for tests and tools.
// Compact JSON, members alphabetical like Java writes them, every ext value a
// JSON string, remark omitted when empty, extFields omitted when empty.
void EncodeJsonHeader(const RemotingCommand& cmd, std::string* out);
// Fills the header fields of `cmd` from JSON text (leniency of §1.3: any member
// order, unknown members, numeric/boolean ext values coerced to text, null ext
// values dropped, surrounding whitespace).
Status DecodeJsonHeader(std::string_view text, RemotingCommand* cmd);
// The same through the general JSON reader (json::Parse). DecodeJsonHeader
// decodes the usual shapes in one pass and falls back to this for the rest;
// exposed so tests can check that both agree.
Status DecodeJsonHeaderWithParser(std::string_view text, RemotingCommand* cmd);
Status EncodeBinaryHeader(const RemotingCommand& cmd, std::string* out);
Status DecodeBinaryHeader(std::span<const std::byte> header,
                          RemotingCommand* cmd);

}  // namespace thruster::remoting
