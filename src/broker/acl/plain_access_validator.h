#pragma once

// ACL 1.0 ("plain access", spec/acl.md §4): decides, before any processor
// runs, whether a request may proceed: global white list, access key,
// per-account white address, HMAC-SHA1 signature (constant-time compare), the
// admin codes and the PUB/SUB permission each request code needs on its topics
// and groups. Also throttles addresses that keep failing authentication and
// reloads plain_acl.yml when it changes.
//
// Decisions follow RocketMQ 5.x plain ACL (acl.md §11): an admin account
// passes every permission check; SEND_MESSAGE to a retry topic needs SUB on its
// group; ACL admin codes 50-53 need an admin account. QUERY_CONSUMER_OFFSET and
// LITE_PULL_MESSAGE are checked like UPDATE_CONSUMER_OFFSET and PULL_MESSAGE
// (a tightening). A refused request is answered NO_PERMISSION (16) with the
// reason as remark (the choice over 4.x's SYSTEM_ERROR); the remark
// never contains a secret.
//
// Throttling rule: max_auth_failures (10) authentication failures (no access
// key, unknown key, bad signature) from one client IP within
// auth_failure_window_ms (60 s) block that IP for auth_block_ms (30 s): its
// requests are then refused without being checked (unless the global white
// list admits the IP), and logged once. Other addresses are not affected;
// permission failures of a correctly signed request do not count.
//
// Lifecycle: construct → Load() → Admit()/Validate() from any thread;
// ReloadIfChanged() from the `acl-watch` thread (AclWatchService) or a test.
// Thread-safe. `clock` must outlive it.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/acl/plain_acl_config.h"
#include "broker/acl/remote_address_matcher.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "remoting/connection.h"
#include "remoting/remoting_command.h"

namespace thruster::broker::acl {

struct AclOptions {
  // The plain_acl.yml to read (and, for the admin commands, to rewrite).
  std::string file_path;
  int max_auth_failures = 10;
  int64_t auth_failure_window_ms = 60000;
  int64_t auth_block_ms = 30000;
  // How often AclWatchService looks at the file (RocketMQ: 5000 ms).
  int64_t watch_interval_ms = 5000;
  // Name-server mode: only these codes are checked (admin writes); every other
  // request passes untouched. Empty: every request is checked (broker).
  std::vector<int32_t> only_codes;
};

// A resource a request needs: a topic, or a group as "%RETRY%<group>".
struct AclResource {
  std::string name;
  uint8_t needed = 0;  // perm:: bits
  friend bool operator==(const AclResource&, const AclResource&) = default;
};

// The resources request `req` needs (acl.md §4.1); InvalidArgument when its
// body cannot be read (a HEART_BEAT that is not JSON).
Result<std::vector<AclResource>> RequiredResources(
    const remoting::RemotingCommand& req);
// Where plain_acl.yml is when aclFile is not set: conf/plain_acl.yml under
// $ROCKETMQ_HOME when that is set (RocketMQ's place), else plain_acl.yml in the
// directory of `config_file` (the broker's -c file) when one was given, else
// conf/plain_acl.yml under the working directory.
std::string DefaultAclFilePath(std::string_view config_file);
// The name server's admin writes (KV config, broker write permission, topic
// deletion and registration, config update): what a name server checks when
// ACL is on (AclOptions::only_codes).
std::vector<int32_t> NameServerAdminWriteCodes();
// RocketMQ's admin codes plus the ACL admin codes 50-53.
bool IsAdminCode(int32_t code);

class PlainAccessValidator {
 public:
  struct Decision {
    bool allowed = false;
    std::string
        reason;  // why refused (or which white list admitted), no secrets
    bool auth_failure = false;  // counts toward throttling
  };

  PlainAccessValidator(AclOptions options, const Clock* clock);

  // Reads the file; a missing file is created empty (RocketMQ does the same).
  // InvalidArgument / IOError naming the path when it cannot be read or parsed:
  // the broker then refuses to start.
  Status Load() TH_EXCLUDES(mu_);
  // Re-reads the file when its modification time or size changed since the
  // last read. A file that no longer parses keeps the previous rules (logged).
  // True when new rules took effect.
  bool ReloadIfChanged() TH_EXCLUDES(mu_);

  // The decision for `req` from `client_ip` (no port). Pure: no logging, no
  // throttling.
  Decision Validate(const remoting::RemotingCommand& req,
                    std::string_view client_ip) const TH_EXCLUDES(mu_);
  // The decision for a request signed another way (a gRPC call, acl.md
  // §10.2): `signature_base64` must be Base64(HMAC-SHA1(secret of
  // `access_key`, `signed_content`)) (the client's hex signature converted);
  // then the resources `needed` by an operation of request code `code` are
  // checked as Validate checks them. Pure.
  Decision ValidateSigned(std::string_view access_key,
                          std::string_view signed_content,
                          std::string_view signature_base64,
                          const std::vector<AclResource>& needed, int32_t code,
                          std::string_view client_ip) const TH_EXCLUDES(mu_);
  // ValidateSigned with AdmitFrom's throttling and logging: the refusal, or
  // nullopt when admitted (a throttled address counts as an authentication
  // failure).
  std::optional<Decision> AdmitSigned(std::string_view client_ip,
                                         std::string_view access_key,
                                         std::string_view signed_content,
                                         std::string_view signature_base64,
                                         const std::vector<AclResource>& needed,
                                         int32_t code)
      TH_EXCLUDES(throttle_mu_, mu_);
  // The dispatch hook: true when `req` may go on to its processor. Otherwise it
  // was answered NO_PERMISSION through a responder on `conn` (nothing for a
  // oneway request), logged with peer address and access key, and counted for
  // throttling.
  bool Admit(const std::shared_ptr<remoting::Connection>& conn,
             const remoting::RemotingCommand& req)
      TH_EXCLUDES(throttle_mu_, mu_);
  // Admit's core, for tests without a socket: the remark of the refusal, or
  // nullopt when admitted.
  std::optional<std::string> AdmitFrom(std::string_view client_ip,
                                       const remoting::RemotingCommand& req)
      TH_EXCLUDES(throttle_mu_, mu_);

  // The file's current content (for the admin commands).
  Result<PlainAclConfig> ReadFile() const;
  // Bumps the data version, writes `config` (temp file + rename) and makes it
  // the rules in effect. InvalidArgument when `config` would not load.
  Status WriteFile(PlainAclConfig config) TH_EXCLUDES(mu_);
  // The data version of the rules in effect.
  AclDataVersion data_version() const TH_EXCLUDES(mu_);
  const AclOptions& options() const { return options_; }
  // Client IPs currently blocked by throttling.
  size_t BlockedAddressCountForTesting() const TH_EXCLUDES(throttle_mu_);

 private:
  struct Account {
    std::string secret_key;
    RemoteAddressMatcher white;
    bool admin = false;
    uint8_t default_topic_perm = perm::kDeny;
    uint8_t default_group_perm = perm::kDeny;
    std::map<std::string, uint8_t, std::less<>> resources;  // groups as %RETRY%
  };
  struct Rules {
    std::vector<RemoteAddressMatcher> global_white;
    std::map<std::string, Account, std::less<>> accounts;
    AclDataVersion data_version;
  };
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;  // a rewrite by rename changes it
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  struct FailureCount {
    int64_t window_start_ms = 0;
    int failures = 0;
    int64_t blocked_until_ms = 0;
    bool block_logged = false;
  };

  static Result<std::shared_ptr<const Rules>> Compile(
      const PlainAclConfig& config);
  // The permission part of a decision, once `acc` (access key `ak`) is
  // authenticated.
  static Decision Permit(const Account& acc, std::string_view ak, int32_t code,
                         const std::vector<AclResource>& needed);
  Result<FileStamp> Stat() const;
  std::shared_ptr<const Rules> rules() const TH_EXCLUDES(mu_);
  // A blocked address that the global white list now admits is served.
  bool GloballyWhiteListed(std::string_view ip) const TH_EXCLUDES(mu_);
  // Throttling: true when `ip` is blocked now.
  bool Blocked(const std::string& ip, int64_t now_ms) TH_EXCLUDES(throttle_mu_);
  void CountFailure(const std::string& ip, int64_t now_ms)
      TH_EXCLUDES(throttle_mu_);

  const AclOptions options_;
  const Clock* const clock_;

  mutable Mutex mu_;
  std::shared_ptr<const Rules> rules_ TH_GUARDED_BY(mu_);
  FileStamp stamp_ TH_GUARDED_BY(mu_);

  mutable Mutex throttle_mu_;
  std::unordered_map<std::string, FailureCount> failures_
      TH_GUARDED_BY(throttle_mu_);
};

// The `acl-watch` thread: calls ReloadIfChanged() every watch_interval_ms.
// Lifecycle: construct → Start() → Stop(). `validator` must outlive it.
class AclWatchService : public ServiceThread {
 public:
  explicit AclWatchService(PlainAccessValidator* validator)
      : ServiceThread("acl-watch"), validator_(validator) {}
  ~AclWatchService() override { Stop(); }

 protected:
  void Run() override;

 private:
  PlainAccessValidator* validator_;
};

}  // namespace thruster::broker::acl
