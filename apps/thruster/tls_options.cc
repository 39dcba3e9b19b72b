// `--tls` and friends for the commands that connect to name servers and
// brokers (admin, bench produce|consume).

#include "thruster/commands.h"

namespace thruster::cli {

void AddTlsOptions(CLI::App& cmd, remoting::TlsClientOptions* tls) {
  cmd.add_flag("--tls", tls->enable,
               "connect with TLS (tls.enable); the server's certificate is "
               "verified only with --tlsTrustCertPath");
  cmd.add_option("--tlsTrustCertPath", tls->trust_cert_path,
                 "PEM CA bundle that signs the servers' certificates "
                 "(tls.client.trustCertPath)");
  cmd.add_option("--tlsCertPath", tls->cert_path,
                 "PEM client certificate, for servers that require one "
                 "(tls.client.certPath)");
  cmd.add_option("--tlsKeyPath", tls->key_path,
                 "PEM key of --tlsCertPath (tls.client.keyPath)");
  cmd.add_option("--tlsKeyPassword", tls->key_password,
                 "password of an encrypted --tlsKeyPath "
                 "(tls.client.keyPassword)");
}

}  // namespace thruster::cli
