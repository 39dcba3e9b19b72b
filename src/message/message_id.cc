#include "message/message_id.h"

#include <cstring>

#include "common/coding.h"
#include "common/hex.h"

namespace thruster::message {

std::string CreateMessageId(const HostAddress& store_host,
                            int64_t phys_offset) {
  uint8_t tail[12];
  StoreI32(tail, store_host.port);
  StoreI64(tail + 4, phys_offset);
  const size_t ip_len = store_host.v6 ? 16 : 4;
  // Written in place: this runs once per answered send.
  std::string out(2 * (ip_len + sizeof(tail)), '\0');
  WriteHexUpper(store_host.ip.data(), ip_len, out.data());
  WriteHexUpper(tail, sizeof(tail), out.data() + 2 * ip_len);
  return out;
}

Result<MessageIdParts> DecodeMessageId(std::string_view id) {
  size_t ip_len;
  if (id.size() == kMessageIdLengthV4) {
    ip_len = 4;
  } else if (id.size() == kMessageIdLengthV6) {
    ip_len = 16;
  } else {
    return Status::InvalidArgument("message id must be 32 or 56 hex chars");
  }
  uint8_t bytes[kMessageIdLengthV6 / 2];
  if (!ReadHex(id, bytes))
    return Status::InvalidArgument("non-hex char in message id");
  MessageIdParts parts;
  parts.store_host.v6 = ip_len == 16;
  std::memcpy(parts.store_host.ip.data(), bytes, ip_len);
  parts.store_host.port = LoadI32(bytes + ip_len);
  parts.phys_offset = LoadI64(bytes + ip_len + 4);
  return parts;
}

}  // namespace thruster::message
