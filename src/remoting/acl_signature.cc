#include "remoting/acl_signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <vector>

#include "common/check.h"

namespace thruster::remoting {
namespace {

// OpenSSL's HMAC implementation, fetched once: a fetch looks the algorithm up
// in the provider store under a lock, which OpenSSL 3's one-shot HMAC() does
// on every call.
EVP_MAC* AclFetchedHmac() {
  static EVP_MAC* const mac =
      EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  TH_CHECK(mac != nullptr, "OpenSSL offers no HMAC");
  return mac;
}

// HMAC-SHA1 contexts already keyed, one per secret key a thread signs or
// checks with (a client has one; a broker thread sees a few accounts). Keying
// hashes the key into the inner and outer pads; a keyed context is only reset
// for the next message (EVP_MAC_init without a key keeps the pads), so a
// signature costs the hashing of its own bytes and no allocation. At most
// kAclHmacCacheSize keys per thread, the least recently used one dropped.
// Confined to its thread (thread_local).
class AclHmacCache {
 public:
  AclHmacCache() = default;
  AclHmacCache(const AclHmacCache&) = delete;
  AclHmacCache& operator=(const AclHmacCache&) = delete;
  ~AclHmacCache() {
    for (Entry& e : entries_) Free(e);
  }

  // A context keyed with `secret_key`, reset and ready for EVP_MAC_update.
  EVP_MAC_CTX* Start(std::string_view secret_key) {
    auto it =
        std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
          return e.key.size() == secret_key.size() &&
                 CRYPTO_memcmp(e.key.data(), secret_key.data(), e.key.size()) ==
                     0;
        });
    if (it != entries_.end()) {
      std::rotate(entries_.begin(), it, it + 1);  // most recent first
      TH_CHECK(EVP_MAC_init(entries_.front().ctx, nullptr, 0, nullptr) == 1,
               "HMAC-SHA1 reset failed");
      return entries_.front().ctx;
    }
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(AclFetchedHmac());
    TH_CHECK(ctx != nullptr, "HMAC-SHA1 context allocation failed");
    char digest[] = "SHA1";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    // A non-null key pointer even for an empty key: null means "keep the key
    // already set", and there is none yet.
    static const unsigned char kEmpty = 0;
    const auto* key =
        secret_key.empty()
            ? &kEmpty
            : reinterpret_cast<const unsigned char*>(secret_key.data());
    TH_CHECK(EVP_MAC_init(ctx, key, secret_key.size(), params) == 1,
             "HMAC-SHA1 keying failed");
    if (entries_.size() == kAclHmacCacheSize) {
      Free(entries_.back());
      entries_.pop_back();
    }
    entries_.insert(entries_.begin(), Entry{std::string(secret_key), ctx});
    return ctx;
  }

 private:
  static constexpr size_t kAclHmacCacheSize = 4;
  struct Entry {
    std::string key;
    EVP_MAC_CTX* ctx;
  };
  // The context clears its own copy of the key; this clears ours.
  static void Free(Entry& e) {
    EVP_MAC_CTX_free(e.ctx);
    OPENSSL_cleanse(e.key.data(), e.key.size());
  }
  std::vector<Entry> entries_;
};

void AclHmacUpdate(EVP_MAC_CTX* ctx, const void* p, size_t n) {
  if (n == 0) return;
  TH_CHECK(EVP_MAC_update(ctx, static_cast<const unsigned char*>(p), n) == 1,
           "HMAC-SHA1 update failed");
}

std::string AclHmacFinishBase64(EVP_MAC_CTX* ctx) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  TH_CHECK(EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1,
           "HMAC-SHA1 final failed");
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                mac, static_cast<int>(mac_len));
  b64.resize(static_cast<size_t>(n));
  return b64;
}

EVP_MAC_CTX* AclStartHmac(std::string_view secret_key) {
  thread_local AclHmacCache cache;
  return cache.Start(secret_key);
}

}  // namespace

std::string HmacSha1Base64(std::string_view secret_key,
                           std::span<const std::byte> content) {
  EVP_MAC_CTX* ctx = AclStartHmac(secret_key);
  AclHmacUpdate(ctx, content.data(), content.size());
  return AclHmacFinishBase64(ctx);
}

// The HMAC input: the ext field values in name order (ExtFields is sorted by
// name in byte order, which is Java's TreeMap order for ASCII names), then the
// body bytes. The header's values are gathered into one thread-local buffer
// (one update rather than a dozen small ones); the body is hashed where it
// lies, not copied.
std::string ComputeAclSignature(std::string_view secret_key,
                                const RemotingCommand& cmd,
                                bool skip_unique_key_query) {
  thread_local std::string header_values;
  header_values.clear();
  for (const auto& [name, value] : cmd.ext_fields()) {
    if (name == kAclSignature) continue;
    if (skip_unique_key_query && name == kAclUniqueKeyQuery) continue;
    header_values += value;
  }
  EVP_MAC_CTX* ctx = AclStartHmac(secret_key);
  AclHmacUpdate(ctx, header_values.data(), header_values.size());
  AclHmacUpdate(ctx, cmd.body().data(), cmd.body().size());
  for (const BodySegment& s : cmd.body_segments())
    AclHmacUpdate(ctx, s.data.data(), s.data.size());
  return AclHmacFinishBase64(ctx);
}

std::string ComputeRequestSignature(std::string_view secret_key,
                                    const RemotingCommand& request) {
  return ComputeAclSignature(
      secret_key, request,
      request.version() <= kAclLastVersionSigningWithoutUniqueKeyQuery);
}

void SignRequest(RemotingCommand& cmd, std::string_view access_key,
                 std::string_view secret_key) {
  cmd.SetExt(std::string(kAclAccessKey), std::string(access_key));
  cmd.mutable_ext_fields().erase(kAclSignature);
  std::string signature = ComputeAclSignature(secret_key, cmd);
  cmd.SetExt(std::string(kAclSignature), std::move(signature));
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace thruster::remoting
