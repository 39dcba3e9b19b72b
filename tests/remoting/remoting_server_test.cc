#include "remoting/remoting_server.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/coding.h"
#include "remoting/frame_codec.h"
#include "remoting/remoting_client.h"
#include "tests/remoting/raw_socket.h"
#include "tests/support/test_util.h"

namespace thruster::remoting {
namespace {

using namespace std::chrono_literals;
using testing::RawSocket;

constexpr int32_t kEcho = 1000;
constexpr int32_t kLater = 1001;
constexpr int32_t kNever = 1002;
constexpr int32_t kCount = 1003;
constexpr int32_t kZeroCopy = 1004;
constexpr int32_t kBig = 1005;
constexpr int32_t kAskClient = 1006;

std::string Frame(const RemotingCommand& cmd) {
  Result<std::string> f = EncodeFrame(cmd);
  TH_CHECK(f.ok(), "encode: {}", f.status().ToString());
  return *f;
}

RemotingCommand Decode(const std::string& frame) {
  Result<RemotingCommand> r = DecodeFrame(std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(frame.data()), frame.size()));
  TH_CHECK(r.ok(), "decode: {}", r.status().ToString());
  return std::move(r).value();
}

class RemotingServerTest : public ::testing::Test {
 protected:
  void StartServer(ConnectionOptions conn = {}) {
    RemotingServerOptions options;
    options.io_threads = 2;
    options.busy_poll_us = busy_poll_us_;
    options.connection = conn;
    server_ = std::make_unique<RemotingServer>(options);
    server_->RegisterProcessor(kEcho, [](RemotingCommand req, Responder r) {
      RemotingCommand resp =
          req.CreateResponse(response_code::kSuccess, "echo");
      resp.mutable_ext_fields() = req.ext_fields();
      resp.set_body(req.body());
      r.Send(std::move(resp));
    });
    server_->RegisterProcessor(
        kLater, [this](RemotingCommand req, Responder r) {
          std::lock_guard<std::mutex> lock(mu_);
          parked_.emplace_back(std::move(req), std::move(r));
          cv_.notify_all();
        });
    server_->RegisterProcessor(kNever, [](RemotingCommand, Responder) {});
    server_->RegisterProcessor(
        kCount, [this](RemotingCommand req, Responder r) {
          count_.fetch_add(1);
          r.Send(req.CreateResponse(
              response_code::kSuccess));  // dropped for oneway requests
        });
    server_->RegisterProcessor(kZeroCopy, [this](RemotingCommand req,
                                                 Responder r) {
      RemotingCommand resp =
          req.CreateResponse(response_code::kSuccess, "FOUND");
      resp.set_body(std::string_view("head:"));
      auto span = std::span<const std::byte>(
          reinterpret_cast<const std::byte*>(mapped_->data()), mapped_->size());
      resp.AddBodySegment(span.subspan(0, 4), mapped_);
      resp.AddBodySegment(span.subspan(4), mapped_);
      r.Send(std::move(resp));
    });
    server_->RegisterProcessor(kBig, [](RemotingCommand req, Responder r) {
      static const auto big = std::make_shared<std::string>(1 << 20, 'x');
      RemotingCommand resp = req.CreateResponse(response_code::kSuccess);
      resp.AddBodySegment(
          std::span<const std::byte>(
              reinterpret_cast<const std::byte*>(big->data()), big->size()),
          big);
      r.Send(std::move(resp));
    });
    server_->RegisterProcessor(kAskClient, [](RemotingCommand req,
                                              Responder r) {
      // Server-originated request on the same connection (§2.9), answered by
      // the client's processor.
      auto conn = r.connection();
      ASSERT_NE(conn, nullptr);
      conn->InvokeAsync(
          RemotingCommand::CreateRequest(request_code::kGetConsumerRunningInfo),
          3000ms, [req, r](Result<RemotingCommand> client_resp) {
            RemotingCommand resp = req.CreateResponse(response_code::kSuccess);
            resp.SetExt("clientSaid", client_resp.ok()
                                          ? std::string(client_resp->remark())
                                          : "error");
            r.Send(std::move(resp));
          });
    });
    server_->SetCloseListener(
        [this](const std::shared_ptr<Connection>&) { closed_.fetch_add(1); });
    ASSERT_OK(server_->Start());
    ASSERT_NE(server_->port(), 0);
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<RemotingClient> StartClient(
      RemotingClientOptions options = {}) {
    auto client = std::make_unique<RemotingClient>(options);
    client->RegisterProcessor(
        request_code::kGetConsumerRunningInfo,
        [](RemotingCommand req, Responder r) {
          r.Send(req.CreateResponse(response_code::kSuccess, "running"));
        });
    TH_CHECK(client->Start().ok(), "client start");
    return client;
  }

  bool WaitForParked(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return parked_.size() >= n; });
  }

  template <typename Pred>
  static bool Eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  int busy_poll_us_ = 0;
  std::unique_ptr<RemotingServer> server_;
  std::string addr_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<RemotingCommand, Responder>> parked_;
  std::atomic<int> count_{0};
  std::atomic<int> closed_{0};
  std::shared_ptr<std::string> mapped_ =
      std::make_shared<std::string>("0123456789");
};

TEST_F(RemotingServerTest, ClientServerRoundTrip) {
  StartServer();
  auto client = StartClient();
  for (int i = 0; i < 3; ++i) {
    RemotingCommand req = RemotingCommand::CreateRequest(kEcho);
    req.SetExt("topic", "TopicTest");
    req.SetExt("queueId", int32_t{i});
    req.set_body(std::string_view("payload"));
    ASSERT_OK_AND_ASSIGN(RemotingCommand resp,
                         client->InvokeSync(addr_, std::move(req), 3000ms));
    EXPECT_TRUE(resp.IsResponse());
    EXPECT_EQ(resp.code(), response_code::kSuccess);
    EXPECT_EQ(resp.remark(), "echo");
    EXPECT_EQ(resp.ExtOr("topic", ""), "TopicTest");
    EXPECT_EQ(resp.ExtInt32Or("queueId", -1), i);
    EXPECT_EQ(resp.body_view(), "payload");
    EXPECT_EQ(resp.version(), kThrusterVersion);
  }
  EXPECT_EQ(server_->connection_count(),
            1u);  // one connection per address, reused
}

TEST_F(RemotingServerTest, UnknownCodeGetsRequestCodeNotSupported) {
  StartServer();
  auto client = StartClient();
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand resp,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(999), 3000ms));
  EXPECT_EQ(resp.code(), response_code::kRequestCodeNotSupported);
  EXPECT_EQ(resp.remark(), " request type 999 not supported");
}

TEST_F(RemotingServerTest, ParkedRequestDoesNotDelayLaterOnes) {
  StartServer();
  auto client = StartClient();
  std::promise<Result<RemotingCommand>> later;
  auto later_future = later.get_future();
  RemotingCommand parked = RemotingCommand::CreateRequest(kLater);
  client->InvokeAsync(addr_, parked, 5000ms, [&](Result<RemotingCommand> r) {
    later.set_value(std::move(r));
  });
  ASSERT_TRUE(WaitForParked(1));
  // Pipelined on the same connection, answered while the first one is still
  // parked.
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand echo,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho), 3000ms));
  EXPECT_EQ(echo.code(), response_code::kSuccess);
  EXPECT_EQ(later_future.wait_for(0ms), std::future_status::timeout);
  // Now answer the parked one from another thread, out of order.
  std::thread([this] {
    std::lock_guard<std::mutex> lock(mu_);
    auto& [req, responder] = parked_.front();
    responder.Send(req.CreateResponse(response_code::kPullNotFound,
                                      "OFFSET_OVERFLOW_ONE"));
  }).join();
  ASSERT_EQ(later_future.wait_for(5s), std::future_status::ready);
  Result<RemotingCommand> r = later_future.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code(), response_code::kPullNotFound);
  EXPECT_EQ(r->remark(), "OFFSET_OVERFLOW_ONE");
}

TEST_F(RemotingServerTest, ClientTimesOutWithoutResponse) {
  StartServer();
  auto client = StartClient();
  auto start = std::chrono::steady_clock::now();
  Result<RemotingCommand> r =
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kNever), 200ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTimeout);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 3s);
  // The connection is still usable afterwards.
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand echo,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho), 3000ms));
  EXPECT_EQ(echo.code(), response_code::kSuccess);
}

TEST_F(RemotingServerTest, ShortTimeoutIsNotDelayedByALongerOne) {
  StartServer();
  auto client = StartClient();
  std::promise<std::pair<Status, std::chrono::steady_clock::time_point>> slow,
      fast;
  auto start = std::chrono::steady_clock::now();
  client->InvokeAsync(
      addr_, RemotingCommand::CreateRequest(kNever), 2000ms,
      [&](Result<RemotingCommand> r) {
        slow.set_value({r.status(), std::chrono::steady_clock::now()});
      });
  client->InvokeAsync(
      addr_, RemotingCommand::CreateRequest(kNever), 200ms,
      [&](Result<RemotingCommand> r) {
        fast.set_value({r.status(), std::chrono::steady_clock::now()});
      });
  auto fast_future = fast.get_future();
  auto slow_future = slow.get_future();
  ASSERT_EQ(fast_future.wait_for(5s), std::future_status::ready);
  auto [fast_status, fast_at] = fast_future.get();
  EXPECT_EQ(fast_status.code(), Status::Code::kTimeout);
  EXPECT_GE(fast_at - start, 190ms);
  EXPECT_LT(fast_at - start, 1500ms);
  ASSERT_EQ(slow_future.wait_for(5s), std::future_status::ready);
  auto [slow_status, slow_at] = slow_future.get();
  EXPECT_EQ(slow_status.code(), Status::Code::kTimeout);
  EXPECT_GE(slow_at - start, 1990ms);
}

TEST_F(RemotingServerTest, AnsweredRequestsNeverTimeOutLater) {
  StartServer();
  auto client = StartClient();
  std::mutex mu;
  std::condition_variable cv;
  int ok = 0, timeouts = 0, other = 0;
  auto record = [&](Result<RemotingCommand> r) {
    std::lock_guard lock(mu);
    if (r.ok()) {
      ++ok;
    } else if (r.status().code() == Status::Code::kTimeout) {
      ++timeouts;
    } else {
      ++other;
    }
    cv.notify_all();
  };
  // Answered requests and one that is never answered share a timeout; only
  // that one times out, and every callback runs exactly once.
  for (int i = 0; i < 200; ++i) {
    client->InvokeAsync(addr_, RemotingCommand::CreateRequest(kEcho), 300ms,
                        record);
    if (i == 100)
      client->InvokeAsync(addr_, RemotingCommand::CreateRequest(kNever), 300ms,
                          record);
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, 5s, [&] { return ok + timeouts + other == 201; }));
  }
  std::this_thread::sleep_for(600ms);  // past every deadline
  std::lock_guard lock(mu);
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(other, 0);
}

TEST_F(RemotingServerTest, CallbackMayInvokeAgainOnTheSameConnection) {
  StartServer();
  auto client = StartClient();
  // A chain of requests each sent from the previous one's callback (a net
  // thread, the connection's strand), as the produce benchmark does.
  std::promise<int> done;
  std::atomic<int> left{50};
  std::function<void(Result<RemotingCommand>)> next =
      [&](Result<RemotingCommand> r) {
        if (!r.ok()) {
          done.set_value(-1);
          return;
        }
        if (left.fetch_sub(1) == 1) {
          done.set_value(0);
          return;
        }
        client->InvokeAsync(addr_, RemotingCommand::CreateRequest(kEcho),
                            3000ms, next);
      };
  client->InvokeAsync(addr_, RemotingCommand::CreateRequest(kEcho), 3000ms,
                      next);
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 0);
}

TEST_F(RemotingServerTest, RequestsFromManyThreadsAreAllAnswered) {
  StartServer();
  auto client = StartClient();
  // Threads other than the connection's own hand frames over in batches; none
  // may be lost, duplicated or matched to the wrong request.
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        RemotingCommand req = RemotingCommand::CreateRequest(kEcho);
        std::string tag = std::to_string(t) + "-" + std::to_string(i);
        req.SetExt("tag", tag);
        client->InvokeAsync(addr_, std::move(req), 5000ms,
                            [&, tag](Result<RemotingCommand> r) {
                              if (r.ok() && r->ExtOr("tag", "") == tag) {
                                ok.fetch_add(1);
                              } else {
                                bad.fetch_add(1);
                              }
                            });
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(Eventually([&] { return ok.load() + bad.load() == 1200; }));
  EXPECT_EQ(ok.load(), 1200);
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(RemotingServerTest, LargePipelinedFramesArriveIntact) {
  StartServer();
  auto client = StartClient();
  // Far more bytes than a socket buffer holds, queued at once in both
  // directions: writes end part-way through a frame and resume there.
  std::atomic<int> ok{0}, bad{0};
  for (int i = 0; i < 200; ++i) {
    std::string body(48 * 1024 + i, static_cast<char>('a' + i % 26));
    RemotingCommand req = RemotingCommand::CreateRequest(kEcho);
    req.set_body(std::string_view(body));
    client->InvokeAsync(addr_, std::move(req), 10000ms,
                        [&, body](Result<RemotingCommand> r) {
                          if (r.ok() && r->body_view() == body) {
                            ok.fetch_add(1);
                          } else {
                            bad.fetch_add(1);
                          }
                        });
  }
  EXPECT_TRUE(Eventually([&] { return ok.load() + bad.load() == 200; }, 10s));
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(RemotingServerTest, EachConnectionStaysOnOneLoopAndLoopsAreShared) {
  RemotingServerOptions options;
  options.io_threads = 2;
  RemotingServer server(options);
  server.RegisterProcessor(kEcho, [](RemotingCommand req, Responder r) {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    r.Send(req.CreateResponse(response_code::kSuccess, name));
  });
  ASSERT_OK(server.Start());
  std::string addr = "127.0.0.1:" + std::to_string(server.port());
  std::set<std::string> all;
  for (int c = 0; c < 2; ++c) {
    auto client = StartClient();
    std::set<std::string> seen;
    for (int i = 0; i < 5; ++i) {
      ASSERT_OK_AND_ASSIGN(
          RemotingCommand r,
          client->InvokeSync(addr, RemotingCommand::CreateRequest(kEcho),
                             3000ms));
      seen.insert(r.remark());
    }
    EXPECT_EQ(seen.size(), 1u);  // one connection, one loop
    all.insert(seen.begin(), seen.end());
  }
  // Two connections, assigned round robin to the two loops.
  EXPECT_EQ(all, (std::set<std::string>{"net-0", "net-1"}));
}

TEST_F(RemotingServerTest, ConnectFailureIsAnError) {
  StartServer();
  uint16_t port = server_->port();
  server_->Stop();
  auto client = StartClient();
  Result<RemotingCommand> r =
      client->InvokeSync("127.0.0.1:" + std::to_string(port),
                         RemotingCommand::CreateRequest(kEcho), 1000ms);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(
      client
          ->InvokeSync("no-port", RemotingCommand::CreateRequest(kEcho), 1000ms)
          .ok());
}

TEST_F(RemotingServerTest, OnewayRequestsGetNoResponse) {
  StartServer();
  RawSocket sock(server_->port());
  ASSERT_TRUE(sock.connected());
  RemotingCommand oneway = RemotingCommand::CreateRequest(kCount);
  oneway.set_opaque(1);
  oneway.MarkOneway();
  RemotingCommand unknown_oneway = RemotingCommand::CreateRequest(999);
  unknown_oneway.set_opaque(2);
  unknown_oneway.MarkOneway();
  RemotingCommand normal = RemotingCommand::CreateRequest(kCount);
  normal.set_opaque(3);
  ASSERT_TRUE(
      sock.SendAll(Frame(oneway) + Frame(unknown_oneway) + Frame(normal)));
  auto frame = sock.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  RemotingCommand resp = Decode(*frame);
  EXPECT_EQ(resp.opaque(), 3);  // the first answer is for the normal request
  EXPECT_EQ(count_.load(), 2);

  auto client = StartClient();
  RemotingCommand via_client = RemotingCommand::CreateRequest(kCount);
  ASSERT_OK(client->InvokeOneway(addr_, via_client));
  EXPECT_TRUE(Eventually([&] { return count_.load() == 3; }));
}

TEST_F(RemotingServerTest, BinaryRequestGetsBinaryResponse) {
  StartServer();
  RawSocket sock(server_->port());
  RemotingCommand req = RemotingCommand::CreateRequest(kEcho);
  req.set_opaque(77);
  req.set_serialize_type(SerializeType::kRocketMq);
  req.SetExt("k", "v");
  ASSERT_TRUE(sock.SendAll(Frame(req)));
  auto frame = sock.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(static_cast<uint8_t>((*frame)[4]), 1);  // serialize type byte
  RemotingCommand resp = Decode(*frame);
  EXPECT_EQ(resp.serialize_type(), SerializeType::kRocketMq);
  EXPECT_EQ(resp.opaque(), 77);
  EXPECT_EQ(resp.ExtOr("k", ""), "v");
}

TEST_F(RemotingServerTest, ZeroCopySegmentsArriveAfterTheBody) {
  StartServer();
  auto client = StartClient();
  std::weak_ptr<std::string> watch = mapped_;
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand resp,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kZeroCopy),
                         3000ms));
  EXPECT_EQ(resp.remark(), "FOUND");
  EXPECT_EQ(resp.body_view(), "head:0123456789");
  // Once written, the server lets go of the keep-alive.
  mapped_.reset();
  EXPECT_TRUE(Eventually([&] { return watch.expired(); }));
}

TEST_F(RemotingServerTest, ServerCanInvokeTheClientOnTheSameConnection) {
  StartServer();
  auto client = StartClient();
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand resp,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kAskClient),
                         5000ms));
  EXPECT_EQ(resp.code(), response_code::kSuccess);
  EXPECT_EQ(resp.ExtOr("clientSaid", ""), "running");
}

TEST_F(RemotingServerTest, OversizedFrameClosesOnlyThatConnection) {
  ConnectionOptions conn;
  conn.max_frame_length = 1024;
  StartServer(conn);
  auto client = StartClient();
  ASSERT_OK_AND_ASSIGN(
      RemotingCommand before,
      client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho), 3000ms));
  RawSocket bad(server_->port());
  std::string huge(4, '\0');
  StoreI32(huge.data(), 1025);
  ASSERT_TRUE(bad.SendAll(huge + std::string(64, 'x')));
  EXPECT_TRUE(bad.WaitForClose());
  // The well-behaved client keeps being served on its existing connection.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(
        RemotingCommand after,
        client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho),
                           3000ms));
    EXPECT_EQ(after.code(), response_code::kSuccess);
  }
  // A frame of exactly the limit is fine.
  RemotingCommand fits = RemotingCommand::CreateRequest(kEcho);
  fits.set_body(std::string(1024 - 4 - 200, 'y'));
  std::string fits_frame = Frame(fits);
  ASSERT_LE(fits_frame.size() - 4, 1024u);
  ASSERT_OK_AND_ASSIGN(RemotingCommand ok,
                       client->InvokeSync(addr_, fits, 3000ms));
  EXPECT_EQ(ok.code(), response_code::kSuccess);
}

TEST_F(RemotingServerTest, UndecodableFramesCloseTheConnection) {
  StartServer();
  std::string header = R"({"code":1000,"opaque":1,"flag":0})";
  auto with_word = [&](uint32_t word, const std::string& h) {
    std::string f(8, '\0');
    StoreI32(f.data(), static_cast<int32_t>(4 + h.size()));
    StoreI32(f.data() + 4, static_cast<int32_t>(word));
    return f + h;
  };
  {
    RawSocket sock(server_->port());
    ASSERT_TRUE(sock.SendAll(
        with_word((5u << 24) | static_cast<uint32_t>(header.size()), header)));
    EXPECT_TRUE(sock.WaitForClose());  // unknown serialize type
  }
  {
    RawSocket sock(server_->port());
    ASSERT_TRUE(sock.SendAll(
        with_word(static_cast<uint32_t>(header.size() + 10), header)));
    EXPECT_TRUE(sock.WaitForClose());  // header length beyond frame
  }
  {
    RawSocket sock(server_->port());
    ASSERT_TRUE(sock.SendAll(with_word(static_cast<uint32_t>(header.size()),
                                       "{not json at all!!!!!!!!!!!!!!}xx")));
    EXPECT_TRUE(sock.WaitForClose());  // unparsable header
  }
  EXPECT_TRUE(Eventually([&] { return closed_.load() == 3; }));
}

TEST_F(RemotingServerTest, FrameSplitAcrossWritesIsReassembled) {
  StartServer();
  RawSocket sock(server_->port());
  RemotingCommand req = RemotingCommand::CreateRequest(kEcho);
  req.set_opaque(9);
  req.set_body(
      std::string(200000, 'z'));  // larger than the initial read buffer
  std::string frame = Frame(req);
  for (size_t off = 0; off < frame.size(); off += 7000) {
    ASSERT_TRUE(sock.SendAll(frame.substr(off, 7000)));
    if (off < 21000) std::this_thread::sleep_for(5ms);
  }
  auto resp = sock.ReadFrame();
  ASSERT_TRUE(resp.has_value());
  RemotingCommand r = Decode(*resp);
  EXPECT_EQ(r.opaque(), 9);
  EXPECT_EQ(r.body().size(), 200000u);
}

TEST_F(RemotingServerTest, IdleConnectionIsClosed) {
  ConnectionOptions conn;
  conn.idle_timeout = 300ms;
  StartServer(conn);
  RawSocket sock(server_->port());
  ASSERT_TRUE(sock.connected());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(sock.WaitForClose());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_TRUE(Eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(RemotingServerTest, ClientThatStopsReadingDoesNotStallOthers) {
  ConnectionOptions conn;
  conn.max_pending_write_bytes = 32u << 20;
  StartServer(conn);
  RawSocket slow(server_->port(), /*recv_timeout_ms=*/200);
  slow.SetSmallReceiveBuffer();
  // Ask for 64 MiB of responses and never read them.
  std::string burst;
  for (int i = 0; i < 64; ++i) {
    RemotingCommand req = RemotingCommand::CreateRequest(kBig);
    req.set_opaque(i);
    burst += Frame(req);
  }
  ASSERT_TRUE(slow.SendAll(burst));
  auto client = StartClient();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(
        RemotingCommand r,
        client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho),
                           3000ms));
    EXPECT_EQ(r.code(), response_code::kSuccess);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // The queue for the non-reading peer went over its limit, so the server
  // dropped it.
  EXPECT_TRUE(Eventually([&] { return closed_.load() >= 1; }));
}

// A client that asks for more than the queue bound at once but reads: with
// pause_reads_above_bytes the server stops taking its requests while 8 MiB is
// queued for it, and serves all of them as it reads, where the same burst
// without the pause is cut off at 32 MiB (the test above).
TEST_F(RemotingServerTest, ClientThatAsksForMoreThanTheBoundIsServedAsItReads) {
  ConnectionOptions conn;
  conn.max_pending_write_bytes = 32u << 20;
  conn.pause_reads_above_bytes = 8u << 20;
  StartServer(conn);
  // The socket's default buffers: the burst is read by the server at once,
  // and its 64 MiB of answers are far more than the socket takes.
  RawSocket reader(server_->port(), /*recv_timeout_ms=*/5000);
  constexpr int kRequests = 64;  // 64 MiB of answers
  std::string burst;
  for (int i = 0; i < kRequests; ++i) {
    RemotingCommand req = RemotingCommand::CreateRequest(kBig);
    req.set_opaque(i);
    burst += Frame(req);
  }
  ASSERT_TRUE(reader.SendAll(burst));
  for (int i = 0; i < kRequests; ++i) {
    auto frame = reader.ReadFrame();
    ASSERT_TRUE(frame.has_value()) << "answer " << i << " never came";
    RemotingCommand r = Decode(*frame);
    EXPECT_EQ(r.opaque(), i);
    EXPECT_EQ(r.code(), response_code::kSuccess);
    EXPECT_EQ(r.body().size(), size_t{1} << 20);
  }
  EXPECT_EQ(closed_.load(), 0);
  // Still open and taking requests.
  RemotingCommand echo = RemotingCommand::CreateRequest(kEcho);
  echo.set_opaque(1000);
  ASSERT_TRUE(reader.SendAll(Frame(echo)));
  auto frame = reader.ReadFrame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(Decode(*frame).opaque(), 1000);
}

TEST_F(RemotingServerTest, StopFailsPendingRequestsAndIsIdempotent) {
  StartServer();
  auto client = StartClient();
  std::promise<Result<RemotingCommand>> pending;
  auto fut = pending.get_future();
  client->InvokeAsync(
      addr_, RemotingCommand::CreateRequest(kNever), 10000ms,
      [&](Result<RemotingCommand> r) { pending.set_value(std::move(r)); });
  ASSERT_TRUE(Eventually([&] { return server_->connection_count() == 1; }));
  server_->Stop();
  server_->Stop();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  Result<RemotingCommand> r = fut.get();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
}

// Polling io threads still answer requests, pick up answers sent from other
// threads both while polling and after they have gone to sleep, and stop.
TEST_F(RemotingServerTest, BusyPollingLoopsAnswerAndStop) {
  busy_poll_us_ = 2000;
  StartServer();
  auto client = StartClient();
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(
        RemotingCommand echo,
        client->InvokeSync(addr_, RemotingCommand::CreateRequest(kEcho),
                           3000ms));
    EXPECT_EQ(echo.code(), response_code::kSuccess);
  }
  for (auto pause : {0ms, 50ms}) {  // within the polling window, then after
    std::promise<Result<RemotingCommand>> later;
    auto fut = later.get_future();
    client->InvokeAsync(addr_, RemotingCommand::CreateRequest(kLater), 5000ms,
                        [&](Result<RemotingCommand> r) {
                          later.set_value(std::move(r));
                        });
    ASSERT_TRUE(WaitForParked(1));
    std::this_thread::sleep_for(pause);
    std::thread([this] {
      std::lock_guard<std::mutex> lock(mu_);
      auto& [req, responder] = parked_.front();
      responder.Send(req.CreateResponse(response_code::kSuccess, "late"));
      parked_.clear();
    }).join();
    ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
    Result<RemotingCommand> r = fut.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->remark(), "late");
  }
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace thruster::remoting
