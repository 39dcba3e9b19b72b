#pragma once

// The TLS keys of broker.conf / namesrv.conf (and their --key=value flags),
// with RocketMQ's names (TlsSystemConfig, spec/acl.md §9.2).

#include <map>
#include <string>

#include "common/properties.h"
#include "common/result.h"
#include "remoting/tls.h"

namespace thruster::remoting {

// RocketMQ's default tls.config.file.
inline constexpr std::string_view kDefaultTlsConfigFile =
    "/etc/rocketmq/tls.properties";

// A plain value type.
struct TlsConfig {
  // tls.config.file: RocketMQ's tls.properties. When the file exists, its
  // tls.* keys override the same keys given in the config file or as flags,
  // except tls.server.mode and tls.enable (as in RocketMQ); a missing file is
  // not an error. Empty: no such file is read.
  std::string config_file = std::string(kDefaultTlsConfigFile);
  // tls.server.mode (also read as `tlsMode`), tls.server.certPath,
  // tls.server.keyPath, tls.server.keyPassword, tls.server.trustCertPath,
  // tls.server.need.client.auth. Thruster's default mode is disabled (RocketMQ
  // defaults to permissive with a generated test certificate).
  TlsServerOptions server;
  // tls.enable (default: true when the server mode is enforcing, as in
  // RocketMQ), tls.client.trustCertPath, tls.client.certPath,
  // tls.client.keyPath, tls.client.keyPassword: the process's own outgoing
  // connections (a broker registering with its name servers).
  TlsClientOptions client;

  // InvalidArgument naming the key for a bad mode or client-auth value, a
  // mode other than disabled without tls.server.certPath/keyPath, or a
  // tls.config.file that exists but cannot be read.
  static Result<TlsConfig> FromProperties(const Properties& props);
  // Every key with its value, for a broker's runtime config. The key
  // passwords are left out: the config can be read over the wire.
  void AddEntries(std::map<std::string, std::string>* out) const;

  bool operator==(const TlsConfig&) const = default;
};

}  // namespace thruster::remoting
