#include "remoting/tls_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace thruster::remoting {
namespace {

std::string LowerTlsWord(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

}  // namespace

Result<TlsMode> ParseTlsMode(std::string_view text) {
  std::string s = LowerTlsWord(text);
  if (s == "disabled") return TlsMode::kDisabled;
  if (s == "permissive") return TlsMode::kPermissive;
  if (s == "enforcing") return TlsMode::kEnforcing;
  return Status::InvalidArgument(fmt::format(
      "bad TLS mode '{}' (disabled, permissive or enforcing)", text));
}

std::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisabled:
      return "disabled";
    case TlsMode::kPermissive:
      return "permissive";
    case TlsMode::kEnforcing:
      return "enforcing";
  }
  return "disabled";
}

Result<ClientAuth> ParseClientAuth(std::string_view text) {
  std::string s = LowerTlsWord(text);
  if (s == "none") return ClientAuth::kNone;
  if (s == "optional") return ClientAuth::kOptional;
  if (s == "require") return ClientAuth::kRequire;
  return Status::InvalidArgument(fmt::format(
      "bad tls.server.need.client.auth '{}' (none, optional or require)",
      text));
}

std::string_view ClientAuthName(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNone:
      return "none";
    case ClientAuth::kOptional:
      return "optional";
    case ClientAuth::kRequire:
      return "require";
  }
  return "none";
}

Result<TlsConfig> TlsConfig::FromProperties(const Properties& given) {
  TlsConfig c;
  TH_ASSIGN_OR_RETURN(
      c.config_file, given.GetString("tls.config.file", kDefaultTlsConfigFile));
  // The tls.* keys of tls.config.file win over the same keys given here, but
  // for tls.server.mode and tls.enable (RocketMQ's TlsSystemConfig).
  Properties props = given;
  if (!c.config_file.empty() && ::access(c.config_file.c_str(), F_OK) == 0) {
    Result<Properties> file = Properties::Load(c.config_file);
    if (file.ok()) {
      for (const auto& [key, value] : file->values()) {
        if (!key.starts_with("tls.") || key == "tls.server.mode" ||
            key == "tls.enable" || key == "tls.config.file")
          continue;
        props.Set(key, value);
      }
    } else {
      return Status::InvalidArgument("tls.config.file " + c.config_file + ": " +
                                     file.status().ToString());
    }
  }
  TH_ASSIGN_OR_RETURN(std::string mode,
                      props.GetString("tls.server.mode", "disabled"));
  TH_ASSIGN_OR_RETURN(mode, props.GetString("tlsMode", mode));
  Result<TlsMode> parsed_mode = ParseTlsMode(mode);
  if (!parsed_mode.ok())
    return Status::InvalidArgument("tls.server.mode: " +
                                   std::string(parsed_mode.status().message()));
  c.server.mode = *parsed_mode;
  TH_ASSIGN_OR_RETURN(c.server.cert_path,
                      props.GetString("tls.server.certPath", ""));
  TH_ASSIGN_OR_RETURN(c.server.key_path,
                      props.GetString("tls.server.keyPath", ""));
  TH_ASSIGN_OR_RETURN(c.server.key_password,
                      props.GetString("tls.server.keyPassword", ""));
  TH_ASSIGN_OR_RETURN(c.server.trust_cert_path,
                      props.GetString("tls.server.trustCertPath", ""));
  TH_ASSIGN_OR_RETURN(std::string auth,
                      props.GetString("tls.server.need.client.auth", "none"));
  Result<ClientAuth> parsed_auth = ParseClientAuth(auth);
  if (!parsed_auth.ok()) return parsed_auth.status();
  c.server.need_client_auth = *parsed_auth;
  if (c.server.mode != TlsMode::kDisabled &&
      (c.server.cert_path.empty() || c.server.key_path.empty()))
    return Status::InvalidArgument(
        "tls.server.mode=" + std::string(TlsModeName(c.server.mode)) +
        " needs tls.server.certPath and tls.server.keyPath");

  TH_ASSIGN_OR_RETURN(
      c.client.enable,
      props.GetBool("tls.enable", c.server.mode == TlsMode::kEnforcing));
  TH_ASSIGN_OR_RETURN(c.client.trust_cert_path,
                      props.GetString("tls.client.trustCertPath", ""));
  TH_ASSIGN_OR_RETURN(c.client.cert_path,
                      props.GetString("tls.client.certPath", ""));
  TH_ASSIGN_OR_RETURN(c.client.key_path,
                      props.GetString("tls.client.keyPath", ""));
  TH_ASSIGN_OR_RETURN(c.client.key_password,
                      props.GetString("tls.client.keyPassword", ""));
  return c;
}

void TlsConfig::AddEntries(std::map<std::string, std::string>* out) const {
  auto& m = *out;
  m["tls.config.file"] = config_file;
  m["tls.server.mode"] = std::string(TlsModeName(server.mode));
  m["tls.server.certPath"] = server.cert_path;
  m["tls.server.keyPath"] = server.key_path;
  m["tls.server.trustCertPath"] = server.trust_cert_path;
  m["tls.server.need.client.auth"] =
      std::string(ClientAuthName(server.need_client_auth));
  m["tls.enable"] = client.enable ? "true" : "false";
  m["tls.client.trustCertPath"] = client.trust_cert_path;
  m["tls.client.certPath"] = client.cert_path;
  m["tls.client.keyPath"] = client.key_path;
}

}  // namespace thruster::remoting
