#pragma once

// REGISTER_BROKER's body (spec/remoting.md §3.5.1) in its two forms.
//
// Plain (default): JSON RegisterBrokerBody
//   {"filterServerList":[...],"topicConfigSerializeWrapper":{"dataVersion":{...},"topicConfigTable":{...}}}
//
// Compressed (`compressed=true`): one zlib stream (RFC 1950) whose inflated
// bytes are, big-endian:
//   i32 len | DataVersion JSON
//   i32 topic count
//   per topic: i32 len | "topicName readQueueNums writeQueueNums perm
//   topicFilterType[ attributesJSON]" i32 len | filter server list JSON array
//   [5.x, broker version >= 413] static-topic mappings: ignored by this decoder
//   (not produced by Thruster)
// topicSysFlag and order are not transmitted in the compressed form.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "remoting/route_data.h"

namespace thruster::remoting {

struct RegisterBrokerBody {
  DataVersion data_version;
  std::vector<TopicConfig> topic_configs;
  std::vector<std::string> filter_server_list;

  std::string EncodeJson() const;
  // The zlib-compressed form (level 9, like RocketMQ). Attributes are appended
  // only when a topic has some. InvalidArgument when a topic name or filter
  // type is empty or holds a space (the form's field separator).
  Result<std::string> EncodeCompressed() const;

  // InvalidArgument for bodies that do not parse. A compressed body inflating
  // beyond 256 MiB is refused.
  static Result<RegisterBrokerBody> DecodeJson(std::string_view body);
  static Result<RegisterBrokerBody> DecodeCompressed(
      std::span<const std::byte> body);
  // Picks the form: `compressed` from the header, but a body that starts with a
  // zlib header (0x78) rather than
  // '{' is inflated regardless (RocketMQ 5.x brokers send compressed bodies
  // with compressed=false, §10.9).
  static Result<RegisterBrokerBody> Decode(std::span<const std::byte> body,
                                           bool compressed);
};

}  // namespace thruster::remoting
