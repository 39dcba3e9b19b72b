// `thruster bench timer`: 5.x timer messages against a running broker.
//   1. produce --plain messages to --topic (the baseline produce rate);
//   2. produce --timers timer messages to <topic>_TIMER, their delivery times
//      (TIMER_DELIVER_MS) spread evenly over --spread-sec seconds starting
//      --delay-sec seconds from now (the timer produce rate);
//   3. produce --plain messages again while those timers are pending (the
//      produce rate with a full wheel);
//   4. pull <topic>_TIMER until every timer message is there and report the
//      delivery lateness: the delivered record's store time minus the asked
//      time (percentiles in ms; the wheel's 1 s slots alone give 0..1000 ms).
// Prints a table, or one JSON object with --json.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "common/coding.h"
#include "common/histogram.h"
#include "common/mutex.h"
#include "message/properties.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct TimerArgs {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchTimer";
  int32_t size = 128;
  int64_t timers = 1000000;
  int64_t plain = 200000;
  int64_t delay_sec = 120;
  int64_t spread_sec = 60;
  int inflight = 256;
  int io_threads = 1;
  int64_t grace_sec = 120;  // how long after the last due time to wait
  bool json = false;
};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Phase {
  int64_t messages = 0;
  int64_t errors = 0;
  double seconds = 0;
  double msgs_per_sec = 0;
  std::string first_error;
  json ToJson() const {
    return {{"messages", messages},
            {"errors", errors},
            {"seconds", seconds},
            {"msgs_per_sec", msgs_per_sec}};
  }
};

// Sends `count` messages made by `make(i)` with `producer`'s window of
// asynchronous sends; returns once every answer is in.
template <class Make>
Phase Produce(client::Producer& producer, int64_t count, Make make) {
  std::atomic<int64_t> errors{0};
  Mutex mu;
  std::string first_error;
  const auto start = SteadyClock::now();
  for (int64_t i = 0; i < count; ++i) {
    client::Message m = make(i);
    Status s = producer.SendAsync(m, [&](Result<client::SendResult> r) {
      if (r.ok()) return;
      errors.fetch_add(1, std::memory_order_relaxed);
      MutexLock lock(&mu);
      if (first_error.empty()) first_error = r.status().ToString();
    });
    if (!s.ok()) {
      errors.fetch_add(1, std::memory_order_relaxed);
      MutexLock lock(&mu);
      if (first_error.empty()) first_error = s.ToString();
    }
  }
  producer.Flush();
  Phase p;
  p.messages = count;
  p.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  p.msgs_per_sec = p.seconds > 0 ? static_cast<double>(count) / p.seconds : 0;
  p.errors = errors.load();
  MutexLock lock(&mu);
  p.first_error = first_error;
  return p;
}

int RunTimer(const TimerArgs& a) {
  if (a.size <= 0 || a.timers <= 0 || a.plain < 0 || a.delay_sec <= 0 ||
      a.spread_sec <= 0 || a.inflight <= 0 || a.grace_sec < 0) {
    fmt::print(stderr,
               "thruster bench timer: --size, --timers, --delay-sec, "
               "--spread-sec and --inflight must be > 0\n");
    return 2;
  }
  if (a.delay_sec + a.spread_sec > 259200) {
    fmt::print(stderr,
               "thruster bench timer: --delay-sec + --spread-sec exceeds the "
               "broker's default timerMaxDelaySec (259200)\n");
    return 2;
  }
  client::ClientOptions co;
  co.namesrv_addr = a.namesrv;
  co.io_threads = a.io_threads;
  co.instance_name = "bench-timer";
  client::ClientInstance instance(co);
  if (Status s = instance.Start(); !s.ok()) {
    fmt::print(stderr, "thruster bench timer: {}\n", s.message());
    return 1;
  }
  client::Producer producer(
      &instance, client::ProducerOptions{.group = "BenchTimerPG",
                                         .max_in_flight = a.inflight});
  const std::string body(static_cast<size_t>(a.size), 'x');
  const std::string timer_topic = a.topic + "_TIMER";
  auto plain = [&](int64_t) {
    client::Message m;
    m.topic = a.topic;
    m.body = AsBytes(body);
    return m;
  };
  // Probe sends create the topics (from TBW102) before anything is timed.
  for (const std::string& t : {a.topic, timer_topic}) {
    client::Message m;
    m.topic = t;
    m.body = AsBytes(body);
    if (Result<client::SendResult> r = producer.Send(m); !r.ok()) {
      fmt::print(stderr, "thruster bench timer: probe send to {}: {}\n", t,
                 r.status().ToString());
      return 1;
    }
  }

  Phase before = Produce(producer, a.plain, plain);
  const int64_t first_due = WallMs() + a.delay_sec * 1000;
  const int64_t spread_ms = a.spread_sec * 1000;
  Phase timers = Produce(producer, a.timers, [&](int64_t i) {
    client::Message m;
    m.topic = timer_topic;
    m.body = AsBytes(body);
    m.SetDeliverTimeMs(first_due + i * spread_ms / a.timers);
    return m;
  });
  Phase loaded = Produce(producer, a.plain, plain);
  const bool pending_throughout = WallMs() < first_due;

  // Pull every timer message once delivered.
  client::PullConsumer consumer(
      &instance, client::PullConsumerOptions{.group = "BenchTimerCG",
                                             .register_in_heartbeat = false});
  Result<std::vector<client::MessageQueue>> queues =
      consumer.FetchSubscribeQueues(timer_topic);
  if (!queues.ok()) {
    fmt::print(stderr, "thruster bench timer: {}\n",
               queues.status().ToString());
    return 1;
  }
  std::vector<int64_t> offsets(queues->size(), 0);
  LatencyHistogram lateness;  // ms
  int64_t early = 0;
  int64_t received = 0;
  const int64_t deadline = first_due + spread_ms + a.grace_sec * 1000;
  while (received < a.timers - timers.errors && WallMs() < deadline) {
    bool any = false;
    for (size_t q = 0; q < queues->size(); ++q) {
      Result<client::PullResult> r =
          consumer.Pull((*queues)[q], "*", offsets[q], 32);
      if (!r.ok()) continue;
      offsets[q] = r->next_begin_offset;
      for (const message::DecodedRecord& rec : r->messages) {
        auto asked = message::FindProperty(rec.properties, "TIMER_DELIVER_MS");
        if (!asked) continue;  // the probe
        const int64_t late =
            rec.store_timestamp - std::stoll(std::string(*asked));
        if (late < 0) ++early;
        lateness.Record(std::max<int64_t>(0, late));
        ++received;
        any = true;
      }
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  instance.Stop();

  json out = {{"mode", "timer"},
              {"size", a.size},
              {"timers", a.timers},
              {"delay_sec", a.delay_sec},
              {"spread_sec", a.spread_sec},
              {"produce_plain_before", before.ToJson()},
              {"produce_timers", timers.ToJson()},
              {"produce_plain_with_pending_timers", loaded.ToJson()},
              {"timers_pending_throughout", pending_throughout},
              {"delivered", received},
              {"delivered_early", early},
              {"lateness_ms",
               {{"p50", lateness.Percentile(0.5)},
                {"p99", lateness.Percentile(0.99)},
                {"max", lateness.max()}}}};
  if (a.json) {
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("plain produce before      {:>10.0f} msgs/s ({} errors)\n",
               before.msgs_per_sec, before.errors);
    fmt::print("timer produce             {:>10.0f} msgs/s ({} errors)\n",
               timers.msgs_per_sec, timers.errors);
    fmt::print("plain produce, {} pending {:>10.0f} msgs/s ({} errors){}\n",
               a.timers, loaded.msgs_per_sec, loaded.errors,
               pending_throughout ? "" : "  (some timers were already due)");
    fmt::print(
        "delivered {} of {}, {} early; lateness p50 {} ms, p99 {} ms, "
        "max {} ms\n",
        received, a.timers, early, lateness.Percentile(0.5),
        lateness.Percentile(0.99), lateness.max());
  }
  const bool ok = received == a.timers && early == 0 && before.errors == 0 &&
                  timers.errors == 0 && loaded.errors == 0;
  if (!timers.first_error.empty())
    fmt::print(stderr, "first timer send error: {}\n", timers.first_error);
  return ok ? 0 : 1;
}

}  // namespace

void AddTimerBenchCommand(CLI::App& app, int* exit_code) {
  auto found =
      app.get_subcommands([](CLI::App* s) { return s->get_name() == "bench"; });
  CLI::App* bench =
      found.empty() ? app.add_subcommand("bench", "benchmarks") : found.front();
  static TimerArgs t;
  auto* cmd = bench->add_subcommand(
      "timer",
      "park many timer messages in a running broker: produce rates with and "
      "without them pending, and their delivery lateness");
  cmd->add_option("--namesrv", t.namesrv, "name server address(es)")
      ->capture_default_str();
  cmd->add_option("--topic", t.topic,
                  "topic of the plain sends; timers go to <topic>_TIMER")
      ->capture_default_str();
  cmd->add_option("--size", t.size, "body bytes per message")
      ->capture_default_str();
  cmd->add_option("--timers", t.timers, "timer messages to park")
      ->capture_default_str();
  cmd->add_option("--plain", t.plain,
                  "plain messages sent before and while timers are pending")
      ->capture_default_str();
  cmd->add_option("--delay-sec", t.delay_sec,
                  "the first timer is due this long after the timer phase "
                  "starts (longer than producing them takes)")
      ->capture_default_str();
  cmd->add_option("--spread-sec", t.spread_sec,
                  "due times spread evenly over this many seconds")
      ->capture_default_str();
  cmd->add_option("--inflight", t.inflight, "asynchronous sends in flight")
      ->capture_default_str();
  cmd->add_option("--io-threads", t.io_threads, "client io threads")
      ->capture_default_str();
  cmd->add_option("--grace-sec", t.grace_sec,
                  "how long after the last due time to keep pulling")
      ->capture_default_str();
  cmd->add_flag("--json", t.json, "print one JSON object");
  cmd->callback([exit_code] { *exit_code = RunTimer(t); });
}

}  // namespace thruster::cli
