// Plain ACL 1.0 in the broker (spec/acl.md): address patterns, the
// plain_acl.yml schema, the validator's decisions, throttling, reloads and the
// ACL admin commands, driven without a socket.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "broker/acl/acl_config_processor.h"
#include "broker/acl/plain_access_validator.h"
#include "broker/acl/plain_acl_config.h"
#include "broker/acl/remote_address_matcher.h"
#include "remoting/acl_signature.h"
#include "remoting/codes.h"
#include "tests/support/test_util.h"

namespace thruster::broker::acl {
namespace {

using remoting::RemotingCommand;
using ::testing::HasSubstr;
using ::testing::Not;
namespace code = remoting::request_code;
namespace rc = remoting::response_code;

bool Match(std::string_view pattern, std::string_view ip) {
  Result<RemoteAddressMatcher> m = RemoteAddressMatcher::Parse(pattern);
  EXPECT_TRUE(m.ok()) << pattern << ": " << m.status().ToString();
  return m.ok() && m->Matches(ip);
}

TEST(RemoteAddressMatcherTest, SpecExamples) {
  const char* ip = "192.168.1.77";
  EXPECT_TRUE(Match("192.168.1.*", ip));
  EXPECT_TRUE(Match("192.168.1.1-100", ip));
  EXPECT_TRUE(Match("192.168.*.*", ip));
  EXPECT_TRUE(Match("192.168.1.{76,77}", ip));
  EXPECT_FALSE(Match("192.168.1.76,192.168.1.78", ip));
  EXPECT_FALSE(Match("192.168.2.*", ip));
  EXPECT_FALSE(Match("", ip));
  EXPECT_FALSE(Match("192.168.1.78-100", ip));
  EXPECT_TRUE(Match("192.168.1.77", ip));
  EXPECT_TRUE(Match(" 192.168.1.76,192.168.1.77 ", ip));
}

TEST(RemoteAddressMatcherTest, WildcardsAndRanges) {
  EXPECT_TRUE(Match("*", "10.0.0.1"));
  EXPECT_TRUE(Match("*.*.*.*", "10.0.0.1"));
  EXPECT_TRUE(Match("*", "::1"));
  // Segments after the range one are not examined.
  EXPECT_TRUE(Match("10.1-20.5.9", "10.7.200.3"));
  EXPECT_FALSE(Match("10.1-20.*.*", "10.21.0.0"));
  EXPECT_FALSE(Match("10.1-20.*.*", "11.5.0.0"));
}

TEST(RemoteAddressMatcherTest, Ipv6ComparesExpandedForms) {
  EXPECT_TRUE(Match("::1", "0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(Match("1050::5:{1,2}", "1050:0:0:0:0:0:5:2"));
  EXPECT_FALSE(Match("1050::5:{1,2}", "1050:0:0:0:0:0:5:3"));
  EXPECT_TRUE(Match("1050:0:0:0:0:0:5:*", "1050::5:abcd"));
  // An IPv4-mapped client address is its IPv4 address.
  EXPECT_TRUE(Match("127.0.0.1", "::ffff:127.0.0.1"));
}

TEST(RemoteAddressMatcherTest, InvalidPatternsAreRefused) {
  for (const char* bad :
       {"192.168.1.300", "abc", "192.168.1.{1,x}", "1.2.3.4,nope",
        "192.168.5-1.*", "*.1.2.3", "1.2.*"}) {
    EXPECT_FALSE(RemoteAddressMatcher::Parse(bad).ok()) << bad;
  }
}

constexpr const char* kSpecYaml = R"(globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    admin: true
)";

TEST(PlainAclConfigTest, ReadsTheSpecExample) {
  ASSERT_OK_AND_ASSIGN(PlainAclConfig c, PlainAclConfig::Parse(kSpecYaml));
  EXPECT_THAT(c.global_white_remote_addresses,
              ::testing::ElementsAre("10.10.103.*", "192.168.0.*"));
  ASSERT_EQ(c.accounts.size(), 2u);
  EXPECT_EQ(c.accounts[0].access_key, "RocketMQ");
  EXPECT_EQ(c.accounts[0].secret_key, "12345678");
  EXPECT_EQ(c.accounts[0].topic_perms.size(), 3u);
  EXPECT_FALSE(c.accounts[0].admin);
  EXPECT_TRUE(c.accounts[1].admin);
  EXPECT_EQ(c.accounts[1].white_remote_address, "192.168.1.*");
}

TEST(PlainAclConfigTest, EncodeThenParseGivesTheSameConfig) {
  ASSERT_OK_AND_ASSIGN(PlainAclConfig c, PlainAclConfig::Parse(kSpecYaml));
  c.data_version = {7, 1700000000000};
  ASSERT_OK_AND_ASSIGN(PlainAclConfig back, PlainAclConfig::Parse(c.Encode()));
  EXPECT_EQ(back.Encode(), c.Encode());
  EXPECT_EQ(back.data_version.counter, 7);
  EXPECT_EQ(back.accounts[0].group_perms, c.accounts[0].group_perms);
}

TEST(PlainAclConfigTest, RefusesWhatRocketMqRefuses) {
  EXPECT_FALSE(PlainAclConfig::Parse(
                   "accounts:\n  - accessKey: short\n    secretKey: 12345678\n")
                   .ok());
  EXPECT_FALSE(PlainAclConfig::Parse(
                   "accounts:\n  - accessKey: longenough\n    secretKey: 123\n")
                   .ok());
  EXPECT_FALSE(
      PlainAclConfig::Parse(
          "accounts:\n  - accessKey: longenough\n    secretKey: 12345678\n"
          "    topicPerms:\n      - topicA\n")
          .ok());
  EXPECT_FALSE(
      PlainAclConfig::Parse("globalWhiteRemoteAddresses:\n  - 300.1.1.1\n")
          .ok());
  EXPECT_FALSE(PlainAclConfig::Parse("accounts: [\n").ok());  // YAML syntax
  Result<PlainAclConfig> empty = PlainAclConfig::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->accounts.empty());
}

TEST(PermissionTest, RocketMqRules) {
  EXPECT_EQ(perm::Parse("PUB|SUB"), perm::kPub | perm::kSub);
  EXPECT_EQ(perm::Parse(" SUB|PUB "), perm::kPub | perm::kSub);
  EXPECT_EQ(perm::Parse("PUB | SUB"), perm::kDeny);
  EXPECT_EQ(perm::Parse("pub"), perm::kDeny);
  EXPECT_EQ(perm::Parse(""), perm::kDeny);
  EXPECT_TRUE(perm::Check(perm::kPub, perm::kPub | perm::kSub));
  EXPECT_FALSE(perm::Check(perm::kPub, perm::kSub));
  EXPECT_TRUE(perm::Check(perm::kAny, perm::kSub));
  EXPECT_FALSE(perm::Check(perm::kAny, perm::kDeny));
  EXPECT_FALSE(perm::Check(perm::kSub, perm::kDeny | perm::kSub));
}

class AclValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(kSpecYaml);
    AclOptions o;
    o.file_path = path_;
    o.max_auth_failures = 3;
    o.auth_failure_window_ms = 10000;
    o.auth_block_ms = 5000;
    validator_ = std::make_unique<PlainAccessValidator>(o, &clock_);
    ASSERT_OK(validator_->Load());
  }
  void Write(const std::string& text) {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp, std::ios::binary) << text;
    std::filesystem::rename(tmp, path_);
  }
  static RemotingCommand Req(
      int32_t c, std::initializer_list<std::pair<std::string, std::string>> ext,
      std::string_view body = {}) {
    RemotingCommand req = RemotingCommand::CreateRequest(c);
    for (const auto& [k, v] : ext) req.SetExt(k, v);
    if (!body.empty()) req.set_body(body);
    return req;
  }
  static RemotingCommand Signed(RemotingCommand req,
                                std::string_view ak = "RocketMQ",
                                std::string_view sk = "12345678") {
    remoting::SignRequest(req, ak, sk);
    return req;
  }
  static RemotingCommand Send(std::string topic) {
    return Req(code::kSendMessageV2, {{"a", "PG"}, {"b", topic}, {"e", "0"}},
               "body");
  }
  static RemotingCommand Pull(std::string topic, std::string group) {
    return Req(code::kPullMessage,
               {{"topic", topic}, {"consumerGroup", group}});
  }
  // The refusal remark, or "" when admitted.
  std::string Admit(const RemotingCommand& req,
                    std::string_view ip = "10.0.0.5") {
    return validator_->AdmitFrom(ip, req).value_or("");
  }

  testing::TempDir dir_;
  std::string path_ = dir_.path() + "/plain_acl.yml";
  ManualClock clock_;
  std::unique_ptr<PlainAccessValidator> validator_;
};

TEST_F(AclValidatorTest, SignedRequestWithPermissionPasses) {
  EXPECT_EQ(Admit(Signed(Send("topicB"))), "");
  EXPECT_EQ(Admit(Signed(Pull("topicB", "groupB"))), "");
  EXPECT_EQ(Admit(Signed(Pull("topicC", "anyGroup"))),
            "");  // defaultGroupPerm SUB
}

TEST_F(AclValidatorTest, MissingOrUnknownKeysAndBadSignaturesAreRefused) {
  EXPECT_THAT(Admit(Send("topicB")), HasSubstr("No accessKey is configured"));
  EXPECT_THAT(Admit(Signed(Send("topicB"), "NoSuchKey1")),
              HasSubstr("No acl config for NoSuchKey1"));
  const std::string wrong =
      Admit(Signed(Send("topicB"), "RocketMQ", "87654321"));
  EXPECT_THAT(wrong,
              HasSubstr("Check signature failed for accessKey=RocketMQ"));
  EXPECT_THAT(wrong, Not(HasSubstr("12345678")));
  RemotingCommand no_sig = Signed(Send("topicB"));
  no_sig.mutable_ext_fields().erase("Signature");
  // (from another address: this fixture throttles after three failures)
  EXPECT_THAT(Admit(no_sig, "10.0.0.6"), HasSubstr("Check signature failed"));
}

TEST_F(AclValidatorTest, TamperedBodyOrHeaderFailsTheSignature) {
  RemotingCommand body = Signed(Send("topicB"));
  body.set_body(std::string_view("bodz"));
  EXPECT_THAT(Admit(body), HasSubstr("Check signature failed"));
  RemotingCommand header = Signed(Send("topicB"));
  header.SetExt("e", "1");  // another queue
  EXPECT_THAT(Admit(header), HasSubstr("Check signature failed"));
  RemotingCommand added = Signed(Send("topicB"));
  added.SetExt("zz", "1");
  EXPECT_THAT(Admit(added), HasSubstr("Check signature failed"));
}

TEST_F(AclValidatorTest, PermissionsFollowTopicAndGroupPerms) {
  EXPECT_THAT(Admit(Signed(Send("topicC"))),
              HasSubstr("No PUB permission for topic:topicC"));
  EXPECT_THAT(Admit(Signed(Send("topicA"))), HasSubstr("topic:topicA"));
  EXPECT_THAT(Admit(Signed(Send("unlisted"))),
              HasSubstr("topic:unlisted"));  // default DENY
  EXPECT_THAT(Admit(Signed(Pull("topicB", "groupA"))),
              HasSubstr("No SUB permission for group:groupA"));
  EXPECT_THAT(Admit(Signed(Pull("topicA", "groupB"))),
              HasSubstr("No SUB permission for topic:topicA"));
  // A send to a retry topic needs SUB on its group.
  EXPECT_EQ(Admit(Signed(Send("%RETRY%groupB"))), "");
  EXPECT_THAT(Admit(Signed(Send("%RETRY%groupA"))), HasSubstr("group:groupA"));
  EXPECT_EQ(
      Admit(Signed(Req(code::kUpdateConsumerOffset,
                       {{"consumerGroup", "groupC"}, {"topic", "topicC"}}))),
      "");
  EXPECT_THAT(
      Admit(Signed(Req(code::kConsumerSendMsgBack, {{"group", "groupA"}}))),
      HasSubstr("group:groupA"));
  // Codes with no resources need only a valid signature.
  EXPECT_EQ(Admit(Signed(Req(code::kGetMaxOffset, {{"topic", "topicA"}}))), "");
  // A recall needs PUB on its topic, as a send does.
  EXPECT_EQ(Admit(Signed(Req(code::kRecallMessage, {{"producerGroup", "p"},
                                                    {"topic", "topicB"},
                                                    {"recallHandle", "h"}}))),
            "");
  EXPECT_THAT(Admit(Signed(Req(code::kRecallMessage, {{"producerGroup", "p"},
                                                      {"topic", "topicC"},
                                                      {"recallHandle", "h"}}))),
              HasSubstr("No PUB permission for topic:topicC"));
}

TEST_F(AclValidatorTest, HeartbeatNeedsSubOnEveryConsumerGroupAndTopic) {
  auto hb = [](std::string group, std::string topic) {
    return Req(
        code::kHeartBeat, {},
        R"({"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":")" +
            group + R"(","subscriptionDataSet":[{"topic":")" + topic +
            R"(","subString":"*"}]}]})");
  };
  EXPECT_EQ(Admit(Signed(hb("groupB", "topicC"))), "");
  EXPECT_THAT(Admit(Signed(hb("groupB", "topicA"))), HasSubstr("topic:topicA"));
  EXPECT_THAT(Admit(Signed(hb("groupA", "topicB"))), HasSubstr("group:groupA"));
  EXPECT_EQ(Admit(Signed(hb("groupB", "%RETRY%groupB"))), "");
  EXPECT_THAT(Admit(Signed(Req(code::kHeartBeat, {}, "not json"))),
              HasSubstr("heartbeat"));
}

TEST_F(AclValidatorTest, AdminCodesNeedAnAdminAccount) {
  RemotingCommand create = Req(code::kUpdateAndCreateTopic, {{"topic", "T1"}});
  EXPECT_THAT(
      Admit(Signed(create)),
      HasSubstr(
          "Need admin permission for request code=17, but accessKey=RocketMQ"));
  EXPECT_THAT(
      Admit(Signed(Req(code::kDeleteAclConfig, {{"accessKey", "RocketMQ"}}))),
      HasSubstr("Need admin permission"));
  // rocketmq2 is admin: signed from outside its white list it passes
  // everything.
  EXPECT_EQ(Admit(Signed(create, "rocketmq2")), "");
  EXPECT_EQ(Admit(Signed(Send("anything"), "rocketmq2")), "");
}

TEST_F(AclValidatorTest, WhiteListsSkipSignatures) {
  // Global white list: no access key needed at all.
  EXPECT_EQ(Admit(Send("topicA"), "192.168.0.9"), "");
  EXPECT_EQ(Admit(Send("topicA"), "10.10.103.200"), "");
  // The account's white list: its key, no signature.
  RemotingCommand unsigned_req = Send("x");
  unsigned_req.SetExt("AccessKey", "rocketmq2");
  EXPECT_EQ(Admit(unsigned_req, "192.168.1.20"), "");
  EXPECT_THAT(Admit(unsigned_req, "192.168.2.20"),
              HasSubstr("Check signature failed"));
}

TEST_F(AclValidatorTest, GrpcCallsAreSignedOverTheirDateTimeHeader) {
  // A gRPC client signs its x-mq-date-time value: hex HMAC-SHA1
  // DF5D066CDBCA043FD04AD673B148268450FF85D6 for this date and secret
  // (Python's hmac), compared as Base64 (acl.md §10.2).
  const std::string date = "20230913T063059Z";
  const std::string base64 = "310GbNvKBD/QStZzsUgmhFD/hdY=";
  const std::vector<AclResource> pub_b = {{"topicB", perm::kPub}};
  const std::string ip = "10.0.0.5";
  EXPECT_TRUE(validator_
                  ->ValidateSigned("RocketMQ", date, base64, pub_b,
                                   code::kSendMessage, ip)
                  .allowed);
  PlainAccessValidator::Decision other_date = validator_->ValidateSigned(
      "RocketMQ", "20230913T063100Z", base64, pub_b, code::kSendMessage, ip);
  EXPECT_FALSE(other_date.allowed);
  EXPECT_TRUE(other_date.auth_failure);
  EXPECT_THAT(other_date.reason, HasSubstr("Check signature failed"));
  PlainAccessValidator::Decision unsigned_call = validator_->ValidateSigned(
      "", date, "", pub_b, code::kSendMessage, ip);
  EXPECT_TRUE(unsigned_call.auth_failure);
  EXPECT_THAT(unsigned_call.reason, HasSubstr("No accessKey is configured"));
  // Signed, but without the permission: not an authentication failure.
  PlainAccessValidator::Decision no_pub = validator_->ValidateSigned(
      "RocketMQ", date, base64, {{"topicC", perm::kPub}}, code::kSendMessage,
      ip);
  EXPECT_FALSE(no_pub.allowed);
  EXPECT_FALSE(no_pub.auth_failure);
  EXPECT_THAT(no_pub.reason, HasSubstr("No PUB permission for topic:topicC"));
  EXPECT_THAT(validator_
                  ->ValidateSigned("RocketMQ", date, base64,
                                   {{"%RETRY%groupA", perm::kSub}},
                                   code::kPullMessage, ip)
                  .reason,
              HasSubstr("No SUB permission for group:groupA"));
  // AdmitSigned throttles like Admit: three bad signatures block the address.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(validator_->AdmitSigned("10.0.0.77", "RocketMQ", date, "AAAA=",
                                        pub_b, code::kSendMessage));
  std::optional<PlainAccessValidator::Decision> blocked =
      validator_->AdmitSigned("10.0.0.77", "RocketMQ", date, base64, pub_b,
                              code::kSendMessage);
  ASSERT_TRUE(blocked);
  EXPECT_THAT(blocked->reason, HasSubstr("too many failed authentications"));
  EXPECT_FALSE(validator_->AdmitSigned(ip, "RocketMQ", date, base64, pub_b,
                                       code::kSendMessage));
}

TEST_F(AclValidatorTest, RepeatedAuthFailuresThrottleOnlyThatAddress) {
  const RemotingCommand bad = Signed(Send("topicB"), "RocketMQ", "wrongsecret");
  const RemotingCommand good = Signed(Send("topicB"));
  for (int i = 0; i < 3; ++i)
    EXPECT_THAT(Admit(bad, "10.0.0.66"), HasSubstr("signature"));
  EXPECT_EQ(validator_->BlockedAddressCountForTesting(), 1u);
  // Blocked: even a correct request from that address is refused unchecked.
  EXPECT_THAT(Admit(good, "10.0.0.66"),
              HasSubstr("too many failed authentications"));
  // Others are not affected.
  EXPECT_EQ(Admit(good, "10.0.0.67"), "");
  clock_.Advance(5000);
  EXPECT_EQ(Admit(good, "10.0.0.66"), "");
  // A blocked address that the global white list comes to admit is served.
  for (int i = 0; i < 3; ++i) Admit(bad, "10.0.0.70");
  EXPECT_THAT(Admit(good, "10.0.0.70"), HasSubstr("too many"));
  std::string yaml = kSpecYaml;
  yaml.replace(yaml.find("  - 192.168.0.*"), 0, "  - 10.0.0.70\n");
  Write(yaml);
  ASSERT_TRUE(validator_->ReloadIfChanged());
  EXPECT_EQ(Admit(bad, "10.0.0.70"), "");
  // Permission failures of signed requests do not count.
  for (int i = 0; i < 5; ++i)
    EXPECT_THAT(Admit(Signed(Send("topicC")), "10.0.0.68"), HasSubstr("PUB"));
  EXPECT_EQ(Admit(good, "10.0.0.68"), "");
}

TEST_F(AclValidatorTest, FailuresOutsideTheWindowDoNotAddUp) {
  const RemotingCommand bad = Signed(Send("topicB"), "RocketMQ", "wrongsecret");
  Admit(bad);
  Admit(bad);
  clock_.Advance(10000);
  Admit(bad);
  EXPECT_EQ(validator_->BlockedAddressCountForTesting(), 0u);
}

TEST_F(AclValidatorTest, ChangedFileTakesEffectOnReload) {
  EXPECT_FALSE(validator_->ReloadIfChanged());
  Write(
      "accounts:\n  - accessKey: NewAccount\n    secretKey: newsecret1\n"
      "    defaultTopicPerm: PUB\n");
  EXPECT_TRUE(validator_->ReloadIfChanged());
  EXPECT_EQ(Admit(Signed(Send("t"), "NewAccount", "newsecret1")), "");
  EXPECT_THAT(Admit(Signed(Send("topicB"))),
              HasSubstr("No acl config for RocketMQ"));
  // A broken file keeps the rules in effect.
  Write("accounts:\n  - accessKey: x\n");
  EXPECT_FALSE(validator_->ReloadIfChanged());
  EXPECT_EQ(Admit(Signed(Send("t"), "NewAccount", "newsecret1")), "");
}

TEST_F(AclValidatorTest, MissingFileIsCreatedEmptyAndRefusesEverything) {
  AclOptions o;
  o.file_path = dir_.path() + "/absent.yml";
  PlainAccessValidator v(o, &clock_);
  ASSERT_OK(v.Load());
  EXPECT_TRUE(std::filesystem::exists(o.file_path));
  EXPECT_THAT(v.AdmitFrom("10.0.0.1", Signed(Send("topicB"))).value_or(""),
              HasSubstr("No acl config"));
}

TEST_F(AclValidatorTest, BrokenFileFailsLoad) {
  Write("accounts:\n  - accessKey: RocketMQ\n    secretKey: 1\n");
  AclOptions o;
  o.file_path = path_;
  PlainAccessValidator v(o, &clock_);
  Status s = v.Load();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.ToString(), HasSubstr("secretKey"));
}

TEST_F(AclValidatorTest, NameServerModeChecksOnlyTheListedCodes) {
  AclOptions o;
  o.file_path = path_;
  o.only_codes = {code::kPutKvConfig, code::kDeleteTopicInNamesrv};
  PlainAccessValidator v(o, &clock_);
  ASSERT_OK(v.Load());
  EXPECT_FALSE(v.AdmitFrom("10.0.0.1",
                           Req(code::kGetRouteinfoByTopic, {{"topic", "t"}})));
  EXPECT_TRUE(v.AdmitFrom("10.0.0.1",
                          Req(code::kDeleteTopicInNamesrv, {{"topic", "t"}})));
  EXPECT_THAT(v.AdmitFrom("10.0.0.1", Signed(Req(code::kDeleteTopicInNamesrv,
                                                 {{"topic", "t"}})))
                  .value_or(""),
              HasSubstr("Need admin permission"));
  EXPECT_FALSE(v.AdmitFrom(
      "10.0.0.1",
      Signed(Req(code::kDeleteTopicInNamesrv, {{"topic", "t"}}), "rocketmq2")));
}

TEST(DefaultAclFilePathTest, BesideTheConfigFileUnlessRocketMqHomeIsSet) {
  const char* home = std::getenv("ROCKETMQ_HOME");
  const std::string saved = home ? home : "";
  ::unsetenv("ROCKETMQ_HOME");
  EXPECT_EQ(DefaultAclFilePath("/etc/thruster/broker.conf"),
            "/etc/thruster/plain_acl.yml");
  EXPECT_EQ(DefaultAclFilePath(""), "conf/plain_acl.yml");
  ::setenv("ROCKETMQ_HOME", "/opt/rocketmq", 1);
  EXPECT_EQ(DefaultAclFilePath("/etc/thruster/broker.conf"),
            "/opt/rocketmq/conf/plain_acl.yml");
  if (home) {
    ::setenv("ROCKETMQ_HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("ROCKETMQ_HOME");
  }
}

// The ACL admin commands rewrite the file and take effect at once.
class AclConfigProcessorTest : public AclValidatorTest {
 protected:
  void SetUp() override {
    AclValidatorTest::SetUp();
    config_.broker_name = "broker-t";
    processor_ = std::make_unique<AclConfigProcessor>(context_, *validator_);
  }
  RemotingCommand Call(RemotingCommand req) {
    RemotingCommand out;
    bool answered = false;
    remoting::Responder r(
        [&](RemotingCommand resp) {
          out = std::move(resp);
          answered = true;
        },
        req);
    processor_->ProcessRequest(std::move(req), r);
    EXPECT_TRUE(answered);
    return out;
  }

  BrokerConfig config_;
  message::HostAddress host_{};
  BrokerContext context_{config_, clock_, host_, [] {}, 0};
  std::unique_ptr<AclConfigProcessor> processor_;
};

TEST_F(AclConfigProcessorTest, UpdateCreatesAnAccountThatWorksAtOnce) {
  RemotingCommand resp = Call(Req(code::kUpdateAndCreateAclConfig,
                                  {{"accessKey", "Producer1"},
                                   {"secretKey", "producer-secret"},
                                   {"defaultTopicPerm", "DENY"},
                                   {"topicPerms", "orders=PUB,audit=SUB"}}));
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  ASSERT_OK_AND_ASSIGN(PlainAclConfig file, validator_->ReadFile());
  ASSERT_NE(file.Find("Producer1"), nullptr);
  EXPECT_EQ(file.Find("Producer1")->topic_perms,
            (std::vector<std::string>{"orders=PUB", "audit=SUB"}));
  EXPECT_EQ(file.data_version.counter, 1);
  EXPECT_EQ(file.accounts.size(), 3u);
  EXPECT_EQ(Admit(Signed(Send("orders"), "Producer1", "producer-secret")), "");
  EXPECT_THAT(Admit(Signed(Send("audit"), "Producer1", "producer-secret")),
              HasSubstr("PUB"));
  // An update changes only the fields it carries.
  ASSERT_EQ(Call(Req(code::kUpdateAndCreateAclConfig,
                     {{"accessKey", "Producer1"}, {"topicPerms", "audit=PUB"}}))
                .code(),
            rc::kSuccess);
  EXPECT_EQ(Admit(Signed(Send("audit"), "Producer1", "producer-secret")), "");
}

TEST_F(AclConfigProcessorTest, BadUpdatesAreRefusedAndLeaveTheFile) {
  EXPECT_EQ(Call(Req(code::kUpdateAndCreateAclConfig, {{"accessKey", "short"}}))
                .code(),
            rc::kUpdateAndCreateAclConfigFailed);
  EXPECT_EQ(Call(Req(code::kUpdateAndCreateAclConfig,
                     {{"accessKey", "NewOne123"},
                      {"secretKey", "12345678"},
                      {"whiteRemoteAddress", "999.1.1.1"}}))
                .code(),
            rc::kUpdateAndCreateAclConfigFailed);
  ASSERT_OK_AND_ASSIGN(PlainAclConfig file, validator_->ReadFile());
  EXPECT_EQ(file.Find("NewOne123"), nullptr);
}

TEST_F(AclConfigProcessorTest, DeleteRemovesTheAccount) {
  ASSERT_EQ(
      Call(Req(code::kDeleteAclConfig, {{"accessKey", "RocketMQ"}})).code(),
      rc::kSuccess);
  EXPECT_THAT(Admit(Signed(Send("topicB"))),
              HasSubstr("No acl config for RocketMQ"));
  EXPECT_EQ(
      Call(Req(code::kDeleteAclConfig, {{"accessKey", "RocketMQ"}})).code(),
      rc::kDeleteAclConfigFailed);
}

TEST_F(AclConfigProcessorTest, GlobalWhiteAddressesAreReplaced) {
  ASSERT_EQ(Call(Req(code::kUpdateGlobalWhiteAddrsConfig,
                     {{"globalWhiteAddrs", "10.9.*.*"}}))
                .code(),
            rc::kSuccess);
  EXPECT_EQ(Admit(Send("topicA"), "10.9.1.1"), "");
  EXPECT_NE(Admit(Send("topicA"), "192.168.0.9"), "");
  EXPECT_EQ(Call(Req(code::kUpdateGlobalWhiteAddrsConfig,
                     {{"globalWhiteAddrs", "1.1.1.1"},
                      {"aclFileFullPath", "/elsewhere.yml"}}))
                .code(),
            rc::kUpdateGlobalWhiteAddrsConfigFailed);
}

TEST_F(AclConfigProcessorTest, InfoReportsTheDataVersion) {
  ASSERT_EQ(
      Call(Req(code::kDeleteAclConfig, {{"accessKey", "RocketMQ"}})).code(),
      rc::kSuccess);
  RemotingCommand info = Call(Req(code::kGetBrokerClusterAclInfo, {}));
  ASSERT_EQ(info.code(), rc::kSuccess);
  EXPECT_THAT(std::string(info.ExtOr("version", "")),
              HasSubstr("\"counter\":1"));
  EXPECT_THAT(std::string(info.ExtOr("allAclFileVersion", "")),
              HasSubstr(path_));
  EXPECT_EQ(info.ExtOr("brokerName", ""), "broker-t");
}

}  // namespace
}  // namespace thruster::broker::acl
