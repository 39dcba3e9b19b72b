// Hostile clients against a real thruster-broker process: garbage bytes,
// malformed and oversized frames, a frame that stalls mid-way, a flood of
// requests of unknown code, pulls with absurd offsets and sizes, a client that
// never reads its pull responses, and thousands of idle connections. Each
// hostile connection gets a clear error or is closed, and a well-behaved client
// on its own connection keeps being served in the same test (its latency is
// printed next to the one measured before the attack). The broker's RSS,
// threads and file descriptors are read from /proc and printed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client_instance.h"
#include "common/coding.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "remoting/frame_codec.h"
#include "tests/support/process.h"
#include "tests/support/test_util.h"

namespace thruster {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace hostile_rc = remoting::response_code;
namespace hostile_req = remoting::request_code;
using HostileClock = std::chrono::steady_clock;

constexpr char kHostileTopic[] = "HostileT";

using testing::OpenFdCount;
using testing::ProcStatusField;

// A raw TCP connection that writes whatever it is given.
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 &&
        ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // False once the peer has closed (EPIPE, ECONNRESET).
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads and drops whatever arrives until the peer closes (true) or
  // `deadline` passes (false).
  bool WaitClosed(std::chrono::milliseconds deadline) {
    const auto end = HostileClock::now() + deadline;
    char buf[65536];
    while (HostileClock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - HostileClock::now());
      int r =
          ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0 && errno != EINTR && errno != EAGAIN) return true;
    }
    return false;
  }

  // One whole frame, decoded; an error on close, timeout or bad bytes.
  Result<RemotingCommand> ReadFrame(std::chrono::milliseconds deadline) {
    const auto end = HostileClock::now() + deadline;
    auto read_exact = [&](char* out, size_t n) -> bool {
      while (n > 0) {
        pollfd p{fd_, POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - HostileClock::now());
        if (left.count() <= 0) return false;
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        ssize_t got = ::recv(fd_, out, n, 0);
        if (got <= 0) return false;
        out += got;
        n -= static_cast<size_t>(got);
      }
      return true;
    };
    std::string frame(4, '\0');
    if (!read_exact(frame.data(), 4))
      return Status::IOError("no frame before the deadline", ETIMEDOUT);
    const int32_t len = LoadI32(frame.data());
    if (len < 4 || len > (64 << 20))
      return Status::Corruption("bad frame length " + std::to_string(len));
    frame.resize(4 + static_cast<size_t>(len));
    if (!read_exact(frame.data() + 4, static_cast<size_t>(len)))
      return Status::IOError("frame cut short", ETIMEDOUT);
    return remoting::DecodeFrame(std::as_bytes(std::span(frame)));
  }

 private:
  int fd_ = -1;
};

std::string EncodeRequest(const RemotingCommand& cmd) {
  auto f = remoting::EncodeFrame(cmd);
  return f.ok() ? *f : std::string();
}

// A frame's first 8 bytes: the length field and the header-length word.
std::string FramePrefix(int32_t length, uint8_t type, uint32_t header_len) {
  std::string out(8, '\0');
  StoreI32(out.data(), length);
  StoreI32(out.data() + 4,
           static_cast<int32_t>((uint32_t{type} << 24) | header_len));
  return out;
}

RemotingCommand PullRequest(int64_t offset, int32_t max_msgs,
                            int32_t queue_id = 0) {
  RemotingCommand r = RemotingCommand::CreateRequest(hostile_req::kPullMessage);
  r.SetExt("consumerGroup", "HostileGroup");
  r.SetExt("topic", kHostileTopic);
  r.SetExt("queueId", queue_id);
  r.SetExt("queueOffset", offset);
  r.SetExt("maxMsgNums", max_msgs);
  r.SetExt("sysFlag", 0x4);  // FLAG_SUBSCRIPTION: the subscription below
  r.SetExt("commitOffset", int64_t{-1});
  r.SetExt("suspendTimeoutMillis", int64_t{0});
  r.SetExt("subscription", "*");
  r.SetExt("subVersion", int64_t{0});
  return r;
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client::ClientOptions co;
    co.heartbeat_interval_ms = 0;
    co.timeout = 10000ms;
    client_ = std::make_unique<client::ClientInstance>(co);
    ASSERT_OK(client_->Start());
  }
  void TearDown() override {
    client_->Stop();
    if (broker_) broker_->Stop();
  }

  // Starts thruster-broker with `extra` flags; waits (with a deadline) for the
  // line saying where it listens, then creates the test topic.
  void StartBroker(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(),
                 {"--namesrvListenPort=0", "--brokerName=broker-hostile"});
    broker_ = std::make_unique<testing::BrokerProcess>(
        THRUSTER_BROKER_BIN, dir_.path(), std::move(extra), 64 << 20);
    ASSERT_OK(broker_->Start());
    pid_ = broker_->pid();
    port_ = broker_->port();
    addr_ = broker_->addr();
    RemotingCommand t =
        RemotingCommand::CreateRequest(hostile_req::kUpdateAndCreateTopic);
    t.SetExt("topic", kHostileTopic);
    t.SetExt("defaultTopic", "TBW102");
    t.SetExt("readQueueNums", 1);
    t.SetExt("writeQueueNums", 1);
    t.SetExt("perm", 6);
    t.SetExt("topicFilterType", "SINGLE_TAG");
    t.SetExt("order", "false");
    auto r = client_->InvokeBroker(addr_, std::move(t));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->code(), hostile_rc::kSuccess) << r->remark();
    baseline_ = GoodSendLatency(20);
    std::printf("well-behaved send before the attack: %.2f ms (median of 20)\n",
                baseline_);
  }

  // The broker is alive and answers a well-behaved producer: the median
  // latency (ms) of `n` sends, each of which must succeed.
  double GoodSendLatency(int n, size_t body_size = 100) {
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
      RemotingCommand s =
          RemotingCommand::CreateRequest(hostile_req::kSendMessageV2);
      s.SetExt("a", "HostilePG");
      s.SetExt("b", kHostileTopic);
      s.SetExt("c", "TBW102");
      s.SetExt("d", 4);
      s.SetExt("e", 0);
      s.SetExt("f", 0);
      s.SetExt("g", int64_t{0});
      s.SetExt("h", 0);
      s.SetExt("i", message::EncodeProperties({{"TAGS", "A"}}));
      s.set_body(std::string(body_size, 'g'));
      const auto t0 = HostileClock::now();
      auto r = client_->InvokeBroker(addr_, std::move(s));
      ms.push_back(
          std::chrono::duration<double, std::milli>(HostileClock::now() - t0)
              .count());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(r->code(), hostile_rc::kSuccess) << r->remark();
      }
    }
    std::sort(ms.begin(), ms.end());
    return ms.empty() ? 0 : ms[ms.size() / 2];
  }

  void ExpectServed(const char* during) {
    const double ms = GoodSendLatency(10);
    std::printf("well-behaved send %s: %.2f ms (median of 10; %.1fx)\n", during,
                ms, baseline_ > 0 ? ms / baseline_ : 0.0);
  }

  int64_t RssKb() const { return ProcStatusField(pid_, "VmRSS"); }
  // The broker's heap and other private memory: not the mapped store files,
  // whose pages its allocate thread touches ahead of the writer on its own
  // schedule.
  int64_t RssAnonKb() const { return ProcStatusField(pid_, "RssAnon"); }
  int64_t Threads() const { return ProcStatusField(pid_, "Threads"); }

  testing::TempDir dir_;
  std::unique_ptr<testing::BrokerProcess> broker_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string addr_;
  double baseline_ = 0;
  std::unique_ptr<client::ClientInstance> client_;
};

// Each malformed input closes its connection at once (well before the 120 s
// idle timeout); the broker keeps serving.
TEST_F(HostileClientTest, MalformedFramesCloseOnlyTheirConnection) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::string bad_json_header = "{\"code\":10,";
  std::vector<Case> cases = {
      {"negative length", FramePrefix(-5, 0, 0)},
      {"length below 4", FramePrefix(3, 0, 0)},
      {"oversized frame (16 MiB + 1)",
       FramePrefix(16 * 1024 * 1024 + 1, 0, 10)},
      {"header length beyond the frame", FramePrefix(12, 0, 100) + "{}{}{}{}"},
      {"unknown serialize type", FramePrefix(6, 7, 2) + "{}"},
      {"JSON header that does not parse",
       FramePrefix(static_cast<int32_t>(4 + bad_json_header.size()), 0,
                   static_cast<uint32_t>(bad_json_header.size())) +
           bad_json_header},
      {"binary header cut short",
       FramePrefix(10, 1, 6) + std::string("\x00\x0a\x00\x00\x01\x00", 6)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RawConn conn(port_);
    ASSERT_TRUE(conn.ok());
    const auto t0 = HostileClock::now();
    conn.Send(c.bytes);
    EXPECT_TRUE(conn.WaitClosed(30s)) << "the broker kept the connection";
    std::printf(
        "%s: closed after %.1f ms\n", c.what,
        std::chrono::duration<double, std::milli>(HostileClock::now() - t0)
            .count());
  }
  // 1 MiB of seeded random bytes: whatever the first word says, the broker
  // closes (a length it accepts leaves the frame incomplete at 1 MiB only when
  // it is above 1 MiB; then the rest of the bytes never come and the test
  // closes its end, which the broker must notice too).
  std::mt19937_64 rng(20261205);
  for (int i = 0; i < 20; ++i) {
    std::string garbage(1 << 16, '\0');
    for (char& ch : garbage) ch = static_cast<char>(rng());
    RawConn conn(port_);
    ASSERT_TRUE(conn.ok());
    conn.Send(garbage);
    const int32_t len = LoadI32(garbage.data());
    if (len >= 4 && len <= 16 * 1024 * 1024 &&
        static_cast<size_t>(len) + 4 > garbage.size())
      continue;  // a stalled frame: the idle timeout's test covers it
    EXPECT_TRUE(conn.WaitClosed(30s)) << "garbage " << i << " kept open";
  }
  ExpectServed("after malformed frames");
  // The broker is still the same process.
  EXPECT_TRUE(broker_->Alive());
}

// A frame that stops half-way holds no thread: 50 of them stall while a
// well-behaved client is served, and each is dropped once the idle timeout
// (serverChannelMaxIdleTimeSeconds=2) has passed without traffic.
TEST_F(HostileClientTest, StalledFramesAreDroppedAfterTheIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--serverChannelMaxIdleTimeSeconds=2"}));
  std::vector<std::unique_ptr<RawConn>> stalled;
  const int64_t rss0 = RssAnonKb();
  const auto t0 = HostileClock::now();
  for (int i = 0; i < 50; ++i) {
    stalled.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(stalled.back()->ok());
    // Half say 1000 bytes follow, half the largest frame allowed (16 MiB);
    // each sends 100 bytes.
    const int32_t len = i % 2 == 0 ? 1000 : 16 * 1024 * 1024;
    ASSERT_TRUE(
        stalled.back()->Send(FramePrefix(len, 0, 200) + std::string(92, '{')));
  }
  ExpectServed("with 50 stalled frames");
  // What the broker holds for them follows what they sent, not what they
  // announced (25 x 16 MiB).
  const int64_t rss1 = RssAnonKb();
  std::printf("50 stalled frames: broker RssAnon %lld -> %lld KiB\n",
              static_cast<long long>(rss0), static_cast<long long>(rss1));
  EXPECT_LT(rss1 - rss0, 16 * 1024);
  for (auto& c : stalled) EXPECT_TRUE(c->WaitClosed(30s));
  const double s =
      std::chrono::duration<double>(HostileClock::now() - t0).count();
  std::printf("50 stalled frames dropped after %.2f s\n", s);
  EXPECT_GE(s, 1.9) << "dropped before the idle timeout";
  // The well-behaved client's own connection sat idle while we waited, so the
  // broker may have closed it under the same rule: serve it on a fresh one.
  client_->remoting().CloseConnection(addr_);
  ExpectServed("after the stalled frames");
}

// 10,000 pipelined requests of an unknown code on one connection each get
// REQUEST_CODE_NOT_SUPPORTED with their opaque; a well-behaved client is
// served meanwhile.
TEST_F(HostileClientTest, UnknownCodeFloodIsAnsweredAndOthersServed) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  constexpr int kFlood = 10000;
  RawConn conn(port_);
  ASSERT_TRUE(conn.ok());
  std::atomic<bool> sent_all{false};
  std::thread writer([&] {
    std::string batch;
    for (int i = 0; i < kFlood; ++i) {
      RemotingCommand r = RemotingCommand::CreateRequest(31999);
      r.set_opaque(i);
      r.SetExt("junk", std::string(64, 'j'));
      batch += EncodeRequest(r);
      if (batch.size() > 64 * 1024 || i == kFlood - 1) {
        if (!conn.Send(batch)) return;
        batch.clear();
      }
    }
    sent_all = true;
  });
  std::atomic<int> answered{0};
  std::atomic<bool> bad{false};
  std::thread reader([&] {
    for (int i = 0; i < kFlood; ++i) {
      auto f = conn.ReadFrame(60s);
      if (!f.ok() || f->code() != hostile_rc::kRequestCodeNotSupported ||
          f->opaque() != i || !f->IsResponse()) {
        bad = true;
        return;
      }
      ++answered;
    }
  });
  ExpectServed("during a flood of unknown codes");
  writer.join();
  reader.join();
  EXPECT_TRUE(sent_all);
  EXPECT_FALSE(bad);
  EXPECT_EQ(answered.load(), kFlood);
}

// Pulls with absurd offsets and sizes get an error or an empty answer at once,
// on a connection that stays open.
TEST_F(HostileClientTest, AbsurdPullsGetClearAnswers) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  RawConn conn(port_);
  ASSERT_TRUE(conn.ok());
  struct Case {
    const char* what;
    RemotingCommand req;
    std::vector<int32_t> codes;  // any of these
  };
  RemotingCommand huge_bytes = PullRequest(0, 32);
  huge_bytes.SetExt("maxMsgBytes", std::numeric_limits<int64_t>::max());
  std::vector<Case> cases = {
      {"offset INT64_MAX",
       PullRequest(std::numeric_limits<int64_t>::max(), 32),
       {hostile_rc::kPullOffsetMoved, hostile_rc::kPullNotFound,
        hostile_rc::kPullRetryImmediately}},
      {"negative offset",
       PullRequest(-1000, 32),
       {hostile_rc::kPullOffsetMoved, hostile_rc::kPullNotFound,
        hostile_rc::kPullRetryImmediately, hostile_rc::kSuccess}},
      {"maxMsgNums 0", PullRequest(0, 0), {hostile_rc::kInvalidParameter}},
      {"maxMsgNums negative",
       PullRequest(0, -7),
       {hostile_rc::kInvalidParameter}},
      {"maxMsgNums INT32_MAX",
       PullRequest(0, std::numeric_limits<int32_t>::max()),
       {hostile_rc::kSuccess, hostile_rc::kPullNotFound,
        hostile_rc::kPullRetryImmediately}},
      {"queueId out of range",
       PullRequest(0, 32, 99999),
       {hostile_rc::kSystemError, hostile_rc::kInvalidParameter}},
      {"maxMsgBytes INT64_MAX",
       huge_bytes,
       {hostile_rc::kSuccess, hostile_rc::kPullNotFound,
        hostile_rc::kPullRetryImmediately}},
  };
  int32_t opaque = 100;
  for (Case& c : cases) {
    SCOPED_TRACE(c.what);
    c.req.set_opaque(++opaque);
    ASSERT_TRUE(conn.Send(EncodeRequest(c.req)));
    auto resp = conn.ReadFrame(30s);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->opaque(), opaque);
    EXPECT_NE(std::find(c.codes.begin(), c.codes.end(), resp->code()),
              c.codes.end())
        << "code " << resp->code() << " remark " << resp->remark();
    std::printf("%s: code %d %s\n", c.what, resp->code(),
                resp->remark().c_str());
  }
  ExpectServed("after absurd pulls");
}

// A client that sends pulls and never reads the responses: once a quarter of
// the per-connection bound (256 MiB) is queued for it the broker stops taking
// its requests, so what it holds stays bounded, and with nothing read or
// written for serverChannelMaxIdleTimeSeconds it closes the connection; a
// well-behaved client is served throughout.
TEST_F(HostileClientTest, SlowReaderIsPausedThenClosedAndMemoryStaysBounded) {
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--serverChannelMaxIdleTimeSeconds=3"}));
  GoodSendLatency(64, 64 * 1024);  // 4 MiB to pull
  const int64_t rss0 = RssKb();
  RawConn conn(port_);
  ASSERT_TRUE(conn.ok());
  int rcvbuf = 4096;
  ::setsockopt(conn.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  int sent = 0;
  bool cut_off = false;
  int64_t rss_max = rss0;
  // Sends block once the broker stops reading and the sockets are full, until
  // the broker closes the idle connection.
  for (; sent < 20000; ++sent) {
    RemotingCommand p = PullRequest(0, 32);
    p.set_opaque(sent);
    if (!conn.Send(EncodeRequest(p))) {
      cut_off = true;
      break;
    }
    if (sent % 200 == 0) rss_max = std::max(rss_max, RssKb());
  }
  if (!cut_off) cut_off = conn.WaitClosed(60s);
  rss_max = std::max(rss_max, RssKb());
  std::printf(
      "slow reader: %d pulls sent before the close; broker RSS %lld KiB "
      "before, %lld KiB at most (+%lld KiB)\n",
      sent, static_cast<long long>(rss0), static_cast<long long>(rss_max),
      static_cast<long long>(rss_max - rss0));
  EXPECT_TRUE(cut_off) << "the broker kept a peer that never reads";
  const std::string log = broker_->log();
  EXPECT_NE(log.find("pausing reads from"), std::string::npos);
  EXPECT_NE(log.find("closing idle connection"), std::string::npos);
  // The queued responses reference the CommitLog's mapping; what the broker
  // holds for them stays below the 256 MiB bound.
  EXPECT_LT(rss_max - rss0, 256 * 1024);
  ExpectServed("after the slow reader");
}

// Where reading pauses is set by serverChannelMaxPendingWriteBytes (a
// quarter of it): with a 4 MiB bound the broker stops taking the slow
// reader's pulls once more than 1 MiB is queued, after the first 2 MiB answer,
// never reaching the bound; the well-behaved client is still served.
TEST_F(HostileClientTest,
       SlowReaderPauseIsSetByServerChannelMaxPendingWriteBytes) {
  constexpr int64_t kBound = 4 * 1024 * 1024;
  ASSERT_NO_FATAL_FAILURE(StartBroker(
      {"--serverChannelMaxPendingWriteBytes=" + std::to_string(kBound),
       "--serverChannelMaxIdleTimeSeconds=3"}));
  GoodSendLatency(64, 64 * 1024);  // 4 MiB to pull: ~2 MiB per response
  RawConn conn(port_);
  ASSERT_TRUE(conn.ok());
  int rcvbuf = 4096;
  ::setsockopt(conn.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  int sent = 0;
  bool cut_off = false;
  for (; sent < 2000; ++sent) {
    RemotingCommand p = PullRequest(0, 32);
    p.set_opaque(sent);
    if (!conn.Send(EncodeRequest(p))) {
      cut_off = true;
      break;
    }
  }
  if (!cut_off) cut_off = conn.WaitClosed(60s);
  EXPECT_TRUE(cut_off) << "the broker kept a peer that never reads";
  // "pausing reads from <peer>: <N> bytes queued for it (more than <T>)": N is
  // the first answer, over T = a quarter of the bound and under the bound.
  const std::string log = broker_->log();
  const std::string marker = " bytes queued for it (more than ";
  const size_t at = log.find(marker);
  ASSERT_NE(at, std::string::npos) << "reading never paused";
  size_t begin = at;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(log[begin - 1])))
    --begin;
  const int64_t queued = std::stoll(log.substr(begin, at - begin));
  const int64_t threshold = std::stoll(log.substr(at + marker.size()));
  std::printf(
      "slow reader, bound %lld: reads paused with %lld bytes queued (more "
      "than %lld)\n",
      static_cast<long long>(kBound), static_cast<long long>(queued),
      static_cast<long long>(threshold));
  EXPECT_EQ(threshold, kBound / 4);
  EXPECT_GT(queued, kBound / 4);
  EXPECT_LT(queued, kBound);
  EXPECT_EQ(log.find("queued for a peer that does not read"),
            std::string::npos);
  ExpectServed("after the slow reader");
}

// Thousands of idle connections (10,000, or what RLIMIT_NOFILE allows) cost
// the broker no thread each, a bounded amount of memory each, and do not slow
// a well-behaved client.
TEST_F(HostileClientTest, ManyIdleConnections) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  const int64_t want = std::min<int64_t>(
      10000, static_cast<int64_t>(lim.rlim_cur) - OpenFdCount(::getpid()) - 100);
  ASSERT_GT(want, 100) << "RLIMIT_NOFILE too low";
  const int64_t rss0 = RssKb();
  const int64_t threads0 = Threads();
  const int64_t fds0 = OpenFdCount(pid_);
  std::vector<std::unique_ptr<RawConn>> idle;
  idle.reserve(static_cast<size_t>(want));
  const auto t0 = HostileClock::now();
  for (int64_t i = 0; i < want; ++i) {
    idle.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(idle.back()->ok())
        << "connection " << i << ": " << std::strerror(errno);
  }
  // The broker has accepted every one of them.
  EXPECT_TRUE(
      testing::WaitUntil([&] { return OpenFdCount(pid_) >= fds0 + want; }, 60s))
      << OpenFdCount(pid_) - fds0 << " of " << want << " accepted";
  const double connect_s =
      std::chrono::duration<double>(HostileClock::now() - t0).count();
  const int64_t rss1 = RssKb();
  const int64_t threads1 = Threads();
  std::printf(
      "%lld idle connections (opened in %.1f s): broker RSS %lld -> %lld KiB "
      "(%.1f KiB per connection), threads %lld -> %lld, fds %lld -> %lld\n",
      static_cast<long long>(want), connect_s, static_cast<long long>(rss0),
      static_cast<long long>(rss1),
      static_cast<double>(rss1 - rss0) / static_cast<double>(want),
      static_cast<long long>(threads0), static_cast<long long>(threads1),
      static_cast<long long>(fds0), static_cast<long long>(OpenFdCount(pid_)));
  EXPECT_EQ(threads1, threads0) << "a thread per connection";
  EXPECT_LT((rss1 - rss0) / want, 32) << "KiB per idle connection";
  ExpectServed("with the idle connections open");
  idle.clear();
  EXPECT_TRUE(
      testing::WaitUntil([&] { return OpenFdCount(pid_) <= fds0 + 10; }, 60s))
      << "the broker still holds " << OpenFdCount(pid_) - fds0 << " connections";
  ExpectServed("after the idle connections closed");
}

}  // namespace
}  // namespace thruster
