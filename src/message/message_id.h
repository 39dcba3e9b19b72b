#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "message/host_address.h"

// The offset message id ("offsetMsgId", store spec §2.6, remoting spec §5.8):
// upper-case hex of
//   store-host address (4 or 16 bytes) ‖ store port (i32) ‖ phys offset (i64)
// big-endian: 32 hex chars for an IPv4 store host, 56 for IPv6. The broker
// answers a send with it; VIEW_MESSAGE_BY_ID and END_TRANSACTION carry it back.
// (The client's UNIQ_KEY is a different id: message/uniq_key.h.)
namespace thruster::message {

inline constexpr size_t kMessageIdLengthV4 = 2 * (4 + 4 + 8);
inline constexpr size_t kMessageIdLengthV6 = 2 * (16 + 4 + 8);
static_assert(kMessageIdLengthV4 == 32 && kMessageIdLengthV6 == 56);

std::string CreateMessageId(const HostAddress& store_host, int64_t phys_offset);

struct MessageIdParts {
  HostAddress store_host;
  int64_t phys_offset = 0;
};
// 32 hex chars → IPv4, 56 → IPv6; anything else, or a non-hex char, is
// InvalidArgument.
Result<MessageIdParts> DecodeMessageId(std::string_view id);

}  // namespace thruster::message
