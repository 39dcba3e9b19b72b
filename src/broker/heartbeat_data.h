#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "remoting/json.h"

// HEART_BEAT's body (spec/remoting.md §3.4.6, §4.3): the client's producer and
// consumer groups with each consumer group's subscriptions, as the Java, C++
// and Go clients send it. Plain values, decoded from untrusted bytes; the
// ClientManager (client_manager.h) keeps what they register.
namespace thruster::broker {

inline constexpr std::string_view kExpressionTypeSql92 = "SQL92";

// One subscription of a consumer group (SubscriptionData, §3.3): a TAG
// expression, or an SQL92 one (kept as text, no tags).
struct SubscriptionData {
  std::string topic;
  std::string sub_string = "*";
  std::vector<std::string> tags;  // empty for "*"
  std::vector<int64_t> codes;     // jhash of each tag
  int64_t sub_version = 0;
  std::string expression_type = "TAG";

  bool MatchesAll() const { return tags.empty(); }
  // TAG: split on "||", trim, drop empties; "*" or empty means all.
  // InvalidArgument for SQL92 or other expression types (SQL92 goes through
  // Sql92(), and only where property filtering is enabled).
  static Result<SubscriptionData> Build(std::string_view topic,
                                        std::string_view sub_string,
                                        std::string_view expression_type);
  // An SQL92 subscription: the trimmed text, no tags (compiled and matched
  // against properties where it is used, broker/filter/sql_filter.h).
  static SubscriptionData Sql92(std::string_view topic, std::string_view text);
  // Lenient JSON reader (§4.3): C++ sends subVersion as a string and omits
  // tagsSet/codeSet.
  static SubscriptionData FromJson(const remoting::json::Value& v);
  remoting::json::Value ToJson() const;
};

struct ConsumerData {
  std::string group_name;
  std::string
      consume_type;  // CONSUME_ACTIVELY / CONSUME_PASSIVELY / CONSUME_POP
  std::string message_model;       // BROADCASTING / CLUSTERING
  std::string consume_from_where;  // CONSUME_FROM_LAST_OFFSET, ...
  std::vector<SubscriptionData> subscriptions;
  // Enum members may come as names or as ordinals (C++ heartbeat, §3.4.6).
  static ConsumerData FromJson(const remoting::json::Value& v);
};

// HEART_BEAT's body.
struct HeartbeatData {
  std::string client_id;
  std::vector<std::string> producer_groups;
  std::vector<ConsumerData> consumers;
  static Result<HeartbeatData> Parse(std::string_view body);
};

}  // namespace thruster::broker
