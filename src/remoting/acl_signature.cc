#include "remoting/acl_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "common/check.h"

namespace thruster::remoting {
namespace {

// The HMAC input: the ext field values in name order (ExtFields is sorted by
// name in byte order, which is Java's TreeMap order for ASCII names), then the
// body bytes.
class SignedContent {
 public:
  SignedContent(const RemotingCommand& cmd, bool skip_unique_key_query) {
    for (const auto& [name, value] : cmd.ext_fields()) {
      if (name == kAclSignature) continue;
      if (skip_unique_key_query && name == kAclUniqueKeyQuery) continue;
      Append(value.data(), value.size());
    }
    Append(cmd.body().data(), cmd.body().size());
    for (const BodySegment& s : cmd.body_segments())
      Append(s.data.data(), s.data.size());
  }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  void Append(const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<std::byte> bytes_;
};

}  // namespace

std::string HmacSha1Base64(std::string_view secret_key,
                           std::span<const std::byte> content) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // A non-null key pointer even for an empty key: OpenSSL treats null as
  // "reuse the previous key".
  static const unsigned char kEmpty = 0;
  const void* key = secret_key.empty()
                        ? static_cast<const void*>(&kEmpty)
                        : static_cast<const void*>(secret_key.data());
  const unsigned char* out =
      HMAC(EVP_sha1(), key, static_cast<int>(secret_key.size()),
           reinterpret_cast<const unsigned char*>(content.data()),
           content.size(), mac, &mac_len);
  TH_CHECK(out != nullptr, "HMAC-SHA1 failed");
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                mac, static_cast<int>(mac_len));
  b64.resize(static_cast<size_t>(n));
  return b64;
}

std::string ComputeAclSignature(std::string_view secret_key,
                                const RemotingCommand& cmd,
                                bool skip_unique_key_query) {
  SignedContent content(cmd, skip_unique_key_query);
  return HmacSha1Base64(secret_key, content.bytes());
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
