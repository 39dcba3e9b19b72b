#pragma once

// RocketMQ's plain_acl.yml (spec/acl.md §2): the global white list and the
// accounts, read with yaml-cpp and written back by the ACL admin commands
// (§8). Parsing keeps RocketMQ's rules: keys and secrets of at least 7
// characters, `name=perm` entries that split into exactly two parts, valid
// address patterns; anything else fails the whole file. A plain value.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace thruster::broker::acl {

// Permission bits (acl.md §4.3, RocketMQ's Permission).
namespace perm {
inline constexpr uint8_t kDeny = 1;
inline constexpr uint8_t kAny = 2;
inline constexpr uint8_t kPub = 4;
inline constexpr uint8_t kSub = 8;

// "DENY", "PUB", "SUB", "PUB|SUB", "SUB|PUB" (trimmed, case-sensitive);
// anything else is DENY.
uint8_t Parse(std::string_view text);
// "PUB", "SUB", "PUB|SUB", "ANY" or "DENY", for messages.
std::string Name(uint8_t bits);
// RocketMQ's Permission.checkPermission: never with DENY owned; ANY needs PUB
// or SUB; otherwise one common bit.
bool Check(uint8_t needed, uint8_t owned);
}  // namespace perm

inline constexpr size_t kMinAclKeyLength = 7;
inline constexpr std::string_view kRetryGroupTopicPrefix = "%RETRY%";

struct PlainAccessAccount {
  std::string access_key;
  std::string secret_key;
  std::string white_remote_address;
  bool admin = false;
  std::string default_topic_perm;  // as written; empty = absent (DENY)
  std::string default_group_perm;
  // "name=perm" entries as written.
  std::vector<std::string> topic_perms;
  std::vector<std::string> group_perms;
};

struct AclDataVersion {
  int64_t counter = 0;
  int64_t timestamp = 0;
};

struct PlainAclConfig {
  std::vector<std::string> global_white_remote_addresses;
  std::vector<PlainAccessAccount> accounts;
  AclDataVersion data_version;

  // InvalidArgument (with the reason, never a secret) for YAML syntax errors
  // and for entries RocketMQ refuses. An empty document is an empty config.
  static Result<PlainAclConfig> Parse(std::string_view yaml);
  // The YAML text; Parse(Encode()) gives back this config.
  std::string Encode() const;
  // The account with this key, or nullptr.
  const PlainAccessAccount* Find(std::string_view access_key) const;
};

// Splits "name=perm" (acl.md §2.1); InvalidArgument when it does not split
// into exactly two parts.
Result<std::pair<std::string, uint8_t>> ParseResourcePerm(
    std::string_view entry);

}  // namespace thruster::broker::acl
