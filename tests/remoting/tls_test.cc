// TLS on the remoting port (spec/acl.md §9): the three modes, client
// certificates, refused certificates and what `openssl s_client` sees, over
// real sockets with certificates made for each test run.

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "common/logging.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "remoting/tls_config.h"
#include "remoting/tls_file_watch_service.h"
#include "tests/support/test_util.h"
#include "tests/support/tls_certs.h"

namespace thruster::remoting {
namespace {

using namespace std::chrono_literals;
using testing::CertSpec;
using testing::MakeIdentity;
using testing::TestIdentity;

constexpr int32_t kEcho = 1000;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512);
    logging::Get("remoting")->sinks().push_back(log_);
  }

  void SetUp() override {
    ca_ = MakeIdentity(dir_.path(), "ca", testing::CaSpec("thruster-test-ca"));
    other_ca_ =
        MakeIdentity(dir_.path(), "other-ca", testing::CaSpec("other-ca"));
    server_id_ = MakeIdentity(dir_.path(), "server",
                              testing::LeafSpec("thruster-test-broker"), &ca_);
    client_id_ = MakeIdentity(dir_.path(), "client",
                              testing::LeafSpec("thruster-test-client"), &ca_);
  }

  void TearDown() override {
    for (auto& c : clients_) c->Stop();
    if (server_) server_->Stop();
  }

  TlsServerOptions ServerTls(TlsMode mode) const {
    TlsServerOptions tls;
    tls.mode = mode;
    tls.cert_path = server_id_.cert_path;
    tls.key_path = server_id_.key_path;
    tls.trust_cert_path = ca_.cert_path;
    return tls;
  }

  Status StartServer(TlsServerOptions tls) {
    RemotingServerOptions options;
    options.io_threads = 1;
    options.tls = std::move(tls);
    server_ = std::make_unique<RemotingServer>(options);
    server_->RegisterProcessor(kEcho, [](RemotingCommand req, Responder r) {
      RemotingCommand resp =
          req.CreateResponse(response_code::kSuccess, "echo");
      resp.set_body(
          std::vector<std::byte>(req.body().begin(), req.body().end()));
      r.Send(std::move(resp));
    });
    return server_->Start();
  }

  // A client with TLS from `tls` (plaintext when !tls.enable).
  RemotingClient* Client(TlsClientOptions tls = {}) {
    RemotingClientOptions options;
    options.tls = std::move(tls);
    clients_.push_back(std::make_unique<RemotingClient>(options));
    Status s = clients_.back()->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return clients_.back().get();
  }

  TlsClientOptions TrustingClient() const {
    TlsClientOptions tls;
    tls.enable = true;
    tls.trust_cert_path = ca_.cert_path;
    return tls;
  }

  std::string Addr() const {
    return "127.0.0.1:" + std::to_string(server_->port());
  }

  Result<RemotingCommand> Echo(RemotingClient* client,
                               std::string body = "ping") {
    RemotingCommand req;
    req.set_code(kEcho);
    req.set_body(body);
    return client->InvokeSync(Addr(), std::move(req), 5s);
  }

  // Waits until a remoting log line contains every one of `parts`.
  static bool LogShows(std::initializer_list<std::string_view> parts) {
    return testing::WaitUntil([&] {
      for (const std::string& line : log_->last_formatted()) {
        bool all = true;
        for (std::string_view p : parts)
          all = all && line.find(p) != std::string::npos;
        if (all) return true;
      }
      return false;
    });
  }

  static inline std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  testing::TempDir dir_;
  TestIdentity ca_, other_ca_, server_id_, client_id_;
  std::unique_ptr<RemotingServer> server_;
  std::vector<std::unique_ptr<RemotingClient>> clients_;
};

TEST_F(TlsTest, EnforcingServesTlsAndRefusesPlaintext) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kEnforcing)));
  Result<RemotingCommand> tls = Echo(Client(TrustingClient()), "over tls");
  ASSERT_OK(tls.status());
  EXPECT_EQ(tls->body_view(), "over tls");

  Result<RemotingCommand> plain = Echo(Client());
  EXPECT_FALSE(plain.ok());
  EXPECT_TRUE(LogShows({"refusing plaintext connection", "enforcing"}));
}

TEST_F(TlsTest, PermissiveServesTlsAndPlaintextOnOnePort) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kPermissive)));
  Result<RemotingCommand> tls = Echo(Client(TrustingClient()), "tls");
  ASSERT_OK(tls.status());
  EXPECT_EQ(tls->body_view(), "tls");
  Result<RemotingCommand> plain = Echo(Client(), "plain");
  ASSERT_OK(plain.status());
  EXPECT_EQ(plain->body_view(), "plain");
}

TEST_F(TlsTest, DisabledServerClosesTlsClient) {
  TlsServerOptions tls;  // disabled
  ASSERT_OK(StartServer(tls));
  EXPECT_FALSE(Echo(Client(TrustingClient())).ok());
  ASSERT_OK(Echo(Client()).status());
}

TEST_F(TlsTest, LargeFramesBothWaysOverTls) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kEnforcing)));
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i);
  RemotingClient* client = Client(TrustingClient());
  for (int i = 0; i < 3; ++i) {
    Result<RemotingCommand> r = Echo(client, big);
    ASSERT_OK(r.status());
    EXPECT_TRUE(r->body_view() == big);
  }
}

TEST_F(TlsTest, RequiredClientCertificate) {
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.need_client_auth = ClientAuth::kRequire;
  ASSERT_OK(StartServer(tls));

  EXPECT_FALSE(Echo(Client(TrustingClient())).ok());
  EXPECT_TRUE(
      LogShows({"TLS handshake with", "peer did not return a certificate"}));

  TlsClientOptions with_cert = TrustingClient();
  with_cert.cert_path = client_id_.cert_path;
  with_cert.key_path = client_id_.key_path;
  ASSERT_OK(Echo(Client(with_cert)).status());
}

TEST_F(TlsTest, ExpiredClientCertificateIsRefusedWithLogLine) {
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.need_client_auth = ClientAuth::kRequire;
  ASSERT_OK(StartServer(tls));
  TestIdentity expired = MakeIdentity(dir_.path(), "expired-client",
                                      testing::ExpiredSpec("expired"), &ca_);
  TlsClientOptions client = TrustingClient();
  client.cert_path = expired.cert_path;
  client.key_path = expired.key_path;
  EXPECT_FALSE(Echo(Client(client)).ok());
  EXPECT_TRUE(LogShows({"TLS handshake with", "certificate has expired"}));
}

TEST_F(TlsTest, UntrustedClientCertificateIsRefusedWithLogLine) {
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.need_client_auth = ClientAuth::kRequire;
  ASSERT_OK(StartServer(tls));
  TestIdentity stranger = MakeIdentity(
      dir_.path(), "stranger", testing::LeafSpec("stranger"), &other_ca_);
  TlsClientOptions client = TrustingClient();
  client.cert_path = stranger.cert_path;
  client.key_path = stranger.key_path;
  EXPECT_FALSE(Echo(Client(client)).ok());
  EXPECT_TRUE(LogShows(
      {"TLS handshake with", "unable to get local issuer certificate"}));
}

TEST_F(TlsTest, ClientRefusesExpiredOrUntrustedServerCertificate) {
  TestIdentity expired = MakeIdentity(dir_.path(), "expired-server",
                                      testing::ExpiredSpec("expired"), &ca_);
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.cert_path = expired.cert_path;
  tls.key_path = expired.key_path;
  ASSERT_OK(StartServer(tls));
  Result<RemotingCommand> r = Echo(Client(TrustingClient()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("certificate has expired"),
            std::string::npos)
      << r.status().ToString();
  server_->Stop();

  ASSERT_OK(StartServer(ServerTls(TlsMode::kEnforcing)));
  TlsClientOptions other = TrustingClient();
  other.trust_cert_path = other_ca_.cert_path;
  r = Echo(Client(other));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("certificate verify failed"),
            std::string::npos)
      << r.status().ToString();
}

TEST_F(TlsTest, EncryptedKeyNeedsItsPassword) {
  CertSpec spec = testing::LeafSpec("thruster-locked");
  spec.key_password = "s3cret-pass";
  TestIdentity locked = MakeIdentity(dir_.path(), "locked", spec, &ca_);
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.cert_path = locked.cert_path;
  tls.key_path = locked.key_path;
  tls.key_password = "wrong";
  Status s = StartServer(tls);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(locked.key_path), std::string::npos)
      << s.ToString();

  tls.key_password = "s3cret-pass";
  ASSERT_OK(StartServer(tls));
  ASSERT_OK(Echo(Client(TrustingClient())).status());
}

TEST_F(TlsTest, MissingFilesAndBadModesAreClearErrors) {
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.cert_path = dir_.path() + "/nope.crt";
  Status s = StartServer(tls);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("nope.crt"), std::string::npos) << s.ToString();

  EXPECT_FALSE(ParseTlsMode("strict").ok());
  EXPECT_EQ(*ParseTlsMode("Enforcing"), TlsMode::kEnforcing);
  EXPECT_FALSE(ParseClientAuth("always").ok());
  EXPECT_EQ(*ParseClientAuth("REQUIRE"), ClientAuth::kRequire);
}

TEST_F(TlsTest, OpensslSClientSeesTheConfiguredCertificate) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kPermissive)));
  std::string cmd = "openssl s_client -connect " + Addr() + " -CAfile " +
                    ca_.cert_path + " </dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  ::pclose(p);
  EXPECT_NE(out.find("subject=CN = thruster-test-broker"), std::string::npos)
      << out;
  EXPECT_NE(out.find("issuer=CN = thruster-test-ca"), std::string::npos) << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
}

// What `openssl s_client` prints for the server at `addr`, trusting `ca`.
std::string TlsTestSClient(const std::string& addr, const std::string& ca) {
  std::string cmd = "openssl s_client -connect " + addr + " -CAfile " + ca +
                    " </dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

TEST_F(TlsTest, RenewedCertificateReachesNewConnections) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kEnforcing)));
  TlsFileWatchService watch(server_.get(), ServerTls(TlsMode::kEnforcing));
  RemotingClient* before = Client(TrustingClient());
  ASSERT_OK(Echo(before).status());
  EXPECT_NE(TlsTestSClient(Addr(), ca_.cert_path)
                .find("subject=CN = thruster-test-broker"),
            std::string::npos);

  // The renewed identity is written where the old one was: the certificate
  // first, and nothing is rebuilt until its key has changed too (the new
  // certificate does not go with the old key).
  TestIdentity renewed =
      MakeIdentity(dir_.path(), "server-renewed",
                   testing::LeafSpec("thruster-test-broker-renewed"), &ca_);
  ASSERT_EQ(
      std::rename(renewed.cert_path.c_str(), server_id_.cert_path.c_str()), 0);
  EXPECT_FALSE(watch.CheckNow());
  EXPECT_NE(TlsTestSClient(Addr(), ca_.cert_path)
                .find("subject=CN = thruster-test-broker\n"),
            std::string::npos);
  ASSERT_EQ(std::rename(renewed.key_path.c_str(), server_id_.key_path.c_str()),
            0);
  EXPECT_TRUE(watch.CheckNow());
  EXPECT_FALSE(watch.CheckNow());  // nothing changed since

  const std::string out = TlsTestSClient(Addr(), ca_.cert_path);
  EXPECT_NE(out.find("subject=CN = thruster-test-broker-renewed"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  EXPECT_TRUE(LogShows({"reloaded certificate", server_id_.cert_path}));
  // The connection made before keeps working; a new client connects too.
  ASSERT_OK(Echo(before).status());
  ASSERT_OK(Echo(Client(TrustingClient())).status());
}

TEST_F(TlsTest, UnusableRenewalKeepsThePreviousCertificate) {
  ASSERT_OK(StartServer(ServerTls(TlsMode::kEnforcing)));
  TlsFileWatchService watch(server_.get(), ServerTls(TlsMode::kEnforcing));
  // A certificate and a key that do not belong together.
  TestIdentity a = MakeIdentity(dir_.path(), "mismatch-a",
                                testing::LeafSpec("mismatch-a"), &ca_);
  TestIdentity b = MakeIdentity(dir_.path(), "mismatch-b",
                                testing::LeafSpec("mismatch-b"), &ca_);
  ASSERT_EQ(std::rename(a.cert_path.c_str(), server_id_.cert_path.c_str()), 0);
  ASSERT_EQ(std::rename(b.key_path.c_str(), server_id_.key_path.c_str()), 0);
  EXPECT_FALSE(watch.CheckNow());
  EXPECT_TRUE(LogShows({"cannot be used, keeping the previous ones"}));
  const std::string out = TlsTestSClient(Addr(), ca_.cert_path);
  EXPECT_NE(out.find("subject=CN = thruster-test-broker\n"), std::string::npos)
      << out;
  ASSERT_OK(Echo(Client(TrustingClient())).status());
}

TEST_F(TlsTest, TrustFileChangeAloneRebuildsTheContext) {
  TlsServerOptions tls = ServerTls(TlsMode::kEnforcing);
  tls.need_client_auth = ClientAuth::kRequire;
  ASSERT_OK(StartServer(tls));
  TlsFileWatchService watch(server_.get(), tls);
  TlsClientOptions other = TrustingClient();
  TestIdentity other_client =
      MakeIdentity(dir_.path(), "other-client",
                   testing::LeafSpec("other-client"), &other_ca_);
  other.cert_path = other_client.cert_path;
  other.key_path = other_client.key_path;
  EXPECT_FALSE(Echo(Client(other)).ok());  // signed by a CA not trusted yet

  // The trust file now holds both CAs.
  std::string both;
  for (const std::string* path : {&ca_.cert_path, &other_ca_.cert_path}) {
    std::FILE* f = std::fopen(path->c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::array<char, 4096> buf;
    while (size_t n = std::fread(buf.data(), 1, buf.size(), f))
      both.append(buf.data(), n);
    std::fclose(f);
  }
  const std::string bundle = dir_.path() + "/bundle.tmp";
  std::FILE* f = std::fopen(bundle.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(both.data(), 1, both.size(), f), both.size());
  std::fclose(f);
  ASSERT_EQ(std::rename(bundle.c_str(), ca_.cert_path.c_str()), 0);
  EXPECT_TRUE(watch.CheckNow());
  ASSERT_OK(Echo(Client(other)).status());
}

TEST(TlsConfigTest, TlsConfigFileOverridesAllButModeAndEnable) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/tls.properties";
  std::FILE* f = std::fopen(file.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const std::string text =
      "tls.server.mode=disabled\n"
      "tls.enable=false\n"
      "tls.server.certPath=/file/broker.pem\n"
      "tls.server.keyPath=/file/broker.key\n"
      "tls.server.need.client.auth=optional\n"
      "tls.client.trustCertPath=/file/ca.pem\n";
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  std::fclose(f);

  Properties props;
  props.Set("tls.config.file", file);
  props.Set("tls.server.mode", "enforcing");
  props.Set("tls.server.certPath", "/conf/broker.pem");
  props.Set("tls.server.keyPath", "/conf/broker.key");
  props.Set("tls.server.trustCertPath", "/conf/ca.pem");
  ASSERT_OK_AND_ASSIGN(TlsConfig c, TlsConfig::FromProperties(props));
  EXPECT_EQ(c.config_file, file);
  EXPECT_EQ(c.server.mode, TlsMode::kEnforcing);  // not from the file
  EXPECT_TRUE(c.client.enable);                   // not from the file
  EXPECT_EQ(c.server.cert_path, "/file/broker.pem");
  EXPECT_EQ(c.server.key_path, "/file/broker.key");
  EXPECT_EQ(c.server.trust_cert_path, "/conf/ca.pem");  // not in the file
  EXPECT_EQ(c.server.need_client_auth, ClientAuth::kOptional);
  EXPECT_EQ(c.client.trust_cert_path, "/file/ca.pem");
  std::map<std::string, std::string> entries;
  c.AddEntries(&entries);
  EXPECT_EQ(entries["tls.config.file"], file);

  // A bad value in the file is an error naming the key.
  f = std::fopen(file.c_str(), "ab");
  ASSERT_NE(f, nullptr);
  const std::string bad = "tls.server.need.client.auth=always\n";
  ASSERT_EQ(std::fwrite(bad.data(), 1, bad.size(), f), bad.size());
  std::fclose(f);
  EXPECT_FALSE(TlsConfig::FromProperties(props).ok());

  // A missing file is no error: the keys given stand.
  props.Set("tls.config.file", dir.path() + "/absent.properties");
  ASSERT_OK_AND_ASSIGN(c, TlsConfig::FromProperties(props));
  EXPECT_EQ(c.server.cert_path, "/conf/broker.pem");
  EXPECT_EQ(c.server.key_path, "/conf/broker.key");
}

TEST(TlsConfigTest, ReadsRocketMqKeys) {
  Properties props;
  props.Set("tls.server.mode", "enforcing");
  props.Set("tls.server.certPath", "/etc/certs/broker.pem");
  props.Set("tls.server.keyPath", "/etc/certs/broker.key");
  props.Set("tls.server.keyPassword", "pw");
  props.Set("tls.server.trustCertPath", "/etc/certs/ca.pem");
  props.Set("tls.server.need.client.auth", "require");
  props.Set("tls.client.trustCertPath", "/etc/certs/ca.pem");
  ASSERT_OK_AND_ASSIGN(TlsConfig c, TlsConfig::FromProperties(props));
  EXPECT_EQ(c.server.mode, TlsMode::kEnforcing);
  EXPECT_EQ(c.server.cert_path, "/etc/certs/broker.pem");
  EXPECT_EQ(c.server.key_path, "/etc/certs/broker.key");
  EXPECT_EQ(c.server.key_password, "pw");
  EXPECT_EQ(c.server.trust_cert_path, "/etc/certs/ca.pem");
  EXPECT_EQ(c.server.need_client_auth, ClientAuth::kRequire);
  // tls.enable follows an enforcing server unless set (RocketMQ).
  EXPECT_TRUE(c.client.enable);
  EXPECT_EQ(c.client.trust_cert_path, "/etc/certs/ca.pem");
  std::map<std::string, std::string> entries;
  c.AddEntries(&entries);
  EXPECT_EQ(entries["tls.server.mode"], "enforcing");
  EXPECT_EQ(entries.count("tls.server.keyPassword"), 0u);

  props.Set("tlsMode", "permissive");
  props.Set("tls.enable", "false");
  ASSERT_OK_AND_ASSIGN(c, TlsConfig::FromProperties(props));
  EXPECT_EQ(c.server.mode, TlsMode::kPermissive);
  EXPECT_FALSE(c.client.enable);

  props.Set("tlsMode", "strict");
  EXPECT_FALSE(TlsConfig::FromProperties(props).ok());
  Properties no_cert;
  no_cert.Set("tls.server.mode", "permissive");
  Result<TlsConfig> bad = TlsConfig::FromProperties(no_cert);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("tls.server.certPath"),
            std::string::npos);
  EXPECT_EQ(TlsConfig::FromProperties(Properties()).value(), TlsConfig());
}

}  // namespace
}  // namespace thruster::remoting
