#include "broker/acl/plain_acl_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "broker/acl/remote_address_matcher.h"
#include "common/strings.h"

namespace thruster::broker::acl {
namespace {

// A scalar as text; null and absent are "".
std::string Scalar(const YAML::Node& n) {
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "expected a scalar");
  return n.Scalar();
}

std::vector<std::string> StringList(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) {  // a single entry written without a dash
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) throw YAML::Exception(n.Mark(), "expected a list");
  for (const YAML::Node& e : n) out.push_back(Scalar(e));
  return out;
}

bool Bool(const YAML::Node& n) {
  std::string s = Scalar(n);
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "true";
}

}  // namespace

namespace perm {

uint8_t Parse(std::string_view text) {
  text = TrimBlanks(text);
  if (text == "PUB") return kPub;
  if (text == "SUB") return kSub;
  if (text == "PUB|SUB" || text == "SUB|PUB") return kPub | kSub;
  return kDeny;
}

std::string Name(uint8_t bits) {
  if (bits & kDeny) return "DENY";
  if (bits & kAny) return "ANY";
  if ((bits & kPub) && (bits & kSub)) return "PUB|SUB";
  if (bits & kPub) return "PUB";
  if (bits & kSub) return "SUB";
  return "DENY";
}

bool Check(uint8_t needed, uint8_t owned) {
  if (owned & kDeny) return false;
  if (needed & kAny) return (owned & (kPub | kSub)) != 0;
  return (needed & owned) != 0;
}

}  // namespace perm

Result<std::pair<std::string, uint8_t>> ParseResourcePerm(
    std::string_view entry) {
  const size_t eq = entry.find('=');
  if (eq == std::string_view::npos ||
      entry.find('=', eq + 1) != std::string_view::npos ||
      TrimBlanks(entry.substr(0, eq)).empty()) {
    return Status::InvalidArgument(
        fmt::format("Parse resource permission failed for '{}'", entry));
  }
  return std::make_pair(std::string(TrimBlanks(entry.substr(0, eq))),
                        perm::Parse(entry.substr(eq + 1)));
}

Result<PlainAclConfig> PlainAclConfig::Parse(std::string_view yaml) {
  PlainAclConfig c;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return c;
    if (!root.IsMap())
      return Status::InvalidArgument("plain ACL file is not a YAML map");
    c.global_white_remote_addresses =
        StringList(root["globalWhiteRemoteAddresses"]);
    if (YAML::Node dv = root["dataVersion"];
        dv && dv.IsSequence() && dv.size() > 0) {
      const YAML::Node& v = dv[0];
      if (v["counter"]) c.data_version.counter = v["counter"].as<int64_t>();
      if (v["timestamp"])
        c.data_version.timestamp = v["timestamp"].as<int64_t>();
    }
    if (YAML::Node accounts = root["accounts"];
        accounts && !accounts.IsNull()) {
      if (!accounts.IsSequence())
        return Status::InvalidArgument("'accounts' is not a list");
      for (const YAML::Node& a : accounts) {
        if (!a.IsMap())
          return Status::InvalidArgument("an account is not a map");
        PlainAccessAccount acc;
        acc.access_key = std::string(TrimBlanks(Scalar(a["accessKey"])));
        acc.secret_key = std::string(TrimBlanks(Scalar(a["secretKey"])));
        acc.white_remote_address = Scalar(a["whiteRemoteAddress"]);
        acc.admin = Bool(a["admin"]);
        acc.default_topic_perm = Scalar(a["defaultTopicPerm"]);
        acc.default_group_perm = Scalar(a["defaultGroupPerm"]);
        acc.topic_perms = StringList(a["topicPerms"]);
        acc.group_perms = StringList(a["groupPerms"]);
        c.accounts.push_back(std::move(acc));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("plain ACL file: {}", e.what()));
  }
  // RocketMQ's checks (PlainPermissionManager.buildPlainAccessResource).
  for (const std::string& p : c.global_white_remote_addresses) {
    Result<RemoteAddressMatcher> m = RemoteAddressMatcher::Parse(p);
    if (!m.ok()) return m.status();
  }
  for (size_t i = 0; i < c.accounts.size(); ++i) {
    const PlainAccessAccount& a = c.accounts[i];
    if (a.access_key.size() < kMinAclKeyLength)
      return Status::InvalidArgument(fmt::format(
          "account {}: accessKey '{}' is shorter than {} characters", i,
          a.access_key, kMinAclKeyLength));
    if (a.secret_key.size() < kMinAclKeyLength)
      return Status::InvalidArgument(fmt::format(
          "account {} ({}): secretKey is shorter than {} characters", i,
          a.access_key, kMinAclKeyLength));
    Result<RemoteAddressMatcher> m =
        RemoteAddressMatcher::Parse(a.white_remote_address);
    if (!m.ok()) return m.status();
    for (const auto* list : {&a.topic_perms, &a.group_perms})
      for (const std::string& e : *list)
        if (Result<std::pair<std::string, uint8_t>> r = ParseResourcePerm(e);
            !r.ok())
          return r.status();
  }
  return c;
}

std::string PlainAclConfig::Encode() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "globalWhiteRemoteAddresses" << YAML::Value
      << YAML::BeginSeq;
  for (const std::string& p : global_white_remote_addresses) out << p;
  out << YAML::EndSeq;
  out << YAML::Key << "accounts" << YAML::Value << YAML::BeginSeq;
  for (const PlainAccessAccount& a : accounts) {
    out << YAML::BeginMap;
    out << YAML::Key << "accessKey" << YAML::Value << YAML::DoubleQuoted
        << a.access_key;
    out << YAML::Key << "secretKey" << YAML::Value << YAML::DoubleQuoted
        << a.secret_key;
    out << YAML::Key << "whiteRemoteAddress" << YAML::Value
        << a.white_remote_address;
    out << YAML::Key << "admin" << YAML::Value << a.admin;
    if (!a.default_topic_perm.empty())
      out << YAML::Key << "defaultTopicPerm" << YAML::Value
          << a.default_topic_perm;
    if (!a.default_group_perm.empty())
      out << YAML::Key << "defaultGroupPerm" << YAML::Value
          << a.default_group_perm;
    out << YAML::Key << "topicPerms" << YAML::Value << YAML::BeginSeq;
    for (const std::string& e : a.topic_perms) out << e;
    out << YAML::EndSeq;
    out << YAML::Key << "groupPerms" << YAML::Value << YAML::BeginSeq;
    for (const std::string& e : a.group_perms) out << e;
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "dataVersion" << YAML::Value << YAML::BeginSeq
      << YAML::BeginMap;
  out << YAML::Key << "counter" << YAML::Value << data_version.counter;
  out << YAML::Key << "timestamp" << YAML::Value << data_version.timestamp;
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

const PlainAccessAccount* PlainAclConfig::Find(
    std::string_view access_key) const {
  for (const PlainAccessAccount& a : accounts)
    if (a.access_key == access_key) return &a;
  return nullptr;
}

}  // namespace thruster::broker::acl
