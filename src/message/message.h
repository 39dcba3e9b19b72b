#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "message/host_address.h"

// The message model the store appends (MessageToStore) and the metadata codes
// around it: sysflag bits (store spec §2.4) and jhash/tagsCode (§0, §4.2). The
// properties codec is message/properties.h, the offset message id
// message/message_id.h, the record layout message/commit_log_format.h.
namespace thruster::message {

namespace sysflag {
inline constexpr int32_t kCompressed = 0x1;
inline constexpr int32_t kMultiTags = 0x2;
inline constexpr int32_t kTransactionNotType = 0x0;
inline constexpr int32_t kTransactionPreparedType = 0x4;
inline constexpr int32_t kTransactionCommitType = 0x8;
inline constexpr int32_t kTransactionRollbackType = 0xC;
inline constexpr int32_t kTransactionMask = 0xC;
inline constexpr int32_t kBornHostV6 = 0x10;
inline constexpr int32_t kStoreHostV6 = 0x20;
inline constexpr int32_t kNeedUnwrap = 0x40;
inline constexpr int32_t kInnerBatch = 0x80;
inline constexpr int32_t kCompressionMask = 0x700;
inline int32_t TransactionType(int32_t flag) { return flag & kTransactionMask; }
}  // namespace sysflag

// Java String.hashCode over the UTF-16 code units of a UTF-8 string.
int32_t JHash(std::string_view s);
// tagsCode for a consume-queue unit (§4.2): jhash(TAGS), 0 without tags.
// (Delivery-time codes of SCHEDULE_TOPIC_XXXX are the broker's business.)
int64_t TagsCode(std::optional<std::string_view> tags);

// A message on its way into the CommitLog ("MessageExtBrokerInner"): everything
// but the fields assigned in the put lock (queue offset, phys offset, store
// timestamp). Views; the caller owns the bytes.
struct MessageToStore {
  std::string_view topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;  // the v6 bits are derived from the hosts when encoding
  std::span<const std::byte> body;
  std::string_view properties;  // encoded (§2.3, message/properties.h)
  int64_t born_timestamp = 0;
  HostAddress born_host;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
};

}  // namespace thruster::message
