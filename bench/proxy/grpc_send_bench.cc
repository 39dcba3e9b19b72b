// Send and receive throughput over gRPC (apache.rocketmq.v2), shaped as `thruster bench produce` / `consume`.
// Send (the default): P producers (one channel each) keep N sends in flight, 1 KiB bodies by default, one message
// per SendMessage; reports msgs/s of the measured run. The async callback stub is used, so no thread waits per send.
//   thruster_grpc_send_bench --target 127.0.0.1:8081 --topic BenchGrpc --producers 4 --inflight 100
//                            --messages 400000 --size 1024
// Receive (`--mode receive`): a SimpleConsumer's loop on the topic's backlog: C consumers (one channel each) with D
// ReceiveMessage calls in flight each (batch 32, as the 5.x clients ask), every batch acknowledged by one
// AckMessage; reports msgs/s until `--messages` were received and acknowledged.
//   thruster_grpc_send_bench --mode receive --target 127.0.0.1:8081 --topic BenchGrpc --group BenchGrpcGroup
//                            --consumers 4 --depth 4 --messages 400000
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apache/rocketmq/v2/service.grpc.pb.h"

namespace {

namespace v2 = apache::rocketmq::v2;

struct BenchArgs {
  std::string target = "127.0.0.1:8081";
  std::string topic = "BenchGrpc";
  int producers = 4;
  int inflight = 100;
  long messages = 400000;
  long warmup = 20000;
  size_t size = 1024;
  std::string mode = "send";
  std::string group = "BenchGrpcGroup";
  int consumers = 4;
  int depth = 4;
  int batch = 32;
};

// A channel with its own connection: channels to one target with the same arguments otherwise share gRPC's global
// subchannel pool, so every producer would be multiplexed over one TCP connection (the remoting bench gives each
// producer its own).
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& target) {
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), channel_args);
}

// One producer: a channel, `inflight` sends always outstanding until `quota` sends were issued.
class BenchProducer {
 public:
  BenchProducer(const BenchArgs& args, int index, std::atomic<long>* quota, std::atomic<long>* failed)
      : args_(args), index_(index), quota_(quota), failed_(failed),
        stub_(v2::MessagingService::NewStub(OwnChannel(args.target))),
        body_(args.size, 'x') {}

  void Start() {
    for (int i = 0; i < args_.inflight; ++i) Issue();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    v2::SendMessageRequest req;
    v2::SendMessageResponse resp;
  };

  void Issue() {
    if (quota_->fetch_sub(1) <= 0) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++outstanding_;
    }
    auto* call = new Call();
    call->ctx.AddMetadata("x-mq-client-id", "bench-" + std::to_string(index_));
    call->ctx.AddMetadata("x-mq-protocol", "v2");
    v2::Message* m = call->req.add_messages();
    m->mutable_topic()->set_name(args_.topic);
    m->set_body(body_);
    char id[40];
    std::snprintf(id, sizeof(id), "BENCH%02d%016lX", index_, seq_.fetch_add(1));
    m->mutable_system_properties()->set_message_id(id);
    m->mutable_system_properties()->set_message_type(v2::NORMAL);
    stub_->async()->SendMessage(&call->ctx, &call->req, &call->resp, [this, call](grpc::Status s) {
      if (!s.ok() || call->resp.status().code() != v2::OK) {
        if (failed_->fetch_add(1) == 0)
          std::fprintf(stderr, "send failed: %s %s\n", s.error_message().c_str(),
                       call->resp.status().message().c_str());
      }
      delete call;
      Issue();
      std::lock_guard<std::mutex> lock(mu_);
      if (--outstanding_ == 0) cv_.notify_all();
    });
  }

  const BenchArgs& args_;
  const int index_;
  std::atomic<long>* quota_;
  std::atomic<long>* failed_;
  std::unique_ptr<v2::MessagingService::Stub> stub_;
  const std::string body_;
  std::atomic<unsigned long> seq_{0};  // completions of one producer run on several threads
  std::mutex mu_;
  std::condition_variable cv_;
  int outstanding_ = 0;
};

double RunOnce(const BenchArgs& args, long messages, long* failed_out) {
  std::atomic<long> quota{messages};
  std::atomic<long> failed{0};
  std::vector<std::unique_ptr<BenchProducer>> producers;
  for (int i = 0; i < args.producers; ++i)
    producers.push_back(std::make_unique<BenchProducer>(args, i, &quota, &failed));
  const auto start = std::chrono::steady_clock::now();
  for (auto& p : producers) p->Start();
  for (auto& p : producers) p->Wait();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *failed_out = failed.load();
  return static_cast<double>(messages) / secs;
}

// The receive loop: consumers x depth threads, each with a ReceiveMessage call at a time on its consumer's channel
// (long-polled, 5 s) and one AckMessage per batch, until `messages` were acknowledged in all.
class ReceiveRun {
 public:
  ReceiveRun(const BenchArgs& args, long messages) : args_(args), messages_(messages) {}

  // msgs/s from the first receive to the `messages`-th acknowledged message; *failed counts refused acks.
  double Run(long* failed) {
    std::vector<std::unique_ptr<v2::MessagingService::Stub>> stubs;
    for (int c = 0; c < args_.consumers; ++c)
      stubs.push_back(v2::MessagingService::NewStub(OwnChannel(args_.target)));
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < args_.consumers; ++c)
      for (int d = 0; d < args_.depth; ++d)
        threads.emplace_back([this, c, stub = stubs[static_cast<size_t>(c)].get()] { Loop(c, stub); });
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return acked_ >= messages_ || failed_ > 0; });
      done_ = true;
      end_ = std::chrono::steady_clock::now();
      for (grpc::ClientContext* ctx : open_) ctx->TryCancel();  // the long polls of an empty topic
    }
    for (std::thread& t : threads) t.join();
    *failed = failed_;
    return static_cast<double>(acked_) / std::chrono::duration<double>(end_ - start).count();
  }

 private:
  void Loop(int consumer, v2::MessagingService::Stub* stub) {
    const std::string client_id = "bench-consumer-" + std::to_string(consumer);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("x-mq-client-id", client_id);
      ctx.AddMetadata("x-mq-protocol", "v2");
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_) return;
        open_.push_back(&ctx);
      }
      v2::ReceiveMessageRequest req;
      req.mutable_group()->set_name(args_.group);
      req.mutable_message_queue()->mutable_topic()->set_name(args_.topic);
      req.mutable_filter_expression()->set_type(v2::TAG);
      req.mutable_filter_expression()->set_expression("*");
      req.set_batch_size(args_.batch);
      req.mutable_invisible_duration()->set_seconds(30);
      req.mutable_long_polling_timeout()->set_seconds(5);
      v2::AckMessageRequest ack;
      ack.mutable_group()->set_name(args_.group);
      ack.mutable_topic()->set_name(args_.topic);
      std::unique_ptr<grpc::ClientReader<v2::ReceiveMessageResponse>> reader = stub->ReceiveMessage(&ctx, req);
      v2::ReceiveMessageResponse resp;
      while (reader->Read(&resp)) {
        if (resp.has_message()) {
          v2::AckMessageEntry* e = ack.add_entries();
          e->set_message_id(resp.message().system_properties().message_id());
          e->set_receipt_handle(resp.message().system_properties().receipt_handle());
        }
      }
      reader->Finish().IgnoreError();  // an empty poll or a cancelled one ends the same way
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_.erase(std::find(open_.begin(), open_.end(), &ctx));
      }
      if (ack.entries_size() == 0) continue;
      grpc::ClientContext actx;
      actx.AddMetadata("x-mq-client-id", client_id);
      actx.AddMetadata("x-mq-protocol", "v2");
      v2::AckMessageResponse aresp;
      grpc::Status s = stub->AckMessage(&actx, ack, &aresp);
      long ok = 0;
      if (s.ok())
        for (const v2::AckMessageResultEntry& r : aresp.entries()) ok += r.status().code() == v2::OK;
      std::lock_guard<std::mutex> lock(mu_);
      if (ok != ack.entries_size()) {
        if (failed_++ == 0)
          std::fprintf(stderr, "ack failed: %s %s\n", s.error_message().c_str(), aresp.status().message().c_str());
      }
      acked_ += ok;
      if (acked_ >= messages_) cv_.notify_all();
    }
  }

  const BenchArgs& args_;
  const long messages_;
  std::mutex mu_;
  std::condition_variable cv_;
  long acked_ = 0;
  long failed_ = 0;
  bool done_ = false;
  std::vector<grpc::ClientContext*> open_;
  std::chrono::steady_clock::time_point end_;
};

}  // namespace

int main(int argc, char** argv) {
  BenchArgs args;
  bool no_absl_fix = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--target") args.target = v;
    else if (k == "--topic") args.topic = v;
    else if (k == "--producers") args.producers = std::atoi(v);
    else if (k == "--inflight") args.inflight = std::atoi(v);
    else if (k == "--messages") args.messages = std::atol(v);
    else if (k == "--warmup") args.warmup = std::atol(v);
    else if (k == "--size") args.size = static_cast<size_t>(std::atol(v));
    else if (k == "--mode") args.mode = v;
    else if (k == "--group") args.group = v;
    else if (k == "--consumers") args.consumers = std::atoi(v);
    else if (k == "--depth") args.depth = std::atoi(v);
    else if (k == "--batch") args.batch = std::atoi(v);
    else if (k == "--absl-deadlock-detection") no_absl_fix = std::string(v) == "on";
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  // Debian's abseil is built without NDEBUG, so absl::Mutex (gRPC's lock) runs its deadlock detector on every lock:
  // off, as the broker turns it off (GrpcServer::Start). `--absl-deadlock-detection on` keeps it, for comparison.
  if (!no_absl_fix) absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // The route query creates the topic (autoCreateTopicEnable), as a client's first call does.
  {
    auto stub = v2::MessagingService::NewStub(grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v2::QueryRouteRequest req;
    v2::QueryRouteResponse resp;
    req.mutable_topic()->set_name(args.topic);
    grpc::Status s = stub->QueryRoute(&ctx, req, &resp);
    if (!s.ok() || resp.status().code() != v2::OK) {
      std::fprintf(stderr, "QueryRoute %s failed: %s %s\n", args.topic.c_str(), s.error_message().c_str(),
                   resp.status().message().c_str());
      return 1;
    }
  }
  long failed = 0;
  if (args.mode == "receive") {
    ReceiveRun run(args, args.messages);
    const double rate = run.Run(&failed);
    std::printf("grpc receive: %d consumers x %d receives in flight, batch %d, %ld messages: %.0f msgs/s (%ld failed)\n",
                args.consumers, args.depth, args.batch, args.messages, rate, failed);
    return failed == 0 ? 0 : 1;
  }
  if (args.mode != "send") {
    std::fprintf(stderr, "--mode is send or receive, not %s\n", args.mode.c_str());
    return 2;
  }
  if (args.warmup > 0) RunOnce(args, args.warmup, &failed);
  const double rate = RunOnce(args, args.messages, &failed);
  std::printf("grpc send: %d producers x %d in flight, %zu B, %ld messages: %.0f msgs/s (%ld failed)\n",
              args.producers, args.inflight, args.size, args.messages, rate, failed);
  return failed == 0 ? 0 : 1;
}
