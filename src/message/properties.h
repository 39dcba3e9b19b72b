#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

// A message's properties string (store spec §2.3): `name 0x01 value 0x02` for
// every pair, in the record's PROPERTIES field, a batch entry's PROPERTIES and
// the send header's `properties`.
namespace thruster::message {

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

// Appends one pair as `name 0x01 value 0x02`, the way EncodeProperties writes
// it; a pair with an empty name or value is left out (ParseProperties would
// drop it).
void AppendProperty(std::string* props, std::string_view name,
                    std::string_view value);
// Encode writes `name 0x01 value 0x02` for every pair (empty values skipped).
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

}  // namespace thruster::message
