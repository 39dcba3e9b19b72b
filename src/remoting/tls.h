#pragma once

// TLS on the remoting port (spec/acl.md §9): the modes and settings RocketMQ
// names in TlsSystemConfig, and the OpenSSL context and per-connection session
// a Connection drives. OpenSSL's headers stay in tls.cc and connection_tls.cc;
// this header only forward-declares its types.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

struct ssl_st;
struct ssl_ctx_st;

namespace thruster::remoting {

// tls.server.mode: what the server does with the first byte of a connection
// (0x16, a TLS handshake record, or anything else, a plaintext frame).
//   disabled    plaintext only (a TLS hello closes the connection)
//   permissive  TLS and plaintext on the same port
//   enforcing   TLS only (a plaintext frame closes the connection)
enum class TlsMode { kDisabled, kPermissive, kEnforcing };
// tls.server.need.client.auth.
enum class ClientAuth { kNone, kOptional, kRequire };

// "disabled" | "permissive" | "enforcing" (any case); InvalidArgument
// otherwise.
Result<TlsMode> ParseTlsMode(std::string_view text);
std::string_view TlsModeName(TlsMode mode);
// "none" | "optional" | "require" (any case); InvalidArgument otherwise.
Result<ClientAuth> ParseClientAuth(std::string_view text);
std::string_view ClientAuthName(ClientAuth auth);

// The server side (tls.server.*). With a mode other than kDisabled, cert_path
// and key_path are required.
struct TlsServerOptions {
  TlsMode mode = TlsMode::kDisabled;
  std::string cert_path;        // tls.server.certPath: PEM chain
  std::string key_path;         // tls.server.keyPath: PEM key
  std::string key_password;     // tls.server.keyPassword: for an encrypted key
  std::string trust_cert_path;  // tls.server.trustCertPath: PEM CA bundle
  ClientAuth need_client_auth = ClientAuth::kNone;
  bool operator==(const TlsServerOptions&) const = default;
};

// The connecting side (tls.enable, tls.client.*). With a trust_cert_path the
// server's certificate is verified against it (tls.client.authServer);
// without one any server certificate is accepted, as RocketMQ's client does
// by default (a warning is logged once per context).
struct TlsClientOptions {
  bool enable = false;          // tls.enable
  std::string trust_cert_path;  // tls.client.trustCertPath
  std::string cert_path;        // tls.client.certPath
  std::string key_path;         // tls.client.keyPath
  std::string key_password;     // tls.client.keyPassword
  bool operator==(const TlsClientOptions&) const = default;
};

// An OpenSSL SSL_CTX, set up through asio's ssl::context, from the options
// above (TLS 1.2 and newer; session tickets off; kTLS asked for, the kernel
// decides per connection). Thread-safe and immutable once built; shared by
// every connection of a server or client.
class TlsContext {
 public:
  // InvalidArgument naming the file and OpenSSL's reason when a certificate,
  // key or CA file cannot be loaded or the key does not match.
  static Result<std::shared_ptr<TlsContext>> ForServer(
      const TlsServerOptions& options);
  static Result<std::shared_ptr<TlsContext>> ForClient(
      const TlsClientOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool server() const { return server_; }
  // The server's tls.server.mode (kPermissive or kEnforcing); kEnforcing for a
  // client.
  TlsMode mode() const { return mode_; }
  ssl_ctx_st* native() const;

 private:
  struct Impl;  // asio::ssl::context, kept out of this header
  TlsContext(std::unique_ptr<Impl> impl, bool server, TlsMode mode);
  std::unique_ptr<Impl> impl_;
  bool server_;
  TlsMode mode_;
};

// One connection's TLS state over a socket file descriptor (OpenSSL's socket
// BIO, so kTLS can take over the record layer). Not thread-safe: confined to
// the connection's strand. Does not own the descriptor.
class TlsSession {
 public:
  static Result<std::unique_ptr<TlsSession>> Create(
      std::shared_ptr<const TlsContext> ctx, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  ssl_st* ssl() const { return ssl_; }
  bool server() const { return ctx_->server(); }
  // After the handshake: the kernel encrypts what is written to the socket
  // (kTLS transmit), so frames go out with the plaintext gather write.
  bool KernelSends() const;
  // OpenSSL's queued error reasons, then the certificate verification result
  // when it failed ("certificate verify failed: certificate has expired").
  std::string ErrorText(int ret);
  // Best-effort close_notify before the socket closes (skipped before the
  // handshake completed or after a fatal error).
  void SendCloseNotify();
  // Set after a fatal error: OpenSSL must not be asked for a shutdown then.
  void set_failed() { failed_ = true; }

 private:
  TlsSession(std::shared_ptr<const TlsContext> ctx, ssl_st* ssl)
      : ctx_(std::move(ctx)), ssl_(ssl) {}
  std::shared_ptr<const TlsContext> ctx_;
  ssl_st* ssl_;
  bool failed_ = false;
};

// Whether this kernel offers kTLS (the `tls` module is loaded), for the log
// line a server or client prints once when it starts TLS.
bool KernelTlsAvailable();

}  // namespace thruster::remoting
