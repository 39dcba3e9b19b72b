// `thruster bench produce` and `thruster bench consume`: load a running broker
// through the client library (src/client/) and report msgs/s, MB/s (10^6
// bytes), latency percentiles (send round trip for produce, pull round trip
// for consume) and errors. Both warm up first and can repeat the measured run
// (--runs) and report the median of each figure, with the CPU the client and
// (given --broker-pid) the broker spent per message, and say when the client
// itself was the limit.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/histogram.h"
#include "common/mutex.h"
#include "thruster/bench_probe.h"
#include "thruster/commands.h"
#include "thruster/progress.h"

namespace thruster::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

struct ProduceArgs {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchTopic";
  int64_t size = 1024;
  int producers = 4;
  int inflight = 100;
  int64_t messages = 1000000;
  // -1: as many bytes as one measured run, at most one default CommitLog
  // segment (1 GiB), so a short run never starts with a long surprise.
  int64_t warmup_bytes = -1;
  int runs = 3;  // measured runs after the warm-up; the median is reported
  // Connections to the broker, each its own client with `io_threads` threads;
  // producer i sends over connection i % connections. 0: min(producers, the
  // CPUs this process may use).
  int connections = 0;
  int io_threads = 1;  // per connection
  // Messages spread over `topics` topics (TOPIC-0 .. TOPIC-(N-1) when N > 1)
  // of `queues` queues each; with queues > 0 (or N > 1) they are created (or
  // updated) on every broker of `cluster` first.
  int topics = 1;
  int queues = 0;
  std::string cluster = "DefaultCluster";
  // The broker's pid on this machine: its CPU per message and RSS reported.
  int broker_pid = 0;
  // Producer connections opened and left idle (one heartbeat each) during the
  // measured runs.
  int idle_connections = 0;
  bool json = false;
  std::string access_key;  // ACL signing keys
  std::string secret_key;
  remoting::TlsClientOptions tls;  // --tls ...
  // This fraction of the messages is sent with DELAY=delay_level (parked in
  // SCHEDULE_TOPIC_XXXX and delivered by the broker's schedule service).
  double delay_ratio = 0;
  int delay_level = 1;
  // This fraction of the messages is sent as 5.x timer messages with
  // TIMER_DELAY_SEC=timer_delay_sec (held in the broker's timer wheel).
  double timer_ratio = 0;
  int64_t timer_delay_sec = 10;
};

struct ConsumeArgs {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchTopic";
  std::string group = "BenchConsumer";
  int64_t messages = 0;  // 0: everything stored when the run starts
  int32_t batch = 32;
  int32_t depth = 4;
  int64_t warmup_messages = 200000;  // at most the backlog
  // Wall-clock time (ms since the epoch) the measured runs start at, after
  // the warm-up: several consumer processes then read side by side (0: now).
  int64_t start_at_ms = 0;
  int runs = 3;
  int io_threads = 1;
  int topics = 1;  // TOPIC-0 .. TOPIC-(N-1) when N > 1, as produce names them
  int broker_pid = 0;
  bool commit = true;
  bool json = false;
  std::string access_key;  // ACL signing keys
  std::string secret_key;
  remoting::TlsClientOptions tls;  // --tls ...
};

struct RunResult {
  int64_t messages = 0;
  int64_t errors = 0;
  double seconds = 0;
  double msgs_per_sec = 0;
  double mb_per_sec = 0;
  int64_t p50_us = 0;
  int64_t p99_us = 0;
  int64_t p999_us = 0;
  int64_t max_us = 0;
  // CPU (user + system) per message over the measured window: this process,
  // and the broker (-1 without --broker-pid).
  double client_us_per_msg = 0;
  double broker_us_per_msg = -1;
  // The client's CPU time over the window / (wall time × CPUs available).
  double client_cpu_share = 0;
  std::string first_error;

  bool client_bound() const { return client_cpu_share > 0.9; }

  void SetCpu(const CpuWindow& w) {
    client_us_per_msg = w.client_us_per_msg();
    broker_us_per_msg = w.broker_us_per_msg();
    client_cpu_share = w.client_cpu_share();
  }

  json ToJson() const {
    return {{"messages", messages},
            {"seconds", seconds},
            {"msgs_per_sec", msgs_per_sec},
            {"mb_per_sec", mb_per_sec},
            {"p50_us", p50_us},
            {"p99_us", p99_us},
            {"p999_us", p999_us},
            {"max_us", max_us},
            {"errors", errors},
            {"client_cpu_us_per_msg", client_us_per_msg},
            {"broker_cpu_us_per_msg", broker_us_per_msg},
            {"client_cpu_share", client_cpu_share},
            {"client_bound", client_bound()}};
  }
};

// The median of each figure over the runs (the runs' own rows stay in JSON).
RunResult Median(std::vector<RunResult> runs) {
  RunResult m;
  auto med = [&](auto field) {
    std::vector<std::remove_cvref_t<decltype(runs[0].*field)>> v;
    for (const auto& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  m.messages = med(&RunResult::messages);
  m.errors = med(&RunResult::errors);
  m.seconds = med(&RunResult::seconds);
  m.msgs_per_sec = med(&RunResult::msgs_per_sec);
  m.mb_per_sec = med(&RunResult::mb_per_sec);
  m.p50_us = med(&RunResult::p50_us);
  m.p99_us = med(&RunResult::p99_us);
  m.p999_us = med(&RunResult::p999_us);
  m.max_us = med(&RunResult::max_us);
  m.client_us_per_msg = med(&RunResult::client_us_per_msg);
  m.broker_us_per_msg = med(&RunResult::broker_us_per_msg);
  m.client_cpu_share = med(&RunResult::client_cpu_share);
  return m;
}

void PrintResult(std::string_view what, const RunResult& r) {
  fmt::print(
      "{}: {} messages in {:.2f} s: {:.0f} msgs/s, {:.1f} MB/s, latency p50 {} "
      "us, p99 {} us, "
      "p99.9 {} us, max {} us, errors {}\n",
      what, r.messages, r.seconds, r.msgs_per_sec, r.mb_per_sec, r.p50_us,
      r.p99_us, r.p999_us, r.max_us, r.errors);
  std::string cpu = fmt::format(
      "  CPU per message: client {:.2f} us ({:.0f}% of {} CPUs)",
      r.client_us_per_msg, r.client_cpu_share * 100, AvailableCpus());
  if (r.broker_us_per_msg >= 0)
    cpu += fmt::format(", broker {:.2f} us", r.broker_us_per_msg);
  if (r.client_bound())
    cpu += " -- client-bound: the client, not the broker, was the limit";
  fmt::print("{}\n", cpu);
}

int Report(bool as_json, const std::vector<RunResult>& runs, json extra) {
  RunResult m = Median(runs);
  int64_t total_errors = 0;
  std::string first_error;
  for (const auto& r : runs) {
    total_errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  if (as_json) {
    json j = m.ToJson();
    j["runs"] = json::array();
    for (const auto& r : runs) j["runs"].push_back(r.ToJson());
    for (auto& [k, v] : extra.items()) j[k] = v;
    if (!first_error.empty()) j["first_error"] = first_error;
    fmt::print("{}\n", j.dump(-1, ' ', false, json::error_handler_t::replace));
  } else {
    if (runs.size() > 1)
      PrintResult(fmt::format("median of {} runs", runs.size()), m);
    if (!first_error.empty()) fmt::print("first error: {}\n", first_error);
  }
  return total_errors > 0 ? 1 : 0;
}

// ------------------------------------------------------------------ produce

struct ProducerSlot {
  std::unique_ptr<client::Producer> producer;
  Mutex mu;  // the histogram and first error: written by net threads
  LatencyHistogram hist TH_GUARDED_BY(mu);
  std::string first_error TH_GUARDED_BY(mu);
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> errors{0};
};

// One producer's share of a run: `inflight` chains of sends, each answer
// starting the chain's next send from the callback (a net thread), so no
// thread switch sits between an answer and the next send.
struct Chains {
  ProducerSlot* slot = nullptr;
  // One message per topic; send i goes to topic i % topics.
  const std::vector<client::Message>* msgs = nullptr;
  // Sent instead of `msgs` for the share `delay_ratio` of the sends, spread
  // evenly (send i is delayed when floor((i+1)·r) > floor(i·r)).
  const std::vector<client::Message>* delayed = nullptr;
  double delay_ratio = 0;
  // The same for timer messages (a send picked for both is delayed).
  const std::vector<client::Message>* timed = nullptr;
  double timer_ratio = 0;
  int64_t total = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t>* done = nullptr;

  void Issue() {
    const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
    if (i >= total) return;
    const bool delay = delayed != nullptr &&
                       std::floor(static_cast<double>(i + 1) * delay_ratio) >
                           std::floor(static_cast<double>(i) * delay_ratio);
    const bool timer = timed != nullptr &&
                       std::floor(static_cast<double>(i + 1) * timer_ratio) >
                           std::floor(static_cast<double>(i) * timer_ratio);
    const size_t t = static_cast<size_t>(i) % msgs->size();
    const client::Message& m = delay   ? (*delayed)[t]
                               : timer ? (*timed)[t]
                                       : (*msgs)[t];
    int64_t t0 = NowNs();
    Status s = slot->producer->TrySendAsync(
        m, [this, t0](Result<client::SendResult> r) {
          int64_t t1 = NowNs();
          {
            MutexLock lock(&slot->mu);
            if (r.ok()) {
              slot->hist.Record((t1 - t0) / 1000);
              slot->ok.fetch_add(1, std::memory_order_relaxed);
            } else {
              slot->errors.fetch_add(1, std::memory_order_relaxed);
              if (slot->first_error.empty())
                slot->first_error = r.status().ToString();
            }
          }
          done->fetch_add(1, std::memory_order_relaxed);
          // Continue only over a connection that just answered: a send from
          // this net thread must not have to reconnect (the connect would
          // wait for this very thread). After a failure the chain ends.
          if (r.ok()) Issue();
        });
    if (!s.ok()) {
      MutexLock lock(&slot->mu);
      slot->errors.fetch_add(1, std::memory_order_relaxed);
      if (slot->first_error.empty()) slot->first_error = s.ToString();
      done->fetch_add(1, std::memory_order_relaxed);
    }
  }
};

// Sends `messages` split over the producers, each with `inflight` sends in
// flight; returns when every answer is in.
RunResult ProduceOnce(std::vector<std::unique_ptr<ProducerSlot>>& slots,
                      const ProduceArgs& a,
                      const std::vector<client::Message>& protos,
                      int64_t messages, const std::string& label) {
  for (auto& s : slots) {
    MutexLock lock(&s->mu);
    s->hist = LatencyHistogram();
    s->ok = 0;
    s->errors = 0;
    s->first_error.clear();
  }
  std::atomic<int64_t> done{0};
  ProgressLine progress(label, "messages", messages, &done, !a.json);
  CpuWindow cpu(a.broker_pid);
  auto start = Clock::now();
  std::vector<std::unique_ptr<Chains>> chains;
  std::vector<client::Message> delayed = protos;
  for (auto& m : delayed) m.properties["DELAY"] = std::to_string(a.delay_level);
  std::vector<client::Message> timed = protos;
  for (auto& m : timed) m.SetDelayTimeSec(a.timer_delay_sec);
  int64_t per = messages / static_cast<int64_t>(slots.size());
  int64_t rest = messages % static_cast<int64_t>(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    auto c = std::make_unique<Chains>();
    c->slot = slots[i].get();
    c->msgs = &protos;
    if (a.delay_ratio > 0) {
      c->delayed = &delayed;
      c->delay_ratio = a.delay_ratio;
    }
    if (a.timer_ratio > 0) {
      c->timed = &timed;
      c->timer_ratio = a.timer_ratio;
    }
    c->total = per + (static_cast<int64_t>(i) < rest ? 1 : 0);
    c->done = &done;
    chains.push_back(std::move(c));
  }
  for (int w = 0; w < a.inflight; ++w)
    for (auto& c : chains) c->Issue();
  // Each producer's sends stay in flight until its chains run dry.
  for (auto& s : slots) s->producer->Flush();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  RunResult r;
  int64_t answered = done.load();
  LatencyHistogram all;
  for (auto& s : slots) {
    MutexLock lock(&s->mu);
    all.Merge(s->hist);
    r.messages += s->ok.load();
    r.errors += s->errors.load();
    if (r.first_error.empty()) r.first_error = s->first_error;
  }
  r.seconds = secs;
  r.msgs_per_sec = secs > 0 ? static_cast<double>(r.messages) / secs : 0;
  r.mb_per_sec = r.msgs_per_sec * static_cast<double>(a.size) / 1e6;
  r.p50_us = all.Percentile(0.50);
  r.p99_us = all.Percentile(0.99);
  r.p999_us = all.Percentile(0.999);
  r.max_us = all.max();
  cpu.Finish(answered, secs);
  r.SetCpu(cpu);
  return r;
}

// The broker's RSS in KiB, -1 when it cannot be read.
int64_t BrokerRssKb(int pid) {
  auto r = ProcessRssKb(pid);
  return r.ok() ? *r : -1;
}

// The topic names a run with `topics` topics uses.
std::vector<std::string> BenchTopics(const std::string& topic, int topics) {
  if (topics <= 1) return {topic};
  std::vector<std::string> out;
  for (int i = 0; i < topics; ++i)
    out.push_back(fmt::format("{}-{}", topic, i));
  return out;
}

// Creates (or updates) every topic with `queues` read and write queues on
// every master of `cluster`, then waits (up to 10 s) until the name server
// routes each of them with that many queues.
Status CreateBenchTopics(client::ClientInstance& instance,
                         const std::vector<std::string>& topics, int queues,
                         const std::string& cluster) {
  client::AdminClient admin(&instance);
  for (const auto& t : topics) {
    remoting::TopicConfig tc;
    tc.topic_name = t;
    tc.read_queue_nums = queues;
    tc.write_queue_nums = queues;
    auto r = admin.CreateTopic(tc, "", cluster);
    if (!r.ok()) return r.status();
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (const auto& t : topics) {
    while (true) {
      auto route = instance.FetchTopicRoute(t);
      int32_t n = 0;
      if (route.ok())
        for (const auto& qd : route->queue_datas) n += qd.write_queue_nums;
      if (n >= queues) break;
      if (Clock::now() > deadline)
        return Status::Timeout(
            fmt::format("the name server routes {} queues of topic {}, not {}",
                        n, t, queues));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Status::OK();
}

int RunProduce(const ProduceArgs& a) {
  if (a.delay_ratio < 0 || a.delay_ratio > 1 || a.delay_level <= 0) {
    fmt::print(stderr,
               "thruster bench produce: --delay-ratio must be in [0, 1] and "
               "--delay-level > 0\n");
    return 2;
  }
  if (a.timer_ratio < 0 || a.timer_ratio > 1 || a.timer_delay_sec <= 0) {
    fmt::print(stderr,
               "thruster bench produce: --timer-ratio must be in [0, 1] and "
               "--timer-delay-sec > 0\n");
    return 2;
  }
  if (a.size <= 0 || a.producers <= 0 || a.inflight <= 0 || a.messages <= 0 ||
      a.runs <= 0) {
    fmt::print(stderr,
               "thruster bench produce: --size, --producers, --inflight, "
               "--messages and --runs must be > 0\n");
    return 2;
  }
  if (a.connections < 0 || a.io_threads <= 0 || a.topics <= 0 || a.queues < 0 ||
      a.idle_connections < 0) {
    fmt::print(stderr,
               "thruster bench produce: --io-threads and --topics must be > 0, "
               "--connections, --queues and --idle-connections >= 0\n");
    return 2;
  }
  const int connections = a.connections > 0
                              ? std::min(a.connections, a.producers)
                              : std::min(a.producers, AvailableCpus());
  // One client (its own connection to each broker, its own io threads) per
  // connection: producers on different connections share no lock on the send
  // path.
  std::vector<std::unique_ptr<client::ClientInstance>> instances;
  for (int i = 0; i < connections; ++i) {
    client::ClientOptions co;
    co.namesrv_addr = a.namesrv;
    co.io_threads = a.io_threads;
    co.instance_name = fmt::format("bench-produce-{}", i);
    co.access_key = a.access_key;
    co.secret_key = a.secret_key;
    co.tls = a.tls;
    instances.push_back(std::make_unique<client::ClientInstance>(co));
    if (Status s = instances.back()->Start(); !s.ok()) {
      fmt::print(stderr, "thruster bench produce: {}\n", s.message());
      return 1;
    }
  }
  const std::vector<std::string> topics = BenchTopics(a.topic, a.topics);
  if (a.queues > 0 || a.topics > 1) {
    const int queues = a.queues > 0 ? a.queues : 8;
    if (Status s = CreateBenchTopics(*instances[0], topics, queues, a.cluster);
        !s.ok()) {
      fmt::print(stderr, "thruster bench produce: create topics: {}\n",
                 s.ToString());
      return 1;
    }
  }
  std::vector<std::unique_ptr<ProducerSlot>> slots;
  for (int i = 0; i < a.producers; ++i) {
    auto slot = std::make_unique<ProducerSlot>();
    client::ProducerOptions po;
    po.group = "BenchProducer";
    po.max_in_flight = a.inflight;
    slot->producer = std::make_unique<client::Producer>(
        instances[static_cast<size_t>(i % connections)].get(), po);
    slots.push_back(std::move(slot));
  }
  auto body = std::make_shared<std::string>(static_cast<size_t>(a.size), 'x');
  for (size_t i = 0; i < body->size(); ++i)
    (*body)[i] = static_cast<char>('a' + i % 26);
  std::vector<client::Message> protos;
  for (const auto& t : topics) {
    client::Message proto;
    proto.topic = t;
    proto.body = std::as_bytes(std::span(body->data(), body->size()));
    proto.body_owner = body;
    protos.push_back(std::move(proto));
  }
  // Fails fast (no route, no broker) before any thread starts.
  if (auto r = slots[0]->producer->Send(protos[0]); !r.ok()) {
    fmt::print(stderr, "thruster bench produce: {}\n", r.status().message());
    return 1;
  }
  // Every producer needs the routes loaded before its chains run
  // (TrySendAsync never asks the name server).
  std::string broker_addr;
  for (auto& slot : slots) {
    for (const auto& t : topics) {
      if (auto q = slot->producer->FetchPublishQueues(t); !q.ok()) {
        fmt::print(stderr, "thruster bench produce: {}\n",
                   q.status().message());
        return 1;
      }
    }
  }
  if (a.idle_connections > 0) {
    auto addrs = instances[0]->KnownBrokerAddrs();
    if (addrs.empty()) {
      fmt::print(stderr, "thruster bench produce: no broker address known\n");
      return 1;
    }
    broker_addr = addrs[0];
  }
  const int64_t warm_bytes =
      a.warmup_bytes >= 0
          ? a.warmup_bytes
          : std::min<int64_t>(int64_t{1} << 30, a.messages * a.size);
  int64_t warm = warm_bytes / a.size;
  if (warm > 0) {
    if (!a.json)
      fmt::print(
          "warm-up: {} messages ({:.1f} MiB) before measuring "
          "(--warmup-bytes 0 skips it)\n",
          warm, static_cast<double>(warm * a.size) / (1 << 20));
    RunResult w = ProduceOnce(slots, a, protos, warm, "warm-up");
    if (!a.json) PrintResult("warm-up", w);
  }
  // The broker's RSS before and after the idle connections open.
  int64_t rss_before = -1;
  int64_t rss_idle = -1;
  if (a.broker_pid > 0) rss_before = BrokerRssKb(a.broker_pid);
  std::unique_ptr<IdleConnections> idle;
  if (a.idle_connections > 0) {
    auto opened =
        IdleConnections::Open(broker_addr, a.idle_connections, "BenchIdle");
    if (!opened.ok()) {
      fmt::print(stderr, "thruster bench produce: {}\n",
                 opened.status().ToString());
      return 1;
    }
    idle = std::move(*opened);
    if (a.broker_pid > 0) rss_idle = BrokerRssKb(a.broker_pid);
    if (!a.json)
      fmt::print("{} idle producer connections open\n", idle->size());
  }
  std::vector<RunResult> runs;
  for (int i = 0; i < a.runs; ++i) {
    runs.push_back(ProduceOnce(slots, a, protos, a.messages,
                               fmt::format("run {}/{}", i + 1, a.runs)));
    if (!a.json)
      PrintResult(fmt::format("run {}/{}", i + 1, a.runs), runs.back());
  }
  int64_t rss_after = -1;
  if (a.broker_pid > 0) rss_after = BrokerRssKb(a.broker_pid);
  idle.reset();
  slots.clear();
  for (auto& in : instances) in->Stop();
  if (!a.json && rss_after >= 0)
    fmt::print("broker RSS: {} KiB before the runs, {} KiB after\n", rss_before,
               rss_after);
  return Report(a.json, runs,
                {{"mode", "produce"},
                 {"size", a.size},
                 {"producers", a.producers},
                 {"inflight", a.inflight},
                 {"connections", connections},
                 {"io_threads_per_connection", a.io_threads},
                 {"topics", a.topics},
                 {"queues", a.queues},
                 {"idle_connections", a.idle_connections},
                 {"broker_rss_kb_before", rss_before},
                 {"broker_rss_kb_idle_open", rss_idle},
                 {"broker_rss_kb_after", rss_after},
                 {"cpus_available", AvailableCpus()},
                 {"delay_ratio", a.delay_ratio},
                 {"delay_level", a.delay_level},
                 {"timer_ratio", a.timer_ratio},
                 {"timer_delay_sec", a.timer_delay_sec}});
}

// ------------------------------------------------------------------ consume

// Pulls every queue from its start offset up to its end offset (or `limit`
// messages in total). Each queue keeps `depth` pulls in flight over
// consecutive ranges of `batch` offsets (depth 1 is RocketMQ's push consumer:
// one pull per queue, the next one sent from the answer's callback); a short
// answer gets the rest of its range pulled again, so no offset is skipped.
// Every answer is checked: its messages must carry the queue offsets of the
// range in order (the subscription is "*"), so a skipped or repeated offset
// counts as an error. When the broker answers less than asked although more
// is stored (its maxTransferCountOnMessageInMemory, 32 by default), later
// ranges shrink to what it answers, so pulls are not wasted on refills.
class ConsumeRun {
 public:
  ConsumeRun(client::PullConsumer* consumer, int32_t batch, int32_t depth,
             int64_t limit, int broker_pid)
      : consumer_(consumer),
        batch_(batch),
        depth_(depth),
        limit_(limit),
        broker_pid_(broker_pid) {}

  struct Queue {
    client::MessageQueue mq;
    int64_t next = 0;  // first offset not yet asked for
    int64_t end = 0;
    int in_flight = 0;  // pulls of this queue outstanding (<= depth)
  };

  RunResult Run(std::vector<Queue>* queues, const std::string& label,
                bool show_progress) {
    queues_ = queues;
    ProgressLine progress(label, "messages", limit_, &consumed_, show_progress);
    CpuWindow cpu(broker_pid_);
    auto start = Clock::now();
    std::vector<std::pair<size_t, std::pair<int64_t, int32_t>>> first;
    {
      MutexLock lock(&mu_);
      for (int d = 0; d < depth_; ++d) {
        for (size_t i = 0; i < queues_->size(); ++i) {
          if (auto r = NextRangeLocked(i)) {
            first.push_back({i, *r});
            ++(*queues_)[i].in_flight;
          }
        }
      }
      outstanding_ = static_cast<int64_t>(first.size());
    }
    for (const auto& [i, r] : first) Issue(i, r.first, r.second);
    {
      MutexLock lock(&mu_);
      while (outstanding_ != 0) cv_.Wait(&mu_);
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    RunResult r;
    MutexLock lock(&mu_);
    r.messages = consumed_.load();
    if (errors_ == 0 && r.messages != requested_) {
      ++errors_;
      first_error_ = fmt::format("{} messages asked for, {} received",
                                 requested_, r.messages);
    }
    r.errors = errors_;
    r.first_error = first_error_;
    r.seconds = secs;
    r.msgs_per_sec = secs > 0 ? static_cast<double>(r.messages) / secs : 0;
    r.mb_per_sec = secs > 0 ? static_cast<double>(bytes_) / secs / 1e6 : 0;
    r.p50_us = hist_.Percentile(0.50);
    r.p99_us = hist_.Percentile(0.99);
    r.p999_us = hist_.Percentile(0.999);
    r.max_us = hist_.max();
    cpu.Finish(r.messages, secs);
    r.SetCpu(cpu);
    return r;
  }

  // The batch the last ranges were asked with (below --batch when the broker
  // caps its answers).
  int32_t batch() const TH_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return batch_;
  }

 private:
  // The next range of queue i to pull, if any is left.
  std::optional<std::pair<int64_t, int32_t>> NextRangeLocked(size_t i)
      TH_REQUIRES(mu_) {
    Queue& q = (*queues_)[i];
    if (q.next >= q.end || (limit_ > 0 && requested_ >= limit_))
      return std::nullopt;
    int64_t left = q.end - q.next;
    if (limit_ > 0) left = std::min(left, limit_ - requested_);
    auto n = static_cast<int32_t>(std::min<int64_t>(batch_, left));
    std::pair<int64_t, int32_t> r{q.next, n};
    q.next += n;
    requested_ += n;
    return r;
  }

  void ErrorLocked(std::string what) TH_REQUIRES(mu_) {
    ++errors_;
    if (first_error_.empty()) first_error_ = std::move(what);
  }

  // Checks that the answer to [offset, offset + n) holds offset, offset + 1,
  // ... in order; returns how many messages it holds.
  int64_t CheckAnswerLocked(const Queue& q, int64_t offset, int32_t n,
                            const client::PullResult& r) TH_REQUIRES(mu_) {
    int64_t expect = offset;
    for (const auto& m : r.messages) {
      if (m.queue_offset != expect) {
        ErrorLocked(
            fmt::format("{}: offset {} where {} was due (pull of {} "
                        "from {})",
                        q.mq.ToString(), m.queue_offset, expect, n, offset));
        break;
      }
      ++expect;
      bytes_ += static_cast<int64_t>(m.body.size());
    }
    if (r.status == client::PullStatus::kFound &&
        r.next_begin_offset != offset + static_cast<int64_t>(r.messages.size()))
      ErrorLocked(fmt::format("{}: {} messages from {} but nextBeginOffset {}",
                              q.mq.ToString(), r.messages.size(), offset,
                              r.next_begin_offset));
    return static_cast<int64_t>(r.messages.size());
  }

  void Issue(size_t i, int64_t offset, int32_t n) TH_EXCLUDES(mu_) {
    auto t0 = Clock::now();
    consumer_->PullAsync(
        (*queues_)[i].mq, "*", offset, n, -1,
        [this, i, offset, n, t0](Result<client::PullResult> r) {
          auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        Clock::now() - t0)
                        .count();
          std::vector<std::pair<int64_t, int32_t>> next;
          {
            MutexLock lock(&mu_);
            Queue& q = (*queues_)[i];
            --q.in_flight;
            hist_.Record(us);
            if (!r.ok()) {
              ErrorLocked(r.status().ToString());
            } else {
              int64_t got = CheckAnswerLocked(q, offset, n, *r);
              consumed_.fetch_add(got, std::memory_order_relaxed);
              // The part of this range the answer did not cover.
              int64_t y = r->next_begin_offset;
              int64_t range_end = std::min(offset + n, q.end);
              if (y > offset && y < range_end) {
                next.push_back({y, static_cast<int32_t>(range_end - y)});
                // Capped by the broker, not by the end of the data: ask for
                // the most it has answered so far.
                if (got > 0 && y < r->max_offset) {
                  capped_ = std::max(capped_, static_cast<int32_t>(got));
                  batch_ = std::min(batch_, capped_);
                }
              } else if (y <= offset) {
                // Nothing where the backlog should be.
                ErrorLocked(fmt::format("{}: {} at offset {}", q.mq.ToString(),
                                        client::PullStatusName(r->status),
                                        offset));
              }
              // New ranges only over a connection that just answered (a pull
              // from this net thread must not have to reconnect), and never
              // more than `depth` per queue, fills included.
              while (q.in_flight + static_cast<int>(next.size()) < depth_) {
                auto nr = NextRangeLocked(i);
                if (!nr) break;
                next.push_back(*nr);
              }
            }
            q.in_flight += static_cast<int>(next.size());
            outstanding_ += static_cast<int64_t>(next.size()) - 1;
            if (outstanding_ == 0) cv_.SignalAll();
          }
          for (const auto& [o, k] : next) Issue(i, o, k);
        });
  }

  client::PullConsumer* consumer_;
  mutable Mutex mu_;
  CondVar cv_;
  int32_t batch_ TH_GUARDED_BY(mu_);
  // The largest broker-capped answer.
  int32_t capped_ TH_GUARDED_BY(mu_) = 0;
  int32_t depth_;
  int64_t limit_;
  int broker_pid_;
  // The queues' ranges (next, in_flight) change under mu_; mq and end are
  // fixed once Run() starts.
  std::vector<Queue>* queues_ = nullptr;
  std::atomic<int64_t> consumed_{0};
  int64_t outstanding_ TH_GUARDED_BY(mu_) = 0;
  int64_t requested_ TH_GUARDED_BY(mu_) = 0;
  int64_t errors_ TH_GUARDED_BY(mu_) = 0;
  int64_t bytes_ TH_GUARDED_BY(mu_) = 0;
  std::string first_error_ TH_GUARDED_BY(mu_);
  LatencyHistogram hist_ TH_GUARDED_BY(mu_);
};

// Start and end offsets of every queue: from the min offset (or the committed
// one with `committed`) to the max offset now.
Result<std::vector<ConsumeRun::Queue>> PlanQueues(
    client::PullConsumer& consumer, const std::vector<std::string>& topics) {
  std::vector<ConsumeRun::Queue> out;
  for (const auto& topic : topics) {
    TH_ASSIGN_OR_RETURN(auto mqs, consumer.FetchSubscribeQueues(topic));
    for (auto& mq : mqs) {
      TH_ASSIGN_OR_RETURN(int64_t min, consumer.MinOffset(mq));
      TH_ASSIGN_OR_RETURN(int64_t max, consumer.MaxOffset(mq));
      out.push_back({mq, min, max});
    }
  }
  return out;
}

int RunConsume(const ConsumeArgs& a) {
  if (a.batch <= 0 || a.depth <= 0 || a.runs <= 0 || a.messages < 0 ||
      a.warmup_messages < 0 || a.topics <= 0 || a.io_threads <= 0) {
    fmt::print(stderr,
               "thruster bench consume: --batch, --depth, --runs, --topics "
               "and --io-threads must be > 0, --messages and "
               "--warmup-messages >= 0\n");
    return 2;
  }
  client::ClientOptions co;
  co.namesrv_addr = a.namesrv;
  co.io_threads = a.io_threads;
  co.instance_name = "bench-consume";
  co.access_key = a.access_key;
  co.secret_key = a.secret_key;
  co.tls = a.tls;
  client::ClientInstance instance(co);
  if (Status s = instance.Start(); !s.ok()) {
    fmt::print(stderr, "thruster bench consume: {}\n", s.message());
    return 1;
  }
  client::PullConsumerOptions po;
  po.group = a.group;
  client::PullConsumer consumer(&instance, po);
  auto plan = PlanQueues(consumer, BenchTopics(a.topic, a.topics));
  if (!plan.ok()) {
    fmt::print(stderr, "thruster bench consume: {}\n", plan.status().message());
    return 1;
  }
  int64_t stored = 0;
  for (const auto& q : *plan) stored += q.end - q.next;
  if (stored == 0) {
    fmt::print(stderr,
               "thruster bench consume: topic {} has no messages to consume\n",
               a.topic);
    return 1;
  }
  int64_t limit = a.messages > 0 ? std::min(a.messages, stored) : stored;
  int32_t batch = a.batch;
  if (a.warmup_messages > 0) {
    auto queues = *plan;
    ConsumeRun warm(&consumer, a.batch, a.depth,
                    std::min(a.warmup_messages, stored), a.broker_pid);
    RunResult w = warm.Run(&queues, "warm-up", !a.json);
    if (!a.json) PrintResult("warm-up", w);
  }
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  if (a.start_at_ms > 0) {
    const int64_t wait = a.start_at_ms - wall_ms();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
  const int64_t started_ms = wall_ms();
  std::vector<RunResult> runs;
  std::vector<ConsumeRun::Queue> last;
  for (int i = 0; i < a.runs; ++i) {
    last = *plan;
    ConsumeRun run(&consumer, a.batch, a.depth, limit, a.broker_pid);
    runs.push_back(
        run.Run(&last, fmt::format("run {}/{}", i + 1, a.runs), !a.json));
    batch = run.batch();
    if (!a.json)
      PrintResult(fmt::format("run {}/{}", i + 1, a.runs), runs.back());
  }
  if (batch < a.batch && !a.json) {
    fmt::print("the broker answered at most {} messages per pull (asked {})\n",
               batch, a.batch);
  }
  if (a.commit) {
    for (const auto& q : last) {
      if (Status s = consumer.UpdateOffset(q.mq, q.next); !s.ok())
        fmt::print(stderr, "thruster bench consume: commit offset: {}\n",
                   s.message());
    }
  }
  const int64_t ended_ms = wall_ms();
  instance.Stop();
  return Report(a.json, runs,
                {{"mode", "consume"},
                 {"started_ms", started_ms},
                 {"ended_ms", ended_ms},
                 {"batch", a.batch},
                 {"pulled_batch", batch},
                 {"depth", a.depth},
                 {"queues", plan->size()},
                 {"topics", a.topics},
                 {"cpus_available", AvailableCpus()},
                 {"backlog", stored}});
}

}  // namespace

void AddNetBenchCommands(CLI::App& app, int* exit_code) {
  auto found =
      app.get_subcommands([](CLI::App* s) { return s->get_name() == "bench"; });
  CLI::App* bench =
      found.empty() ? app.add_subcommand("bench", "benchmarks") : found.front();
  bench->require_subcommand(1);

  static ProduceArgs p;
  auto* pr = bench->add_subcommand(
      "produce",
      "send messages to a running broker and measure throughput and latency");
  pr->add_option("--namesrv", p.namesrv,
                 "name server address(es), ';'-separated")
      ->capture_default_str();
  pr->add_option("--topic", p.topic, "topic")->capture_default_str();
  pr->add_option("--size", p.size, "body bytes per message")
      ->capture_default_str();
  pr->add_option("--producers", p.producers, "producer threads")
      ->capture_default_str();
  pr->add_option("--inflight", p.inflight,
                 "asynchronous sends in flight per producer")
      ->capture_default_str();
  pr->add_option("--messages", p.messages, "messages per measured run")
      ->capture_default_str();
  pr->add_option("--warmup-bytes", p.warmup_bytes,
                 "bytes sent before measuring (0: no warm-up; default: one "
                 "run's bytes, at most 1 GiB)");
  pr->add_option("--runs", p.runs, "measured runs; the median is reported")
      ->capture_default_str();
  pr->add_option("--delay-ratio", p.delay_ratio,
                 "fraction of the messages sent with a delay level (0..1)")
      ->capture_default_str();
  pr->add_option("--delay-level", p.delay_level,
                 "the DELAY level of those messages")
      ->capture_default_str();
  pr->add_option("--timer-ratio", p.timer_ratio,
                 "fraction of the messages sent as timer messages (0..1)")
      ->capture_default_str();
  pr->add_option("--timer-delay-sec", p.timer_delay_sec,
                 "the TIMER_DELAY_SEC of those messages")
      ->capture_default_str();
  pr->add_option("--connections", p.connections,
                 "connections (each its own client) the producers are spread "
                 "over (0: min(producers, CPUs available))")
      ->capture_default_str();
  pr->add_option("--io-threads", p.io_threads, "io threads per connection")
      ->capture_default_str();
  pr->add_option("--topics", p.topics,
                 "spread the messages over this many topics (TOPIC-0 .. "
                 "TOPIC-(N-1) when > 1)")
      ->capture_default_str();
  pr->add_option("--queues", p.queues,
                 "create (or update) the topics with this many queues first "
                 "(0: as they are; 8 when --topics > 1)")
      ->capture_default_str();
  pr->add_option("--cluster", p.cluster, "the cluster the topics are made on")
      ->capture_default_str();
  pr->add_option("--broker-pid", p.broker_pid,
                 "the broker's pid on this machine: report its CPU per "
                 "message and RSS")
      ->capture_default_str();
  pr->add_option("--idle-connections", p.idle_connections,
                 "producer connections held open and idle during the "
                 "measured runs")
      ->capture_default_str();
  pr->add_flag("--json", p.json, "print one JSON object");
  AddAclSigningOptions(*pr, &p.access_key, &p.secret_key);
  AddTlsOptions(*pr, &p.tls);
  pr->callback([exit_code] { *exit_code = RunProduce(p); });

  static ConsumeArgs c;
  auto* co = bench->add_subcommand(
      "consume",
      "pull a topic's backlog from a running broker and measure throughput");
  co->add_option("--namesrv", c.namesrv,
                 "name server address(es), ';'-separated")
      ->capture_default_str();
  co->add_option("--topic", c.topic, "topic")->capture_default_str();
  co->add_option("--group", c.group, "consumer group")->capture_default_str();
  co->add_option("--messages", c.messages,
                 "messages per run (0: the whole backlog)")
      ->capture_default_str();
  co->add_option("--depth", c.depth,
                 "pulls in flight per queue (1: like RocketMQ's push consumer)")
      ->capture_default_str();
  co->add_option("--batch", c.batch,
                 "maxMsgNums per pull (RocketMQ's pullBatchSize; a broker "
                 "answers at most maxTransferCountOnMessageInMemory, 32)")
      ->capture_default_str();
  co->add_option("--warmup-messages", c.warmup_messages,
                 "messages read before measuring (at most the backlog)")
      ->capture_default_str();
  co->add_option("--runs", c.runs,
                 "measured runs, each from the start; the median is reported")
      ->capture_default_str();
  co->add_option("--io-threads", c.io_threads, "client io threads")
      ->capture_default_str();
  co->add_option("--topics", c.topics,
                 "read TOPIC-0 .. TOPIC-(N-1) when > 1 (as produce --topics "
                 "names them)")
      ->capture_default_str();
  co->add_option("--start-at-ms", c.start_at_ms,
                 "start the measured runs at this time (ms since the epoch), "
                 "after the warm-up, to read side by side with other "
                 "consumers")
      ->capture_default_str();
  co->add_option("--broker-pid", c.broker_pid,
                 "the broker's pid on this machine: report its CPU per message")
      ->capture_default_str();
  co->add_option("--commit", c.commit, "commit the final offsets (true/false)")
      ->capture_default_str();
  co->add_flag("--json", c.json, "print one JSON object");
  AddAclSigningOptions(*co, &c.access_key, &c.secret_key);
  AddTlsOptions(*co, &c.tls);
  co->callback([exit_code] { *exit_code = RunConsume(c); });
}

}  // namespace thruster::cli
