#include "broker/acl/plain_access_validator.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>

#include "broker/client_manager.h"
#include "common/logging.h"
#include "remoting/acl_signature.h"
#include "remoting/codes.h"

namespace thruster::broker::acl {
namespace {

using remoting::RemotingCommand;
namespace code = remoting::request_code;

constexpr std::string_view kTraceTopic = "RMQ_SYS_TRACE_TOPIC";
// Entries the throttling table may hold; beyond it, expired ones are dropped
// and new addresses are not tracked (throttling fails open, checking does not).
constexpr size_t kMaxTrackedAddresses = 65536;

std::string GroupResource(std::string_view group) {
  return std::string(kRetryGroupTopicPrefix) + std::string(group);
}

bool IsRetryTopic(std::string_view topic) {
  return topic.starts_with(kRetryGroupTopicPrefix);
}

void AddTopic(std::vector<AclResource>& out, std::string_view topic,
              uint8_t needed) {
  if (topic.empty()) return;
  out.push_back({std::string(topic), needed});
}

void AddGroup(std::vector<AclResource>& out, std::string_view group) {
  if (group.empty()) return;
  out.push_back({GroupResource(group), perm::kSub});
}

// A send needs PUB on its topic; a send to a retry topic is a consumer handing
// a message back, which needs SUB on the group (5.x, acl.md §11.1).
void AddSendTopic(std::vector<AclResource>& out, std::string_view topic) {
  AddTopic(out, topic, IsRetryTopic(topic) ? perm::kSub : perm::kPub);
}

std::string ClientIp(const remoting::Connection& conn) {
  asio::error_code ec;
  const asio::ip::address& a = conn.remote_endpoint().address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6())
        .to_string();
  return a.to_string(ec);
}

}  // namespace

std::string DefaultAclFilePath(std::string_view config_file) {
  if (const char* home = std::getenv("ROCKETMQ_HOME");
      home != nullptr && *home != '\0')
    return std::string(home) + "/conf/plain_acl.yml";
  if (!config_file.empty()) {
    const size_t slash = config_file.rfind('/');
    if (slash == std::string_view::npos) return "plain_acl.yml";
    return std::string(config_file.substr(0, slash + 1)) + "plain_acl.yml";
  }
  return "conf/plain_acl.yml";
}

std::vector<int32_t> NameServerAdminWriteCodes() {
  return {code::kPutKvConfig,           code::kDeleteKvConfig,
          code::kWipeWritePermOfBroker, code::kAddWritePermOfBroker,
          code::kDeleteTopicInNamesrv,  code::kRegisterTopicInNamesrv,
          code::kUpdateNamesrvConfig};
}

bool IsAdminCode(int32_t c) {
  switch (c) {
    case code::kUpdateAndCreateTopic:
    case code::kUpdateBrokerConfig:
    case code::kDeleteTopicInBroker:
    case code::kUpdateAndCreateSubscriptionGroup:
    case code::kDeleteSubscriptionGroup:
    case 513:  // UPDATE_AND_CREATE_STATIC_TOPIC [5.x]
    case code::kUpdateAndCreateAclConfig:
    case code::kDeleteAclConfig:
    case code::kGetBrokerClusterAclInfo:
    case code::kUpdateGlobalWhiteAddrsConfig:
    // Name-server writes (checked there when the name server enforces ACL).
    case code::kPutKvConfig:
    case code::kDeleteKvConfig:
    case code::kWipeWritePermOfBroker:
    case code::kAddWritePermOfBroker:
    case code::kDeleteTopicInNamesrv:
    case code::kRegisterTopicInNamesrv:
    case code::kUpdateNamesrvConfig:
      return true;
    default:
      return false;
  }
}

Result<std::vector<AclResource>> RequiredResources(const RemotingCommand& req) {
  std::vector<AclResource> out;
  switch (req.code()) {
    case code::kSendMessage:
      AddSendTopic(out, req.ExtOr("topic", ""));
      break;
    case code::kSendMessageV2:
    case code::kSendBatchMessage:
      AddSendTopic(out, req.ExtOr("b", ""));
      break;
    case code::kRecallMessage:
      AddTopic(out, req.ExtOr("topic", ""), perm::kPub);
      break;
    case code::kConsumerSendMsgBack:
      AddGroup(out, req.ExtOr("group", ""));
      break;
    case code::kPullMessage:
    case code::kLitePullMessage:
      AddTopic(out, req.ExtOr("topic", ""), perm::kSub);
      AddGroup(out, req.ExtOr("consumerGroup", ""));
      break;
    case code::kQueryMessage:
      AddTopic(out, req.ExtOr("topic", ""), perm::kSub);
      break;
    case code::kUnregisterClient:
    case code::kGetConsumerListByGroup:
      AddGroup(out, req.ExtOr("consumerGroup", ""));
      break;
    case code::kQueryConsumerOffset:
    case code::kUpdateConsumerOffset:
      AddGroup(out, req.ExtOr("consumerGroup", ""));
      AddTopic(out, req.ExtOr("topic", ""), perm::kSub);
      break;
    case code::kHeartBeat: {
      Result<HeartbeatData> hb = HeartbeatData::Parse(req.body_view());
      if (!hb.ok()) return hb.status();
      for (const ConsumerData& cd : hb->consumers) {
        AddGroup(out, cd.group_name);
        for (const SubscriptionData& sd : cd.subscriptions)
          AddTopic(out, sd.topic, perm::kSub);
      }
      break;
    }
    default:
      break;
  }
  return out;
}

PlainAccessValidator::PlainAccessValidator(AclOptions options,
                                           const Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

Result<PlainAccessValidator::FileStamp> PlainAccessValidator::Stat() const {
  struct stat st {};
  if (::stat(options_.file_path.c_str(), &st) != 0)
    return Status::IOError("stat " + options_.file_path, errno);
  FileStamp s;
  s.mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.size = static_cast<int64_t>(st.st_size);
  s.inode = static_cast<uint64_t>(st.st_ino);
  return s;
}

Result<PlainAclConfig> PlainAccessValidator::ReadFile() const {
  std::ifstream in(options_.file_path, std::ios::binary);
  if (!in) return Status::IOError("open " + options_.file_path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  Result<PlainAclConfig> c = PlainAclConfig::Parse(text.str());
  if (!c.ok())
    return Status::InvalidArgument(options_.file_path + ": " +
                                   std::string(c.status().message()));
  return c;
}

Result<std::shared_ptr<const PlainAccessValidator::Rules>>
PlainAccessValidator::Compile(const PlainAclConfig& config) {
  auto rules = std::make_shared<Rules>();
  rules->data_version = config.data_version;
  for (const std::string& p : config.global_white_remote_addresses) {
    Result<RemoteAddressMatcher> m = RemoteAddressMatcher::Parse(p);
    if (!m.ok()) return m.status();
    rules->global_white.push_back(std::move(m).value());
  }
  for (const PlainAccessAccount& a : config.accounts) {
    if (rules->accounts.contains(a.access_key)) {
      TH_LOG(broker, kWarn,
             "ACL: accessKey {} is defined twice; the first one wins",
             a.access_key);
      continue;
    }
    Account acc;
    acc.secret_key = a.secret_key;
    Result<RemoteAddressMatcher> m =
        RemoteAddressMatcher::Parse(a.white_remote_address);
    if (!m.ok()) return m.status();
    acc.white = std::move(m).value();
    acc.admin = a.admin;
    acc.default_topic_perm = perm::Parse(a.default_topic_perm);
    acc.default_group_perm = perm::Parse(a.default_group_perm);
    for (const std::string& e : a.topic_perms) {
      Result<std::pair<std::string, uint8_t>> r = ParseResourcePerm(e);
      if (!r.ok()) return r.status();
      acc.resources[r->first] = r->second;
    }
    for (const std::string& e : a.group_perms) {
      Result<std::pair<std::string, uint8_t>> r = ParseResourcePerm(e);
      if (!r.ok()) return r.status();
      acc.resources[GroupResource(r->first)] = r->second;
    }
    rules->accounts.emplace(a.access_key, std::move(acc));
  }
  return std::shared_ptr<const Rules>(std::move(rules));
}

Status PlainAccessValidator::Load() {
  if (::access(options_.file_path.c_str(), F_OK) != 0) {
    std::ofstream create(options_.file_path, std::ios::binary);
    if (!create)
      return Status::IOError("create ACL file " + options_.file_path, errno);
    TH_LOG(broker, kWarn,
           "ACL file {} did not exist; created it empty (no accounts)",
           options_.file_path);
  }
  Result<FileStamp> stamp = Stat();
  if (!stamp.ok()) return stamp.status();
  Result<PlainAclConfig> config = ReadFile();
  if (!config.ok()) return config.status();
  Result<std::shared_ptr<const Rules>> rules = Compile(*config);
  if (!rules.ok()) return rules.status();
  MutexLock lock(&mu_);
  rules_ = std::move(rules).value();
  stamp_ = *stamp;
  TH_LOG(broker, kInfo,
         "ACL enabled: {} accounts, {} global white addresses from {}",
         rules_->accounts.size(), rules_->global_white.size(),
         options_.file_path);
  return Status::OK();
}

bool PlainAccessValidator::ReloadIfChanged() {
  Result<FileStamp> stamp = Stat();
  if (!stamp.ok()) {
    TH_LOG(broker, kWarn, "ACL file {}: {}; keeping the rules in effect",
           options_.file_path, stamp.status().ToString());
    return false;
  }
  {
    MutexLock lock(&mu_);
    if (*stamp == stamp_) return false;
  }
  Result<PlainAclConfig> config = ReadFile();
  Result<std::shared_ptr<const Rules>> rules =
      config.ok() ? Compile(*config)
                  : Result<std::shared_ptr<const Rules>>(config.status());
  MutexLock lock(&mu_);
  stamp_ = *stamp;  // a broken file is reported once, not every interval
  if (!rules.ok()) {
    TH_LOG(broker, kError,
           "ACL file {} changed but cannot be used, keeping the old rules: {}",
           options_.file_path, rules.status().ToString());
    return false;
  }
  rules_ = std::move(rules).value();
  TH_LOG(broker, kInfo,
         "ACL file {} reloaded: {} accounts, {} global white addresses",
         options_.file_path, rules_->accounts.size(),
         rules_->global_white.size());
  return true;
}

std::shared_ptr<const PlainAccessValidator::Rules> PlainAccessValidator::rules()
    const {
  MutexLock lock(&mu_);
  return rules_;
}

bool PlainAccessValidator::GloballyWhiteListed(std::string_view ip) const {
  std::shared_ptr<const Rules> r = rules();
  if (!r) return false;
  for (const RemoteAddressMatcher& m : r->global_white)
    if (m.Matches(ip)) return true;
  return false;
}

AclDataVersion PlainAccessValidator::data_version() const {
  MutexLock lock(&mu_);
  return rules_ ? rules_->data_version : AclDataVersion{};
}

PlainAccessValidator::Decision PlainAccessValidator::Validate(
    const RemotingCommand& req, std::string_view client_ip) const {
  std::shared_ptr<const Rules> r = rules();
  if (!r) return {false, "ACL rules are not loaded", false};
  for (const RemoteAddressMatcher& m : r->global_white)
    if (m.Matches(client_ip))
      return {true, "global white remote address " + m.pattern(), false};

  const std::string_view ak = req.ExtOr(remoting::kAclAccessKey, "");
  if (ak.empty()) return {false, "No accessKey is configured", true};
  auto it = r->accounts.find(ak);
  if (it == r->accounts.end())
    return {false, fmt::format("No acl config for {}", ak), true};
  const Account& acc = it->second;
  if (acc.white.Matches(client_ip))
    return {true,
            "white remote address " + acc.white.pattern() + " of " +
                std::string(ak),
            false};

  const std::string_view sig = req.ExtOr(remoting::kAclSignature, "");
  const std::string expected =
      remoting::ComputeRequestSignature(acc.secret_key, req);
  if (sig.empty() || !remoting::SignaturesEqual(sig, expected))
    return {false, fmt::format("Check signature failed for accessKey={}", ak),
            true};

  Result<std::vector<AclResource>> needed = RequiredResources(req);
  if (!needed.ok())
    return {false,
            fmt::format("cannot read the resources of request code={}: {}",
                        req.code(), needed.status().message()),
            false};
  return Permit(acc, ak, req.code(), *needed);
}

PlainAccessValidator::Decision PlainAccessValidator::ValidateSigned(
    std::string_view access_key, std::string_view signed_content,
    std::string_view signature_base64, const std::vector<AclResource>& needed,
    int32_t code, std::string_view client_ip) const {
  std::shared_ptr<const Rules> r = rules();
  if (!r) return {false, "ACL rules are not loaded", false};
  for (const RemoteAddressMatcher& m : r->global_white)
    if (m.Matches(client_ip))
      return {true, "global white remote address " + m.pattern(), false};
  if (access_key.empty()) return {false, "No accessKey is configured", true};
  auto it = r->accounts.find(access_key);
  if (it == r->accounts.end())
    return {false, fmt::format("No acl config for {}", access_key), true};
  const Account& acc = it->second;
  if (acc.white.Matches(client_ip))
    return {true,
            "white remote address " + acc.white.pattern() + " of " +
                std::string(access_key),
            false};
  const std::string expected = remoting::HmacSha1Base64(
      acc.secret_key, std::as_bytes(std::span(signed_content.data(),
                                              signed_content.size())));
  if (signature_base64.empty() ||
      !remoting::SignaturesEqual(signature_base64, expected))
    return {false,
            fmt::format("Check signature failed for accessKey={}", access_key),
            true};
  return Permit(acc, access_key, code, needed);
}

PlainAccessValidator::Decision PlainAccessValidator::Permit(
    const Account& acc, std::string_view ak, int32_t code,
    const std::vector<AclResource>& needed) {
  for (const AclResource& res : needed)
    if (res.name == kTraceTopic && (res.needed & perm::kPub))
      return {true, "trace topic", false};
  if (acc.admin) return {true, "admin account", false};
  if (IsAdminCode(code))
    return {false,
            fmt::format("Need admin permission for request code={}, but "
                        "accessKey={} is not",
                        code, ak),
            false};
  for (const AclResource& res : needed) {
    const bool group = res.name.starts_with(kRetryGroupTopicPrefix);
    auto listed = acc.resources.find(res.name);
    const uint8_t owned =
        listed != acc.resources.end()
            ? listed->second
            : (group ? acc.default_group_perm : acc.default_topic_perm);
    if (!perm::Check(res.needed, owned)) {
      const std::string what =
          group ? "group:" + res.name.substr(kRetryGroupTopicPrefix.size())
                : "topic:" + res.name;
      return {false,
              fmt::format("No {} permission for {} (accessKey={} has {})",
                          perm::Name(res.needed), what, ak, perm::Name(owned)),
              false};
    }
  }
  return {true, "signed and permitted", false};
}

bool PlainAccessValidator::Blocked(const std::string& ip, int64_t now_ms) {
  MutexLock lock(&throttle_mu_);
  auto it = failures_.find(ip);
  if (it == failures_.end()) return false;
  FailureCount& f = it->second;
  if (f.blocked_until_ms == 0) return false;
  if (now_ms < f.blocked_until_ms) return true;
  failures_.erase(it);  // the block is over: start counting afresh
  return false;
}

void PlainAccessValidator::CountFailure(const std::string& ip, int64_t now_ms) {
  MutexLock lock(&throttle_mu_);
  if (failures_.size() >= kMaxTrackedAddresses && !failures_.contains(ip)) {
    std::erase_if(failures_, [&](const auto& e) {
      const FailureCount& f = e.second;
      return f.blocked_until_ms != 0 ? now_ms >= f.blocked_until_ms
                                     : now_ms - f.window_start_ms >=
                                           options_.auth_failure_window_ms;
    });
    if (failures_.size() >= kMaxTrackedAddresses) return;
  }
  FailureCount& f = failures_[ip];
  if (f.failures == 0 ||
      now_ms - f.window_start_ms >= options_.auth_failure_window_ms) {
    f.window_start_ms = now_ms;
    f.failures = 0;
  }
  if (++f.failures >= options_.max_auth_failures) {
    f.blocked_until_ms = now_ms + options_.auth_block_ms;
    TH_LOG(broker, kWarn,
           "ACL: {} failed authentication {} times within {} ms; refusing its "
           "requests for {} ms",
           ip, f.failures, options_.auth_failure_window_ms,
           options_.auth_block_ms);
  }
}

size_t PlainAccessValidator::BlockedAddressCountForTesting() const {
  MutexLock lock(&throttle_mu_);
  const int64_t now = clock_->NowMs();
  return static_cast<size_t>(
      std::count_if(failures_.begin(), failures_.end(), [&](const auto& e) {
        return e.second.blocked_until_ms != 0 &&
               now < e.second.blocked_until_ms;
      }));
}

std::optional<std::string> PlainAccessValidator::AdmitFrom(
    std::string_view client_ip, const RemotingCommand& req) {
  if (!options_.only_codes.empty() &&
      std::find(options_.only_codes.begin(), options_.only_codes.end(),
                req.code()) == options_.only_codes.end()) {
    return std::nullopt;
  }
  const std::string ip(client_ip);
  const int64_t now = clock_->NowMs();
  const std::string_view ak = req.ExtOr(remoting::kAclAccessKey, "");
  if (Blocked(ip, now) && !GloballyWhiteListed(ip)) {
    // Logged once, when the block began (CountFailure).
    return fmt::format("too many failed authentications from {}; retry later",
                       ip);
  }
  Decision d = Validate(req, ip);
  if (d.allowed) {
    TH_LOG(broker, kDebug, "ACL: code {} from {} accepted: {}", req.code(), ip,
           d.reason);
    return std::nullopt;
  }
  TH_LOG(broker, kWarn, "ACL refused code {} from {} accessKey={}: {}",
         req.code(), ip, ak.empty() ? "(none)" : ak, d.reason);
  if (d.auth_failure) CountFailure(ip, now);
  return std::move(d.reason);
}

std::optional<PlainAccessValidator::Decision> PlainAccessValidator::AdmitSigned(
    std::string_view client_ip, std::string_view access_key,
    std::string_view signed_content, std::string_view signature_base64,
    const std::vector<AclResource>& needed, int32_t code) {
  const std::string ip(client_ip);
  const int64_t now = clock_->NowMs();
  if (Blocked(ip, now) && !GloballyWhiteListed(ip)) {
    return Decision{
        false,
        fmt::format("too many failed authentications from {}; retry later", ip),
        true};
  }
  Decision d = ValidateSigned(access_key, signed_content, signature_base64,
                              needed, code, ip);
  if (d.allowed) {
    TH_LOG(broker, kDebug, "ACL: gRPC code {} from {} accepted: {}", code, ip,
           d.reason);
    return std::nullopt;
  }
  TH_LOG(broker, kWarn, "ACL refused gRPC code {} from {} accessKey={}: {}",
         code, ip, access_key.empty() ? "(none)" : access_key, d.reason);
  if (d.auth_failure) CountFailure(ip, now);
  return d;
}

bool PlainAccessValidator::Admit(
    const std::shared_ptr<remoting::Connection>& conn,
    const RemotingCommand& req) {
  std::optional<std::string> refused = AdmitFrom(ClientIp(*conn), req);
  if (!refused) return true;
  remoting::Responder(conn, req).Send(req.CreateResponse(
      remoting::response_code::kNoPermission, std::move(*refused)));
  return false;
}

Status PlainAccessValidator::WriteFile(PlainAclConfig config) {
  config.data_version.counter += 1;
  config.data_version.timestamp = clock_->NowMs();
  const std::string text = config.Encode();
  // What would be loaded must load: check before the file is replaced.
  Result<PlainAclConfig> reparsed = PlainAclConfig::Parse(text);
  if (!reparsed.ok()) return reparsed.status();
  Result<std::shared_ptr<const Rules>> rules = Compile(*reparsed);
  if (!rules.ok()) return rules.status();
  const std::string tmp = options_.file_path + ".tmp";
  {
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("open " + tmp, errno);
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return Status::IOError("write " + tmp, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("fsync " + tmp, err);
    }
    ::close(fd);
  }
  if (::rename(tmp.c_str(), options_.file_path.c_str()) != 0)
    return Status::IOError("rename " + tmp + " to " + options_.file_path,
                           errno);
  Result<FileStamp> stamp = Stat();
  MutexLock lock(&mu_);
  rules_ = std::move(rules).value();
  if (stamp.ok()) stamp_ = *stamp;
  TH_LOG(broker, kInfo, "ACL file {} rewritten (data version {}): {} accounts",
         options_.file_path, rules_->data_version.counter,
         rules_->accounts.size());
  return Status::OK();
}

void AclWatchService::Run() {
  while (!stopped()) {
    WaitForRunning(validator_->options().watch_interval_ms);
    if (stopped()) break;
    validator_->ReloadIfChanged();
  }
}

}  // namespace thruster::broker::acl
