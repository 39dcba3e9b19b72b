#pragma once

// Request signing of RocketMQ's plain ACL (spec/remoting.md §7.1, acl.md §4.2):
// a client adds `AccessKey` (and any other ext fields it signs), then
// `Signature` = Base64(HMAC-SHA1(secretKey, values of every ext field but
// `Signature`, sorted by name, concatenated, then the body)). The broker
// recomputes the same over the fields it received. Shared by the broker's
// validator and every client (our own, the admin tool, the benchmarks).

#include <span>
#include <string>
#include <string_view>

#include "remoting/remoting_command.h"

namespace thruster::remoting {

inline constexpr std::string_view kAclAccessKey = "AccessKey";
inline constexpr std::string_view kAclSignature = "Signature";
inline constexpr std::string_view kAclSecurityToken = "SecurityToken";
// Clients of version <= 399 add this field after signing (acl.md §4.2).
inline constexpr std::string_view kAclUniqueKeyQuery = "_UNIQUE_KEY_QUERY";
inline constexpr int32_t kAclLastVersionSigningWithoutUniqueKeyQuery = 399;

// Base64(HMAC-SHA1(secret_key, content)), standard alphabet with padding.
std::string HmacSha1Base64(std::string_view secret_key,
                           std::span<const std::byte> content);

// The signature of `cmd` under `secret_key`: over all its ext fields except
// `Signature` (and, when `skip_unique_key_query`, `_UNIQUE_KEY_QUERY`), in
// name order, values only, then body() and every body segment.
std::string ComputeAclSignature(std::string_view secret_key,
                                const RemotingCommand& cmd,
                                bool skip_unique_key_query = false);

// What the broker compares with: the signature of a received request, leaving
// `_UNIQUE_KEY_QUERY` out for clients of version <= 399.
std::string ComputeRequestSignature(std::string_view secret_key,
                                    const RemotingCommand& request);

// Adds `AccessKey` and `Signature` to `cmd` (as Java's AclClientRPCHook does);
// call after every other ext field and the body are final.
void SignRequest(RemotingCommand& cmd, std::string_view access_key,
                 std::string_view secret_key);

// Compares two signatures in time that depends only on their lengths
// (CRYPTO_memcmp), so a caller cannot learn a prefix by timing.
bool SignaturesEqual(std::string_view a, std::string_view b);

}  // namespace thruster::remoting
