#pragma once

// Test certificates made with OpenSSL's API at test time into a temp dir (so
// nothing pre-generated can expire): a CA, certificates it signs, and
// certificates whose validity lies in the past. Link OpenSSL::Crypto.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <string>

#include "common/check.h"

namespace thruster::testing {

struct TestIdentity {
  std::string cert_path;  // PEM certificate
  std::string key_path;   // PEM private key (encrypted when made with one)
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
};

struct CertSpec {
  std::string common_name;
  bool ca = false;
  // Validity relative to now, in seconds (negative: in the past).
  long not_before_s = -3600;
  long not_after_s = 24 * 3600;
  // Encrypts the key file with AES-256 under this password when not empty.
  std::string key_password;
};

inline CertSpec CaSpec(std::string common_name) {
  CertSpec spec;
  spec.common_name = std::move(common_name);
  spec.ca = true;
  return spec;
}
inline CertSpec LeafSpec(std::string common_name) {
  CertSpec spec;
  spec.common_name = std::move(common_name);
  return spec;
}
// Valid from two hours ago until one hour ago.
inline CertSpec ExpiredSpec(std::string common_name) {
  CertSpec spec = LeafSpec(std::move(common_name));
  spec.not_before_s = -7200;
  spec.not_after_s = -3600;
  return spec;
}

namespace tls_certs_internal {

inline void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value));
  TH_CHECK(ext != nullptr, "extension {}", value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace tls_certs_internal

// Writes `<dir>/<name>.crt` and `<dir>/<name>.key`; signed by `issuer`, or
// self-signed when it is null. Leaf certificates name localhost and 127.0.0.1.
inline TestIdentity MakeIdentity(const std::string& dir,
                                 const std::string& name, const CertSpec& spec,
                                 const TestIdentity* issuer = nullptr) {
  static long serial = 1;
  TestIdentity id;
  id.key = std::shared_ptr<EVP_PKEY>(EVP_EC_gen("P-256"), EVP_PKEY_free);
  TH_CHECK(id.key != nullptr, "EC key");
  id.cert = std::shared_ptr<X509>(X509_new(), X509_free);
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_s);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(
      subject, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1,
      0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  using tls_certs_internal::AddExt;
  if (spec.ca) {
    AddExt(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(x, issuer_cert, NID_basic_constraints, "CA:FALSE");
    AddExt(x, issuer_cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : id.key.get();
  TH_CHECK(X509_sign(x, signer, EVP_sha256()) > 0, "sign {}", name);

  id.cert_path = dir + "/" + name + ".crt";
  id.key_path = dir + "/" + name + ".key";
  FILE* f = std::fopen(id.cert_path.c_str(), "w");
  TH_CHECK(f != nullptr, "open {}", id.cert_path);
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(id.key_path.c_str(), "w");
  TH_CHECK(f != nullptr, "open {}", id.key_path);
  if (spec.key_password.empty()) {
    PEM_write_PrivateKey(f, id.key.get(), nullptr, nullptr, 0, nullptr,
                         nullptr);
  } else {
    PEM_write_PKCS8PrivateKey(
        f, id.key.get(), EVP_aes_256_cbc(), spec.key_password.c_str(),
        static_cast<int>(spec.key_password.size()), nullptr, nullptr);
  }
  std::fclose(f);
  return id;
}

}  // namespace thruster::testing
