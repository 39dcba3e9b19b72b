// Master/slave replication between real thruster-broker processes on loopback
// (spec/ha.md §2-§4): the slave copies the master's CommitLog byte for byte
// from empty and again after a restart, both stores verify, a SYNC_MASTER's
// SEND_OK means the slave already holds the record, and without a slave it
// answers SLAVE_NOT_AVAILABLE.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "message/message_id.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kSegment = 65536;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunThruster(const std::string& args, std::string* out) {
  const std::string cmd = std::string(THRUSTER_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One thruster-broker process on loopback (tests/support/process.h).
class BrokerProcess : public testing::BrokerProcess {
 public:
  BrokerProcess(std::string dir, std::vector<std::string> flags)
      : testing::BrokerProcess(THRUSTER_BROKER_BIN, std::move(dir),
                               std::move(flags), kSegment) {}
};

class HaClusterTest : public ::testing::Test {
 protected:
  // A master with the embedded name server, then its slave.
  void StartMaster(const std::string& role) {
    master_ = std::make_unique<BrokerProcess>(
        tmp_.path() + "/master",
        std::vector<std::string>{"--namesrvListenPort=0",
                                 "--brokerRole=" + role});
    ASSERT_OK(master_->Start());
    ASSERT_FALSE(master_->namesrv().empty());
    client::ClientOptions o;
    o.namesrv_addr = master_->namesrv();
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<client::ClientInstance>(o);
    ASSERT_OK(client_->Start());
    admin_ = std::make_unique<client::AdminClient>(client_.get());
    producer_ = std::make_unique<client::Producer>(client_.get());
  }
  void StartSlave() {
    if (!slave_) {
      slave_ = std::make_unique<BrokerProcess>(
          tmp_.path() + "/slave",
          std::vector<std::string>{"--namesrvAddr=" + master_->namesrv(),
                                   "--brokerRole=SLAVE", "--brokerId=1"});
    }
    ASSERT_OK(slave_->Start());
  }
  void TearDown() override {
    producer_.reset();
    admin_.reset();
    if (client_) client_->Stop();
  }

  int64_t MaxOffset(const std::string& addr) {
    auto info = admin_->BrokerRuntimeInfo(addr);
    if (!info.ok()) return -1;
    auto it = info->find("commitLogMaxOffset");
    return it == info->end() ? -1 : std::stoll(it->second);
  }
  bool SlaveCaughtUp() {
    return testing::WaitUntil(
        [&] {
          const int64_t m = MaxOffset(master_->addr());
          return m > 0 && MaxOffset(slave_->addr()) == m;
        },
        10s);
  }
  Result<client::SendResult> Send(const std::string& body) {
    client::Message m;
    m.topic = "HaTopic";
    m.tags = "TagA";
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    return producer_->Send(m);
  }
  static int64_t PhysOffset(const client::SendResult& r) {
    auto parts = message::DecodeMessageId(r.offset_msg_id);
    return parts.ok() ? parts->phys_offset : -1;
  }
  // The two CommitLogs' bytes in [0, end), segment file by segment file.
  void ExpectSameLog(int64_t end) {
    for (int64_t base = 0; base < end; base += kSegment) {
      char name[32];
      std::snprintf(name, sizeof name, "%020lld",
                    static_cast<long long>(base));
      const std::string a = ReadAll(master_->store() + "/commitlog/" + name);
      const std::string b = ReadAll(slave_->store() + "/commitlog/" + name);
      const size_t n = static_cast<size_t>(std::min(kSegment, end - base));
      ASSERT_GE(a.size(), n) << name;
      ASSERT_GE(b.size(), n) << name;
      EXPECT_TRUE(a.compare(0, n, b, 0, n) == 0) << "segment " << name
                                                 << " differs";
    }
  }

  testing::TempDir tmp_;
  std::unique_ptr<BrokerProcess> master_;
  std::unique_ptr<BrokerProcess> slave_;
  std::unique_ptr<client::ClientInstance> client_;
  std::unique_ptr<client::AdminClient> admin_;
  std::unique_ptr<client::Producer> producer_;
};

TEST_F(HaClusterTest, SlaveCatchesUpFromEmptyAndAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(StartMaster("ASYNC_MASTER"));
  ASSERT_NO_FATAL_FAILURE(StartSlave());
  const std::string body(4000, 'b');
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(Send(body).ok());
  ASSERT_TRUE(SlaveCaughtUp()) << slave_->log();
  ASSERT_GT(MaxOffset(master_->addr()), kSegment);  // crossed a segment end
  // The route shows the whole group: master id 0 and slave id 1.
  auto route = admin_->TopicRoute("HaTopic");
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  ASSERT_EQ(route->broker_datas.size(), 1u);
  EXPECT_EQ(route->broker_datas[0].broker_addrs.at(0), master_->addr());
  EXPECT_EQ(route->broker_datas[0].broker_addrs.at(1), slave_->addr());
  // clusterList shows each role, offset and the slave's lag.
  {
    std::string out;
    ASSERT_EQ(RunThruster("admin clusterList --json -n " + master_->namesrv(),
                          &out),
              0)
        << out;
    const size_t brace = out.find('{');
    ASSERT_NE(brace, std::string::npos) << out;
    const nlohmann::json j =
        nlohmann::json::parse(out.substr(brace), nullptr, false);
    ASSERT_TRUE(j.contains("brokers")) << out;
    int seen = 0;
    for (const auto& b : j["brokers"]) {
      if (b["brokerName"] != "broker-a") continue;
      ++seen;
      if (b["brokerId"] == 0) {
        EXPECT_EQ(b["runtime"]["brokerRole"], "ASYNC_MASTER");
      } else {
        EXPECT_EQ(b["runtime"]["brokerRole"], "SLAVE");
        EXPECT_EQ(b["slaveLag"], "0");
      }
    }
    EXPECT_EQ(seen, 2) << out;
  }

  // The slave copies the master's topics (SlaveSynchronize, first round 3 s
  // after its start).
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        return ReadAll(slave_->store() + "/config/topics.json")
                   .find("\"HaTopic\"") != std::string::npos;
      },
      15s));

  // The slave goes away, the master carries on, the slave comes back.
  EXPECT_EQ(slave_->Stop(SIGTERM), 0);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(Send(body).ok());
  ASSERT_NO_FATAL_FAILURE(StartSlave());
  ASSERT_TRUE(SlaveCaughtUp()) << slave_->log();
  const int64_t confirmed = MaxOffset(master_->addr());
  ASSERT_GT(confirmed, 2 * kSegment);

  EXPECT_EQ(slave_->Stop(SIGTERM), 0);
  EXPECT_EQ(master_->Stop(SIGTERM), 0);
  ASSERT_NO_FATAL_FAILURE(ExpectSameLog(confirmed));
  for (const std::string& dir : {master_->store(), slave_->store()}) {
    std::string out;
    EXPECT_EQ(RunThruster("store verify " + dir, &out), 0) << dir << "\n"
                                                           << out;
  }
}

TEST_F(HaClusterTest, SyncMasterAnswersSendOkOnlyOnceTheSlaveHoldsIt) {
  ASSERT_NO_FATAL_FAILURE(StartMaster("SYNC_MASTER"));
  // No slave yet: stored on the master, answered SLAVE_NOT_AVAILABLE.
  auto alone = Send("alone");
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_EQ(alone->status, client::SendStatus::kSlaveNotAvailable);

  ASSERT_NO_FATAL_FAILURE(StartSlave());
  ASSERT_TRUE(SlaveCaughtUp()) << slave_->log();
  // One producer, one message at a time: message i ends where i+1 starts.
  std::vector<int64_t> phys;
  std::vector<int64_t> slave_max_at_ack;
  for (int i = 0; i < 20; ++i) {
    auto r = Send("sync-" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, client::SendStatus::kSendOk);
    slave_max_at_ack.push_back(MaxOffset(slave_->addr()));
    phys.push_back(PhysOffset(*r));
  }
  phys.push_back(MaxOffset(master_->addr()));
  for (int i = 0; i < 20; ++i)
    EXPECT_GE(slave_max_at_ack[i], phys[i + 1]) << "message " << i;
}

}  // namespace
}  // namespace thruster
