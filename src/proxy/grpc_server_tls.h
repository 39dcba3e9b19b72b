#pragma once

// The gRPC port's TLS, from the remoting port's tls.server.* keys, with the
// certificate reloadable while the port serves (spec/acl.md §9.2, as the
// remoting port's TlsFileWatchService does it).
//
// gRPC asks Fetch() for its certificate on every new connection's handshake
// (gRPC core's server certificate config fetcher); Reload() reads
// certPath/keyPath (decrypted with keyPassword) and trustCertPath again and
// hands the result to the next handshake. Connections already open keep the
// certificate they were made with. gRPC cannot take TLS and plaintext on one
// port, so permissive serves TLS like enforcing.
//
// Lifecycle: Create() → credentials() for the port → Reload() any time. It
// must outlive the grpc::Server bound with its credentials. Thread-safe.
// No gRPC header is included here.

#include <memory>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "remoting/tls.h"

namespace grpc {
class ServerCredentials;
}

namespace thruster::proxy {

class GrpcServerTls {
 public:
  // Reads the files once; InvalidArgument names the key whose file cannot be
  // read or whose key cannot be decrypted.
  static Result<std::unique_ptr<GrpcServerTls>> Create(
      const remoting::TlsServerOptions& options);
  ~GrpcServerTls();
  GrpcServerTls(const GrpcServerTls&) = delete;
  GrpcServerTls& operator=(const GrpcServerTls&) = delete;

  // Credentials for ServerBuilder::AddListeningPort whose handshakes take the
  // latest certificate.
  std::shared_ptr<grpc::ServerCredentials> credentials();

  // Reads the files again. On success the next handshake presents the new
  // certificate; on failure (logged) the previous one stays.
  Status Reload() TH_EXCLUDES(mu_);

  struct Material {
    std::string cert;
    std::string key;    // plain PEM
    std::string trust;  // empty: no client certificates are verified
  };
  // For the handshake (gRPC's fetcher): the material read since the last
  // call, once; nullopt when nothing changed.
  std::optional<Material> TakePending() TH_EXCLUDES(mu_);

 private:
  explicit GrpcServerTls(const remoting::TlsServerOptions& options)
      : options_(options) {}
  Result<Material> Read() const;

  const remoting::TlsServerOptions options_;
  mutable Mutex mu_;
  // Read but not yet taken by a handshake.
  std::optional<Material> pending_ TH_GUARDED_BY(mu_);
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

}  // namespace thruster::proxy
