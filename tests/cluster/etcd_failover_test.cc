// Controller mode on etcd (spec/ha.md §7.10; ha/etcd_controller.h) against a
// real etcd started by the test: the etcd client, the election rules with
// in-process controllers, and real broker processes that fail over when the
// master is killed, paused, or when etcd itself restarts.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/mutex.h"
#include "ha/etcd_client.h"
#include "ha/etcd_controller.h"
#include "message/message_id.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

using namespace std::chrono_literals;  // NOLINT: the test's durations
using Clock = std::chrono::steady_clock;

constexpr int64_t kLeaseTtlMs = 3000;

// etcd on two free loopback ports with its data under `dir`; restarts keep
// the ports and the data.
class EtcdServer {
 public:
  explicit EtcdServer(std::string dir) : dir_(std::move(dir)) {
    client_port_ = testing::PickFreePort();
    peer_port_ = testing::PickFreePort();
  }
  Status Start() {
    const std::string client =
        "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    TH_RETURN_IF_ERROR(child_.Start(
        {ETCD_BIN, "--name=t", "--data-dir=" + dir_ + "/etcd",
         "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
         "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
         "--initial-cluster=t=" + peer},
        dir_ + "/etcd-" + std::to_string(++starts_) + ".log"));
    std::smatch m;
    std::string text;
    return child_.WaitForLog(std::regex("ready to serve client requests"), 30s,
                             &m, &text);
  }
  int Stop() { return child_.Stop(SIGTERM); }
  std::string endpoint() const {
    return "127.0.0.1:" + std::to_string(client_port_);
  }

 private:
  std::string dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  int starts_ = 0;
  testing::ChildProcess child_;
};

// ---------------------------------------------------------------------------
// The election policy alone.

ha::AliveReplica Replica(int64_t id, int64_t epoch, int64_t max_offset,
                         int64_t priority = 100) {
  ha::AliveReplica r;
  r.id = id;
  r.status.epoch = epoch;
  r.status.max_offset = max_offset;
  r.priority = priority;
  return r;
}

TEST(EtcdElectionPolicyTest, RanksEpochThenMaxOffsetThenPriority) {
  EXPECT_EQ(
      ha::ElectMaster({Replica(1, 2, 100), Replica(2, 3, 50)}, {1, 2}, false),
      2);  // the newer epoch wins over more bytes
  EXPECT_EQ(
      ha::ElectMaster({Replica(1, 3, 100), Replica(2, 3, 50)}, {1, 2}, false),
      1);
  EXPECT_EQ(ha::ElectMaster({Replica(1, 3, 100, 9), Replica(2, 3, 100, 1)},
                            {1, 2}, false),
            2);  // lower priority is preferred
}

TEST(EtcdElectionPolicyTest, OnlyInSyncReplicasUnlessUncleanIsAllowed) {
  const std::vector<ha::AliveReplica> alive = {Replica(3, 5, 900)};
  EXPECT_EQ(ha::ElectMaster(alive, {1, 2}, false), std::nullopt);
  EXPECT_EQ(ha::ElectMaster(alive, {1, 2}, true), 3);
  // A group that never had a master takes any alive replica.
  EXPECT_EQ(ha::ElectMaster(alive, {}, false), 3);
  EXPECT_EQ(ha::ElectMaster({}, {}, true), std::nullopt);
}

// ---------------------------------------------------------------------------
// The client and in-process controllers against a real etcd.

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = std::make_unique<EtcdServer>(tmp_.path());
    ASSERT_OK(etcd_->Start());
  }
  testing::TempDir tmp_;
  std::unique_ptr<EtcdServer> etcd_;
};

TEST_F(EtcdTest, ClientPutsRangesComparesAndLeases) {
  // The first endpoint is dead: requests fail over to the second.
  ha::EtcdClient etcd("127.0.0.1:1;" + etcd_->endpoint(), 1000);
  ASSERT_OK(etcd.Put({"/t/a", std::string("\0\xff\x01", 3), 0}));
  ASSERT_OK(etcd.Put({"/t/b", "two", 0}));
  ASSERT_OK(etcd.Put({"/u", "other", 0}));
  EXPECT_EQ(etcd.current_endpoint(), etcd_->endpoint());
  ASSERT_OK_AND_ASSIGN(auto kvs, etcd.RangePrefix("/t/"));
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].key, "/t/a");
  EXPECT_EQ(kvs[0].value, std::string("\0\xff\x01", 3));
  EXPECT_EQ(kvs[1].value, "two");

  // Create-if-absent: once.
  const ha::EtcdCompare absent{
      "/t/c", ha::EtcdCompare::Target::kCreateRevision, 0, {}};
  ASSERT_OK_AND_ASSIGN(bool first, etcd.Txn({absent}, {{"/t/c", "x", 0}}));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool second, etcd.Txn({absent}, {{"/t/c", "y", 0}}));
  EXPECT_FALSE(second);
  // Compare-and-swap on the mod revision and on the value.
  ASSERT_OK_AND_ASSIGN(auto c, etcd.Get("/t/c"));
  ASSERT_TRUE(c.has_value());
  ASSERT_OK_AND_ASSIGN(
      bool swapped,
      etcd.Txn(
          {{"/t/c", ha::EtcdCompare::Target::kModRevision, c->mod_revision, {}},
           {"/t/c", ha::EtcdCompare::Target::kValue, 0, "x"}},
          {{"/t/c", "z", 0}}));
  EXPECT_TRUE(swapped);
  ASSERT_OK_AND_ASSIGN(bool stale,
                       etcd.Txn({{"/t/c",
                                  ha::EtcdCompare::Target::kModRevision,
                                  c->mod_revision,
                                  {}}},
                                {{"/t/c", "w", 0}}));
  EXPECT_FALSE(stale);

  // A key under a lease lives while the lease does.
  int64_t granted = 0;
  ASSERT_OK_AND_ASSIGN(int64_t lease, etcd.LeaseGrant(5, &granted));
  EXPECT_GE(granted, 5);
  ASSERT_OK(etcd.Put({"/t/leased", "v", lease}));
  ASSERT_OK_AND_ASSIGN(int64_t ttl, etcd.LeaseKeepAlive(lease));
  EXPECT_GT(ttl, 0);
  ASSERT_OK_AND_ASSIGN(auto leased, etcd.Get("/t/leased"));
  ASSERT_TRUE(leased.has_value());
  EXPECT_EQ(leased->lease, lease);
  ASSERT_OK(etcd.LeaseRevoke(lease));
  ASSERT_OK_AND_ASSIGN(auto gone, etcd.Get("/t/leased"));
  EXPECT_FALSE(gone.has_value());
  EXPECT_TRUE(etcd.LeaseKeepAlive(lease).status().IsNotFound());
  ASSERT_OK(etcd.Delete("/t/b"));
  ASSERT_OK_AND_ASSIGN(auto after, etcd.RangePrefix("/t/"));
  EXPECT_EQ(after.size(), 2u);  // a and c
}

// A replica as the controller sees it: its status, and what it was told.
struct FakeReplica {
  mutable Mutex mu;
  ha::ReplicaStatus status TH_GUARDED_BY(mu);
  std::string role TH_GUARDED_BY(mu) = "none";
  // The role as of the controller's last on_role_change: by then it has
  // published what goes with it (registration id, master address, deadline).
  std::string announced TH_GUARDED_BY(mu) = "none@0";
  int64_t epoch TH_GUARDED_BY(mu) = 0;
  std::string following TH_GUARDED_BY(mu);
  int64_t deadline TH_GUARDED_BY(mu) = -1;
  int rounds TH_GUARDED_BY(mu) = 0;
  // The in-sync set its HA layer would keep as master, and what etcd took.
  std::set<int64_t> isr TH_GUARDED_BY(mu);
  std::set<int64_t> recorded TH_GUARDED_BY(mu);

  ha::EtcdController::Hooks Hooks() {
    ha::EtcdController::Hooks h;
    h.status = [this] {
      MutexLock l(&mu);
      ++rounds;
      return status;
    };
    h.become_master = [this](int64_t e) {
      MutexLock l(&mu);
      role = "master";
      epoch = status.epoch = e;
      return Status::OK();
    };
    h.become_slave = [this](int64_t e, const std::string& addr,
                            const std::string&) {
      MutexLock l(&mu);
      role = "slave";
      epoch = status.epoch = e;
      following = addr;
      return Status::OK();
    };
    h.set_write_deadline = [this](int64_t d) {
      MutexLock l(&mu);
      deadline = d;
    };
    h.sync_state_set = [this] {
      MutexLock l(&mu);
      return isr;
    };
    h.sync_state_set_recorded = [this](const std::set<int64_t>& s) {
      MutexLock l(&mu);
      recorded = s;
    };
    h.on_role_change = [this] {
      MutexLock l(&mu);
      announced = role + "@" + std::to_string(epoch);
    };
    return h;
  }
  void SetIsr(std::set<int64_t> s) {
    MutexLock l(&mu);
    isr = std::move(s);
  }
  std::set<int64_t> Recorded() const {
    MutexLock l(&mu);
    return recorded;
  }
  std::string Role() const {
    MutexLock l(&mu);
    return role + "@" + std::to_string(epoch);
  }
  std::string Announced() const {
    MutexLock l(&mu);
    return announced;
  }
  int Rounds() const {
    MutexLock l(&mu);
    return rounds;
  }
  int64_t Deadline() const {
    MutexLock l(&mu);
    return deadline;
  }
  void SetMaxOffset(int64_t v) {
    MutexLock l(&mu);
    status.max_offset = v;
  }
};

class EtcdControllerTest : public EtcdTest {
 protected:
  std::unique_ptr<ha::EtcdController> Make(const std::string& name,
                                           FakeReplica* r,
                                           bool unclean = false) {
    ha::EtcdControllerOptions o;
    o.endpoints = etcd_->endpoint();
    o.cluster_name = "C";
    o.broker_name = "g";
    o.store_root = tmp_.path() + "/" + name;
    o.broker_addr = name + ":10911";
    o.ha_addr = name + ":10912";
    o.lease_ttl_ms = kLeaseTtlMs;
    o.elect_unclean = unclean;
    return std::make_unique<ha::EtcdController>(o, r->Hooks());
  }
  // Waits until the controller has acted on the role `want` and announced it:
  // the replica's hook runs first, the controller's own state follows.
  static bool WaitRole(const FakeReplica& r, const std::string& want) {
    return testing::WaitUntil([&] { return r.Announced() == want; }, 15s);
  }
};

TEST_F(EtcdControllerTest, ElectsOneMasterFailsOverAndKeepsReplicaIds) {
  FakeReplica a, b;
  auto ca = Make("a", &a);
  ASSERT_OK(ca->Start(5000));
  EXPECT_EQ(ca->replica_id(), 1);
  ASSERT_TRUE(WaitRole(a, "master@1")) << a.Role();
  EXPECT_EQ(ca->registration_id(), 0);
  EXPECT_GT(a.Deadline(), 0);  // unfenced after the election
  auto cb = Make("b", &b);
  ASSERT_OK(cb->Start(5000));
  EXPECT_EQ(cb->replica_id(), 2);
  ASSERT_TRUE(WaitRole(b, "slave@1")) << b.Role();
  EXPECT_EQ(cb->registration_id(), 2);
  EXPECT_EQ(cb->master_addr(), "a:10911");

  // a's HA layer takes b into its in-sync set: the controller records it.
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return a.Recorded() == std::set<int64_t>{1}; }, 15s));
  a.SetIsr({2});
  ha::EtcdClient etcd(etcd_->endpoint(), 1000);
  const std::string prefix = ha::EtcdController::Prefix("C", "g");
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto s = etcd.Get(prefix + "syncStateSet");
        return s.ok() && s->has_value() &&
               (*s)->value.find("[1,2]") != std::string::npos;
      },
      15s));
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return a.Recorded() == std::set<int64_t>{1, 2}; }, 15s));

  // The master steps down (its lease revoked): fenced at once, b wins epoch 2.
  ca->Stop();
  EXPECT_EQ(a.Deadline(), 0);
  ASSERT_TRUE(WaitRole(b, "master@2")) << b.Role();
  ASSERT_OK_AND_ASSIGN(auto epoch, etcd.Get(prefix + "masterEpoch"));
  ASSERT_TRUE(epoch.has_value());
  EXPECT_EQ(epoch->value, "2");

  // a comes back with its brokerIdentity file: the same id, now a slave.
  FakeReplica a2;
  auto ca2 = Make("a", &a2);
  ASSERT_OK(ca2->Start(5000));
  EXPECT_EQ(ca2->replica_id(), 1);
  ASSERT_TRUE(WaitRole(a2, "slave@2")) << a2.Role();
  EXPECT_EQ(a2.Deadline(), 0);
  // A third replica gets a new id, never a reused one.
  FakeReplica c;
  auto cc = Make("c", &c);
  ASSERT_OK(cc->Start(5000));
  EXPECT_EQ(cc->replica_id(), 3);
  cc->Stop();
  ca2->Stop();
  cb->Stop();
}

TEST_F(EtcdControllerTest, ReplicaOutsideTheInSyncSetIsNotElected) {
  FakeReplica a, b;
  a.SetMaxOffset(1 << 20);  // b never reaches it: a's set stays {a}
  auto ca = Make("a", &a);
  ASSERT_OK(ca->Start(5000));
  ASSERT_TRUE(WaitRole(a, "master@1")) << a.Role();
  auto cb = Make("b", &b);
  ASSERT_OK(cb->Start(5000));
  ASSERT_TRUE(WaitRole(b, "slave@1")) << b.Role();
  ca->Stop();
  // Several rounds of b after the master is gone: still a slave.
  const int after = b.Rounds();
  ASSERT_TRUE(testing::WaitUntil([&] { return b.Rounds() >= after + 4; }, 15s));
  EXPECT_EQ(b.Role(), "slave@1");
  cb->Stop();
  // With unclean election allowed it is elected.
  FakeReplica b2;
  auto cb2 = Make("b", &b2, /*unclean=*/true);
  ASSERT_OK(cb2->Start(5000));
  ASSERT_TRUE(WaitRole(b2, "master@2")) << b2.Role();
  cb2->Stop();
}

// ---------------------------------------------------------------------------
// Real brokers: a name server, two brokers of group broker-a in controller
// mode (SYNC_MASTER), a producer.

// A send the broker stored: SEND_OK, or FLUSH_SLAVE_TIMEOUT (an in-sync
// slave did not confirm it in time).
struct Acked {
  bool send_ok = true;
  std::string body;
  int32_t queue_id;
  int64_t queue_offset;
  std::string store_addr;  // the broker that answered SEND_OK
  Clock::time_point at;
};

class EtcdFailoverTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(namesrv_.Start({THRUSTER_NAMESRV_BIN, "--listenPort=0",
                              "--bindAddress=127.0.0.1", "--logTarget=stderr"},
                             tmp_.path() + "/namesrv.log"));
    std::smatch m;
    std::string text;
    ASSERT_OK(namesrv_.WaitForLog(
        std::regex(R"(listening on 127\.0\.0\.1:(\d+))"), 30s, &m, &text));
    namesrv_addr_ = "127.0.0.1:" + m[1].str();
  }
  void TearDown() override {
    producer_.reset();
    admin_.reset();
    if (client_) client_->Stop();
  }
  std::unique_ptr<testing::BrokerProcess> Broker(const std::string& name) {
    std::vector<std::string> flags{
        "--namesrvAddr=" + namesrv_addr_, "--brokerName=broker-a",
        "--brokerRole=SYNC_MASTER", "--flushDiskType=SYNC_FLUSH",
        "--enableControllerMode=true", "--etcdEndpoints=" + etcd_->endpoint(),
        "--controllerLeaseTtlMs=" + std::to_string(kLeaseTtlMs),
        // SEND_OK once every in-sync replica holds the message (§7.7).
        "--allAckInSyncStateSet=true"};
    flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
    return std::make_unique<testing::BrokerProcess>(
        THRUSTER_BROKER_BIN, tmp_.path() + "/" + name, std::move(flags),
        1 << 20);
  }
  static bool WaitLog(const testing::BrokerProcess& b, const std::string& re,
                      std::chrono::seconds timeout = 20s) {
    const std::regex r(re);
    return testing::WaitUntil([&] { return std::regex_search(b.log(), r); },
                              timeout);
  }
  // a is master at epoch 1, b its in-sync slave; the topic exists on both.
  void StartGroup() {
    a_ = Broker("a");
    ASSERT_OK(a_->Start());
    ASSERT_TRUE(WaitLog(*a_, "elected master at epoch 1")) << a_->log();
    b_ = Broker("b");
    ASSERT_OK(b_->Start());
    ASSERT_TRUE(WaitLog(*b_, "slave of")) << b_->log();
    ASSERT_TRUE(WaitLog(*a_, R"(syncStateSet \[1,2\])")) << a_->log();
    client::ClientOptions o;
    o.namesrv_addr = namesrv_addr_;
    o.heartbeat_interval_ms = 0;
    client_ = std::make_unique<client::ClientInstance>(o);
    ASSERT_OK(client_->Start());
    admin_ = std::make_unique<client::AdminClient>(client_.get());
    remoting::TopicConfig t;
    t.topic_name = "FailoverTopic";
    t.read_queue_nums = t.write_queue_nums = 2;
    for (const auto* b : {a_.get(), b_.get()})
      ASSERT_OK(admin_->CreateTopic(t, b->addr(), "").status());
    client::ProducerOptions po;
    po.route_refresh_ms = 300;
    po.send_timeout = 2000ms;
    po.retry_times = 0;
    producer_ = std::make_unique<client::Producer>(client_.get(), po);
  }
  // One synchronous send; true (and recorded) when the broker stored it.
  bool SendOne(int i) {
    const std::string body = "m-" + std::to_string(i);
    client::Message m;
    m.topic = "FailoverTopic";
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    auto r = producer_->Send(m);
    if (!r.ok()) return false;
    auto id = message::DecodeMessageId(r->offset_msg_id);
    acked_.push_back({r->status == client::SendStatus::kSendOk, body,
                      r->queue.queue_id, r->queue_offset,
                      id.ok()
                          ? "127.0.0.1:" + std::to_string(id->store_host.port)
                          : std::string(),
                      Clock::now()});
    return true;
  }
  // Sends until `n` more SEND_OKs or `timeout`; failed sends retry after a
  // short pause (no master yet).
  int SendUntil(size_t n, std::chrono::seconds timeout) {
    const size_t want = acked_.size() + n;
    const auto deadline = Clock::now() + timeout;
    int failures = 0;
    while (acked_.size() < want && Clock::now() < deadline) {
      if (!SendOne(next_++)) {
        ++failures;
        std::this_thread::sleep_for(50ms);  // back-off between failed sends
      }
    }
    return failures;
  }
  // Every SEND_OK message is readable on `addr` at its queue offset, once.
  void ExpectAllAckedOn(const std::string& addr) {
    client::ClientOptions o;
    o.namesrv_addr = namesrv_addr_;
    o.heartbeat_interval_ms = 0;
    client::ClientInstance fresh(o);
    ASSERT_OK(fresh.Start());
    client::PullConsumer consumer(&fresh);
    std::map<std::pair<int32_t, int64_t>, std::string> stored;
    for (int32_t q = 0; q < 2; ++q) {
      client::MessageQueue mq{"FailoverTopic", "broker-a", q};
      int64_t offset = 0;
      for (int guard = 0; guard < 1000; ++guard) {
        auto r = consumer.Pull(mq, "*", offset, 32);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (r->status != client::PullStatus::kFound) break;
        for (const auto& rec : r->messages) {
          auto [it, inserted] = stored.emplace(
              std::make_pair(q, rec.queue_offset),
              std::string(reinterpret_cast<const char*>(rec.body.data()),
                          rec.body.size()));
          EXPECT_TRUE(inserted)
              << "queue " << q << " offset " << rec.queue_offset << " twice";
        }
        offset = r->next_begin_offset;
      }
    }
    fresh.Stop();
    // Every SEND_OK, and whatever `addr` itself stored.
    int lost = 0, checked = 0;
    for (const Acked& a : acked_) {
      if (!a.send_ok && a.store_addr != addr) continue;
      ++checked;
      auto it = stored.find({a.queue_id, a.queue_offset});
      if (it == stored.end() || it->second != a.body) ++lost;
    }
    std::printf("stored %zu (checked %d), lost %d (read from %s)\n",
                acked_.size(), checked, lost, addr.c_str());
    EXPECT_EQ(lost, 0);
  }

  testing::ChildProcess namesrv_;
  std::string namesrv_addr_;
  std::unique_ptr<testing::BrokerProcess> a_, b_;
  std::vector<std::string> extra_flags_;  // for every broker started
  std::unique_ptr<client::ClientInstance> client_;
  std::unique_ptr<client::AdminClient> admin_;
  std::unique_ptr<client::Producer> producer_;
  std::vector<Acked> acked_;
  int next_ = 0;
};

TEST_F(EtcdFailoverTest, KilledMasterIsReplacedAndNoAcknowledgedMessageIsLost) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  SendUntil(40, 20s);
  ASSERT_EQ(acked_.size(), 40u);
  for (const Acked& x : acked_) ASSERT_TRUE(x.send_ok);  // b in sync
  const auto killed = Clock::now();
  a_->Stop(SIGKILL);
  SendUntil(1, 30s);
  ASSERT_EQ(acked_.size(), 41u) << b_->log();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      acked_.back().at - killed)
                      .count();
  // b alone is its whole in-sync set: SEND_OK without waiting (§7.7).
  std::printf(
      "kill -9 of the master → first stored send on the new master: %lld ms\n",
      static_cast<long long>(ms));
  EXPECT_EQ(acked_.back().store_addr, b_->addr());
  // Bound: lease TTL (3 s) + etcd's expiry check + a round (1 s) + the
  // producer's route refresh; measured about 4-5 s.
  EXPECT_LT(ms, 12000);
  ASSERT_TRUE(WaitLog(*b_, "elected master at epoch 2")) << b_->log();
  SendUntil(20, 20s);
  ASSERT_NO_FATAL_FAILURE(ExpectAllAckedOn(b_->addr()));
}

TEST_F(EtcdFailoverTest, PausedMasterNeverAcksAfterItsLeaseAndRejoinsAsSlave) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  SendUntil(20, 20s);
  ASSERT_EQ(acked_.size(), 20u);
  // Sends in flight while a is stopped: their answers, if any, come after.
  std::vector<Acked> late;
  Mutex late_mu;
  const auto paused = Clock::now();
  a_->Signal(SIGSTOP);
  std::thread sender([&] {
    client::ProducerOptions po;
    po.send_timeout = 20000ms;  // outlives the pause
    po.retry_times = 0;
    po.route_refresh_ms = 1000000;  // keeps sending to a
    client::Producer p(client_.get(), po);
    const std::string body = "paused";
    client::Message m;
    m.topic = "FailoverTopic";
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    auto r = p.Send(m);
    if (r.ok()) {  // stored (any status): must not come from a
      auto id = message::DecodeMessageId(r->offset_msg_id);
      MutexLock l(&late_mu);
      late.push_back(
          {true, body, r->queue.queue_id, r->queue_offset,
           id.ok() ? "127.0.0.1:" + std::to_string(id->store_host.port) : "",
           Clock::now()});
    }
  });
  ASSERT_TRUE(WaitLog(*b_, "elected master at epoch 2", 30s)) << b_->log();
  a_->Signal(SIGCONT);
  sender.join();
  {
    MutexLock l(&late_mu);
    for (const Acked& x : late)
      EXPECT_NE(x.store_addr, a_->addr())
          << "a acknowledged a send after its lease was gone";
  }
  ASSERT_TRUE(WaitLog(*a_, "slave of")) << a_->log();
  std::printf("SIGSTOP of the master → new master elected after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      Clock::now() - paused)
                      .count()));
  SendUntil(10, 30s);
  EXPECT_EQ(acked_.back().store_addr, b_->addr());
  ASSERT_NO_FATAL_FAILURE(ExpectAllAckedOn(b_->addr()));
}

TEST_F(EtcdFailoverTest, EtcdRestartPausesWritesAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  SendUntil(20, 20s);
  ASSERT_EQ(acked_.size(), 20u);
  etcd_->Stop();
  // The master cannot renew: it fences itself.
  ASSERT_TRUE(WaitLog(*a_, "controller: fenced")) << a_->log();
  EXPECT_FALSE(SendOne(next_++));
  ASSERT_OK(etcd_->Start());
  SendUntil(20, 30s);
  ASSERT_EQ(acked_.size(), 40u);
  ASSERT_NO_FATAL_FAILURE(ExpectAllAckedOn(acked_.back().store_addr));
}

// spec/ha.md §7.7 on real processes: three replicas with
// allAckInSyncStateSet. A SEND_OK means both slaves hold the message; a slave
// that stops (SIGSTOP) leaves the in-sync set after haMaxTimeSlaveNotCatchup
// (so it cannot be elected, and the master stops waiting for it), and joins
// it again once it has caught up.
TEST_F(EtcdFailoverTest, LaggingSlaveLeavesTheInSyncSetAndRejoins) {
  extra_flags_ = {"--haMaxTimeSlaveNotCatchup=1500", "--slaveTimeout=8000"};
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  auto c = Broker("c");
  ASSERT_OK(c->Start());
  ASSERT_TRUE(WaitLog(*c, "slave of")) << c->log();
  ha::EtcdClient etcd(etcd_->endpoint(), 1000);
  const std::string prefix =
      ha::EtcdController::Prefix("DefaultCluster", "broker-a");
  auto etcd_set_is = [&](const std::string& members) {
    return testing::WaitUntil(
        [&] {
          auto v = etcd.Get(prefix + "syncStateSet");
          return v.ok() && v->has_value() &&
                 (*v)->value.find("\"syncStateSet\":" + members) !=
                     std::string::npos;
        },
        30s);
  };
  ASSERT_TRUE(etcd_set_is("[1,2,3]")) << a_->log();

  // A slave's own CommitLog max offset, as it answers GET_BROKER_HA_STATUS.
  auto slave_max = [&](const testing::BrokerProcess& b) -> int64_t {
    auto st = admin_->BrokerHaStatus(b.addr());
    if (!st.ok()) return -1;
    std::smatch m;
    if (!std::regex_search(*st, m,
                           std::regex(R"("masterCommitLogMaxOffset":(\d+))")))
      return -1;
    return std::stoll(m[1].str());
  };
  // The master's inSyncSlaveNums: the in-sync set less itself.
  auto in_sync_slaves = [&]() -> int64_t {
    auto st = admin_->BrokerHaStatus(a_->addr());
    if (!st.ok()) return -1;
    std::smatch m;
    if (!std::regex_search(*st, m, std::regex(R"("inSyncSlaveNums":(\d+))")))
      return -1;
    return std::stoll(m[1].str());
  };
  EXPECT_TRUE(testing::WaitUntil([&] { return in_sync_slaves() == 2; }, 10s));
  for (int i = 0; i < 10; ++i) {
    const std::string body = "isr-" + std::to_string(i);
    client::Message m;
    m.topic = "FailoverTopic";
    m.body = std::as_bytes(std::span(body.data(), body.size()));
    auto r = producer_->Send(m);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, client::SendStatus::kSendOk);
    auto id = message::DecodeMessageId(r->offset_msg_id);
    ASSERT_TRUE(id.ok());
    // Asked right after SEND_OK: both slaves already have the record.
    EXPECT_GT(slave_max(*b_), id->phys_offset) << "send " << i;
    EXPECT_GT(slave_max(*c), id->phys_offset) << "send " << i;
  }

  c->Signal(SIGSTOP);
  const auto stopped = Clock::now();
  SendUntil(5, 30s);  // the first waits for c until the set drops it
  ASSERT_TRUE(etcd_set_is("[1,2]")) << a_->log();
  EXPECT_EQ(in_sync_slaves(), 1);
  const auto dropped_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              Clock::now() - stopped)
                              .count();
  std::printf("stopped slave left the in-sync set after %lld ms\n",
              static_cast<long long>(dropped_ms));
  // haMaxTimeSlaveNotCatchup (1.5 s) + a controller round (1 s) + etcd.
  EXPECT_LT(dropped_ms, 10000);
  SendUntil(5, 20s);
  ASSERT_EQ(acked_.size(), 10u);
  for (const Acked& x : acked_) EXPECT_TRUE(x.send_ok);

  c->Signal(SIGCONT);
  ASSERT_TRUE(etcd_set_is("[1,2,3]")) << a_->log() << c->log();
  EXPECT_TRUE(testing::WaitUntil([&] { return in_sync_slaves() == 2; }, 10s));
  SendUntil(3, 20s);
  const int64_t end = slave_max(*b_);
  EXPECT_TRUE(testing::WaitUntil([&] { return slave_max(*c) == end; }, 20s));
  c->Stop();
}

// `make failover-test ITER=N`: N master kills and N/2 pauses (every third
// round), each followed by a fresh replica in the dead one's place; prints
// stored / acknowledged / lost and the failover time's p50 / p99. Not in the
// suite (DISABLED_); the Makefile target runs it.
TEST_F(EtcdFailoverTest, DISABLED_FailoverLoop) {
  const char* env = std::getenv("THRUSTER_FAILOVER_ITER");
  const int kills = env != nullptr ? std::atoi(env) : 10;
  const int rounds = kills + kills / 2;
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  ha::EtcdClient etcd(etcd_->endpoint(), 1000);
  const std::string prefix =
      ha::EtcdController::Prefix("DefaultCluster", "broker-a");
  testing::BrokerProcess* master = a_.get();
  std::vector<int64_t> failover_ms;
  std::vector<std::unique_ptr<testing::BrokerProcess>> dead;
  for (int round = 0; round < rounds; ++round) {
    const bool pause = round % 3 == 2;
    testing::BrokerProcess* other = master == a_.get() ? b_.get() : a_.get();
    // Both in the in-sync set, and SEND_OK again, before the next failure.
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          auto v = etcd.Get(prefix + "syncStateSet");
          return v.ok() && v->has_value() &&
                 std::regex_search((*v)->value,
                                   std::regex(R"("syncStateSet":\[\d+,\d+\])"));
        },
        60s))
        << master->log();
    SendUntil(5, 30s);
    const auto t0 = Clock::now();
    if (pause) {
      master->Signal(SIGSTOP);
    } else {
      master->Stop(SIGKILL);
    }
    bool moved = false;
    const auto deadline = Clock::now() + 60s;
    while (!moved && Clock::now() < deadline) {
      if (SendOne(next_++) && acked_.back().store_addr == other->addr()) {
        moved = true;
      } else {
        std::this_thread::sleep_for(50ms);  // back-off between failed sends
      }
    }
    ASSERT_TRUE(moved) << "round " << round << ": no new master\n"
                       << other->log();
    failover_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                              acked_.back().at - t0)
                              .count());
    if (pause) {
      master->Signal(SIGCONT);
      master->Stop(SIGKILL);
    }
    // A fresh replica where the dead one was (a new store, a new id).
    std::unique_ptr<testing::BrokerProcess>& slot =
        master == a_.get() ? a_ : b_;
    dead.push_back(std::move(slot));
    slot = Broker("r" + std::to_string(round));
    ASSERT_OK(slot->Start());
    remoting::TopicConfig t;
    t.topic_name = "FailoverTopic";
    t.read_queue_nums = t.write_queue_nums = 2;
    ASSERT_OK(admin_->CreateTopic(t, slot->addr(), "").status());
    master = other;
    std::printf("round %d (%s): %lld ms\n", round, pause ? "pause" : "kill",
                static_cast<long long>(failover_ms.back()));
    std::fflush(stdout);
  }
  std::sort(failover_ms.begin(), failover_ms.end());
  const auto pct = [&](double p) {
    return failover_ms[std::min(
        failover_ms.size() - 1,
        static_cast<size_t>(p * static_cast<double>(failover_ms.size())))];
  };
  size_t ok = 0;
  for (const Acked& x : acked_) ok += x.send_ok ? 1 : 0;
  std::printf(
      "failover loop: %d kills, %d pauses; acknowledged (SEND_OK) %zu; "
      "failover p50 %lld ms, p99 %lld ms, max %lld ms\n",
      rounds - rounds / 3, rounds / 3, ok, static_cast<long long>(pct(0.5)),
      static_cast<long long>(pct(0.99)),
      static_cast<long long>(failover_ms.back()));
  ASSERT_NO_FATAL_FAILURE(ExpectAllAckedOn(master->addr()));
}

}  // namespace
}  // namespace thruster
