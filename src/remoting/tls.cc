#include "remoting/tls.h"

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <asio/ssl/context.hpp>
#include <cctype>
#include <csignal>
#include <fstream>

#include "common/logging.h"

namespace thruster::remoting {
namespace {

// OpenSSL's queued errors, oldest first, joined; clears the queue.
std::string DrainErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : buf;
  }
  return out;
}

Status Loaded(const asio::error_code& ec, std::string_view what,
              const std::string& path) {
  if (!ec) return Status::OK();
  std::string why = DrainErrors();
  if (why.empty()) why = ec.message();
  return Status::InvalidArgument(
      fmt::format("cannot load TLS {} {}: {}", what, path, why));
}

// Settings both sides share: TLS 1.2 and newer, no renegotiation, no session
// tickets (a ticket would be written after the handshake, on the record layer
// kTLS takes over), kTLS when the kernel has it, partial writes (the write path
// keeps its own position).
Status CommonSetup(asio::ssl::context& ctx) {
  // OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
  // peer has gone; the plaintext path avoids it with MSG_NOSIGNAL. Ignoring it
  // process-wide is what every network server does (the JVM does too).
  std::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    return Status::InvalidArgument("cannot set TLS 1.2 as minimum version");
  long opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET;
#ifdef SSL_OP_ENABLE_KTLS
  opts |= SSL_OP_ENABLE_KTLS;
#endif
  SSL_CTX_set_options(native, static_cast<uint64_t>(opts));
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_mode(native, SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return Status::OK();
}

Status LoadIdentity(asio::ssl::context& ctx, const std::string& cert_path,
                    const std::string& key_path, const std::string& password) {
  asio::error_code ec;
  if (!password.empty()) {
    ctx.set_password_callback(
        [password](std::size_t, asio::ssl::context::password_purpose) {
          return password;
        },
        ec);
    TH_RETURN_IF_ERROR(Loaded(ec, "key password for", key_path));
  }
  ctx.use_certificate_chain_file(cert_path, ec);
  TH_RETURN_IF_ERROR(Loaded(ec, "certificate", cert_path));
  ctx.use_private_key_file(key_path, asio::ssl::context::pem, ec);
  TH_RETURN_IF_ERROR(Loaded(ec, "private key", key_path));
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return Status::InvalidArgument(
        fmt::format("TLS private key {} does not match certificate {}: {}",
                    key_path, cert_path, DrainErrors()));
  return Status::OK();
}

bool FileExists(const std::string& path) {
  std::ifstream in(path);
  return in.good();
}

}  // namespace

struct TlsContext::Impl {
  explicit Impl(asio::ssl::context::method m) : ctx(m) {}
  asio::ssl::context ctx;
};

TlsContext::TlsContext(std::unique_ptr<Impl> impl, bool server, TlsMode mode)
    : impl_(std::move(impl)), server_(server), mode_(mode) {}
TlsContext::~TlsContext() = default;
ssl_ctx_st* TlsContext::native() const { return impl_->ctx.native_handle(); }

Result<std::shared_ptr<TlsContext>> TlsContext::ForServer(
    const TlsServerOptions& options) {
  if (options.mode == TlsMode::kDisabled)
    return Status::InvalidArgument(
        "no TLS context for tls.server.mode=disabled");
  if (options.cert_path.empty() || options.key_path.empty())
    return Status::InvalidArgument(
        "TLS needs tls.server.certPath and tls.server.keyPath");
  if (options.need_client_auth != ClientAuth::kNone &&
      options.trust_cert_path.empty())
    return Status::InvalidArgument(
        "tls.server.need.client.auth needs tls.server.trustCertPath (the CA "
        "that signs client certificates)");
  auto impl = std::make_unique<Impl>(asio::ssl::context::tls_server);
  TH_RETURN_IF_ERROR(CommonSetup(impl->ctx));
  TH_RETURN_IF_ERROR(LoadIdentity(impl->ctx, options.cert_path,
                                  options.key_path, options.key_password));
  asio::error_code ec;
  if (!options.trust_cert_path.empty()) {
    impl->ctx.load_verify_file(options.trust_cert_path, ec);
    TH_RETURN_IF_ERROR(Loaded(ec, "trusted CA file", options.trust_cert_path));
    // Offer the CA names so a client picks the matching certificate.
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(options.trust_cert_path.c_str()))
      SSL_CTX_set_client_CA_list(impl->ctx.native_handle(), names);
  }
  asio::ssl::verify_mode mode = asio::ssl::verify_none;
  if (options.need_client_auth == ClientAuth::kOptional)
    mode = asio::ssl::verify_peer;
  if (options.need_client_auth == ClientAuth::kRequire)
    mode = asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert;
  impl->ctx.set_verify_mode(mode, ec);
  TH_RETURN_IF_ERROR(Loaded(ec, "verify mode for", options.cert_path));
  return std::shared_ptr<TlsContext>(
      new TlsContext(std::move(impl), true, options.mode));
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForClient(
    const TlsClientOptions& options) {
  auto impl = std::make_unique<Impl>(asio::ssl::context::tls_client);
  TH_RETURN_IF_ERROR(CommonSetup(impl->ctx));
  if (!options.cert_path.empty() || !options.key_path.empty()) {
    if (options.cert_path.empty() || options.key_path.empty())
      return Status::InvalidArgument(
          "a TLS client certificate needs both tls.client.certPath and "
          "tls.client.keyPath");
    TH_RETURN_IF_ERROR(LoadIdentity(impl->ctx, options.cert_path,
                                    options.key_path, options.key_password));
  }
  asio::error_code ec;
  if (!options.trust_cert_path.empty()) {
    if (!FileExists(options.trust_cert_path))
      return Status::InvalidArgument(
          fmt::format("cannot load TLS trusted CA file {}: no such file",
                      options.trust_cert_path));
    impl->ctx.load_verify_file(options.trust_cert_path, ec);
    TH_RETURN_IF_ERROR(Loaded(ec, "trusted CA file", options.trust_cert_path));
    impl->ctx.set_verify_mode(asio::ssl::verify_peer, ec);
  } else {
    TH_LOG(remoting, kWarn,
           "TLS client without tls.client.trustCertPath: the server's "
           "certificate is not verified");
    impl->ctx.set_verify_mode(asio::ssl::verify_none, ec);
  }
  TH_RETURN_IF_ERROR(Loaded(ec, "verify mode for", options.trust_cert_path));
  return std::shared_ptr<TlsContext>(
      new TlsContext(std::move(impl), false, TlsMode::kEnforcing));
}

Result<std::unique_ptr<TlsSession>> TlsSession::Create(
    std::shared_ptr<const TlsContext> ctx, int fd) {
  SSL* ssl = SSL_new(ctx->native());
  if (ssl == nullptr) return Status::IOError("SSL_new: " + DrainErrors(), 0);
  // A socket BIO that does not close the descriptor (the asio socket owns it).
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return Status::IOError("SSL_set_fd: " + DrainErrors(), 0);
  }
  if (ctx->server()) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(ctx), ssl));
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::KernelSends() const {
#ifdef BIO_get_ktls_send
  return BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
#else
  return false;
#endif
}

std::string TlsSession::ErrorText(int ret) {
  const int err = SSL_get_error(ssl_, ret);
  std::string why = DrainErrors();
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    if (!why.empty()) why += ": ";
    why += X509_verify_cert_error_string(verify);
  }
  if (why.empty()) {
    if (err == SSL_ERROR_SYSCALL) {
      why = errno != 0 ? std::system_category().message(errno)
                       : "peer closed during the handshake";
    } else {
      why = fmt::format("SSL error {}", err);
    }
  }
  return why;
}

void TlsSession::SendCloseNotify() {
  if (failed_ || SSL_is_init_finished(ssl_) != 1) return;
  if ((SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0) return;
  SSL_shutdown(ssl_);  // non-blocking: sent if the socket takes it now
  ERR_clear_error();
}

bool KernelTlsAvailable() {
  // Lists the upper-layer protocols TCP sockets can take; "tls" once the
  // module is loaded (or built in).
  std::ifstream ulp("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string line;
  std::getline(ulp, line);
  return line.find("tls") != std::string::npos;
}

}  // namespace thruster::remoting
