#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

// The message model the store appends and the helpers around RocketMQ's message
// metadata: host addresses, the properties string (store spec §2.3), sysflag
// bits (§2.4), jhash/tagsCode (§0, §4.2) and the offset message id (§2.6).
namespace thruster::store {

// An IPv4 or IPv6 socket address as RocketMQ writes it: address bytes then the
// port as i32.
struct HostAddress {
  std::array<uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes
  bool v6 = false;
  int32_t port = 0;

  static HostAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                        int32_t port);
  // Parses "1.2.3.4:10911" or "[::1]:10911".
  static Result<HostAddress> Parse(std::string_view s);
  int size() const { return v6 ? 20 : 8; }  // bytes in a record
  std::string ToString() const;             // "1.2.3.4:10911"
  bool operator==(const HostAddress&) const = default;
};

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

// Well-known property names (RocketMQ's MessageConst).
namespace prop {
inline constexpr std::string_view kTags = "TAGS";
inline constexpr std::string_view kKeys = "KEYS";
inline constexpr std::string_view kUniqKey = "UNIQ_KEY";
inline constexpr std::string_view kDelay = "DELAY";
inline constexpr std::string_view kWait = "WAIT";
inline constexpr std::string_view kRealTopic = "REAL_TOPIC";
inline constexpr std::string_view kRealQueueId = "REAL_QID";
inline constexpr std::string_view kMinOffset = "MIN_OFFSET";
inline constexpr std::string_view kMaxOffset = "MAX_OFFSET";
inline constexpr std::string_view kCrc32 = "__CRC32#";
}  // namespace prop

inline constexpr char kNameValueSeparator = 0x01;
inline constexpr char kPropertySeparator = 0x02;

// Properties string codec (§2.3). Encode writes `name 0x01 value 0x02` for
// every pair (empty values skipped).
std::string EncodeProperties(
    const std::map<std::string, std::string, std::less<>>& props);
// Parse follows string2messageProperties: segments < 3 bytes ignored, empty
// names/values dropped, later duplicates win.
std::map<std::string, std::string, std::less<>> ParseProperties(
    std::string_view s);
// Finds one property without allocating (the last occurrence wins, as in
// ParseProperties).
std::optional<std::string_view> FindProperty(std::string_view props,
                                             std::string_view name);

// Java String.hashCode over the UTF-16 code units of a UTF-8 string.
int32_t JHash(std::string_view s);
// tagsCode for a consume-queue unit (§4.2): jhash(TAGS), 0 without tags.
// (Delivery-time codes of SCHEDULE_TOPIC_XXXX are the broker's business.)
int64_t TagsCode(std::optional<std::string_view> tags);

// msgId = uppercase hex of store-host address ‖ port (i32) ‖ phys offset (i64)
// (§2.6).
std::string CreateMessageId(const HostAddress& store_host, int64_t phys_offset);
struct MessageIdParts {
  HostAddress store_host;
  int64_t phys_offset = 0;
};
// 32 hex chars → IPv4, 56 → IPv6; anything else, or a non-hex char, is
// InvalidArgument.
Result<MessageIdParts> DecodeMessageId(std::string_view id);

// A message on its way into the CommitLog ("MessageExtBrokerInner"): everything
// but the fields assigned in the put lock (queue offset, phys offset, store
// timestamp). Views; the caller owns the bytes.
struct MessageToStore {
  std::string_view topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;  // the v6 bits are derived from the hosts when encoding
  std::span<const std::byte> body;
  std::string_view properties;  // encoded (§2.3)
  int64_t born_timestamp = 0;
  HostAddress born_host;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
};

}  // namespace thruster::store
