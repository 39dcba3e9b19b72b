#include "proxy/grpc_server_tls.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "common/logging.h"

namespace thruster::proxy {
namespace {

Result<std::string> GrpcTlsReadPem(const std::string& path,
                                   std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::InvalidArgument(std::string(key) + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The key as the plain PEM gRPC takes (decrypted with tls.server.keyPassword
// when there is one), after checking that it belongs to the certificate.
Result<std::string> GrpcTlsPlainKey(const std::string& key_pem,
                                    const std::string& password,
                                    const std::string& cert_pem) {
  BIO* in = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr,
                                          const_cast<char*>(password.c_str()));
  BIO_free(in);
  if (key == nullptr)
    return Status::InvalidArgument(
        password.empty()
            ? "tls.server.keyPath: not a PEM private key (an encrypted key "
              "needs tls.server.keyPassword)"
            : "tls.server.keyPath: the key cannot be read with "
              "tls.server.keyPassword");
  BIO* cert_in =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_in, nullptr, nullptr, nullptr);
  BIO_free(cert_in);
  const bool matches =
      cert != nullptr && X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  if (!matches) {
    EVP_PKEY_free(key);
    return Status::InvalidArgument(
        "tls.server.certPath: no PEM certificate that matches "
        "tls.server.keyPath");
  }
  BIO* out = BIO_new(BIO_s_mem());
  std::string plain;
  if (PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr,
                               nullptr) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    if (n > 0) plain.assign(data, static_cast<size_t>(n));
  }
  BIO_free(out);
  EVP_PKEY_free(key);
  if (plain.empty())
    return Status::InvalidArgument(
        "tls.server.keyPath: cannot re-encode the key");
  return plain;
}

// gRPC core's certificate config fetcher, asked on every new connection.
grpc_ssl_certificate_config_reload_status GrpcTlsFetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  auto* tls = static_cast<GrpcServerTls*>(user_data);
  std::optional<GrpcServerTls::Material> m = tls->TakePending();
  if (!m) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  grpc_ssl_pem_key_cert_pair pair{m->key.c_str(), m->cert.c_str()};
  // gRPC copies the strings and destroys the config after use. A fetched
  // config must name client roots (gRPC asserts it); without
  // tls.server.trustCertPath no client certificate is requested, so the
  // server's own certificate stands in and is never used.
  *config = grpc_ssl_server_certificate_config_create(
      m->trust.empty() ? m->cert.c_str() : m->trust.c_str(), &pair, 1);
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

// grpc::ServerCredentials over C-core credentials that use the fetcher: the
// C++ API has no reloadable SSL credentials of its own (its TLS providers
// cannot be fed a decrypted key at runtime). Binding a port is the one thing
// gRPC asks of it.
class GrpcReloadableServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit GrpcReloadableServerCredentials(grpc_server_credentials* c)
      : c_creds_(c) {}
  ~GrpcReloadableServerCredentials() override {
    grpc_server_credentials_release(c_creds_);
  }
  // Not used by the broker: its ACL checks run in the service.
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), c_creds_);
  }

  grpc_server_credentials* const c_creds_;
};

}  // namespace

Result<std::unique_ptr<GrpcServerTls>> GrpcServerTls::Create(
    const remoting::TlsServerOptions& options) {
  grpc_ssl_client_certificate_request_type request =
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (options.need_client_auth == remoting::ClientAuth::kOptional)
    request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  if (options.need_client_auth == remoting::ClientAuth::kRequire)
    request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  if (request != GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE &&
      options.trust_cert_path.empty())
    return Status::InvalidArgument(
        "tls.server.need.client.auth needs tls.server.trustCertPath on the "
        "gRPC port");
  std::unique_ptr<GrpcServerTls> tls(new GrpcServerTls(options));
  Result<Material> m = tls->Read();
  if (!m.ok()) return m.status();
  {
    MutexLock lock(&tls->mu_);
    tls->pending_ = std::move(*m);
  }
  grpc_ssl_server_credentials_options* c_options =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          request, &GrpcTlsFetch, tls.get());
  // Takes (and frees) the options.
  grpc_server_credentials* c_creds =
      grpc_ssl_server_credentials_create_with_options(c_options);
  if (c_creds == nullptr)
    return Status::InvalidArgument("tls.server.*: gRPC refused the settings");
  tls->credentials_ =
      std::make_shared<GrpcReloadableServerCredentials>(c_creds);
  return tls;
}

GrpcServerTls::~GrpcServerTls() = default;

std::shared_ptr<grpc::ServerCredentials> GrpcServerTls::credentials() {
  return credentials_;
}

Result<GrpcServerTls::Material> GrpcServerTls::Read() const {
  Material m;
  Result<std::string> cert =
      GrpcTlsReadPem(options_.cert_path, "tls.server.certPath");
  if (!cert.ok()) return cert.status();
  Result<std::string> key =
      GrpcTlsReadPem(options_.key_path, "tls.server.keyPath");
  if (!key.ok()) return key.status();
  Result<std::string> plain =
      GrpcTlsPlainKey(*key, options_.key_password, *cert);
  if (!plain.ok()) return plain.status();
  m.cert = std::move(*cert);
  m.key = std::move(*plain);
  if (!options_.trust_cert_path.empty()) {
    Result<std::string> trust =
        GrpcTlsReadPem(options_.trust_cert_path, "tls.server.trustCertPath");
    if (!trust.ok()) return trust.status();
    m.trust = std::move(*trust);
  }
  return m;
}

Status GrpcServerTls::Reload() {
  Result<Material> m = Read();
  if (!m.ok()) {
    TH_LOG(broker, kWarn,
           "gRPC port: TLS files not reloaded, the previous certificate "
           "stays: {}",
           m.status().ToString());
    return m.status();
  }
  {
    MutexLock lock(&mu_);
    pending_ = std::move(*m);
  }
  TH_LOG(broker, kInfo,
         "gRPC port: TLS certificate reloaded from {}; new connections get it",
         options_.cert_path);
  return Status::OK();
}

std::optional<GrpcServerTls::Material> GrpcServerTls::TakePending() {
  MutexLock lock(&mu_);
  std::optional<Material> m = std::move(pending_);
  pending_.reset();
  return m;
}

}  // namespace thruster::proxy
