// `thruster bench store`: appends N messages to a fresh store in DIR and reports throughput and append
// latency percentiles.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "common/histogram.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"
#include "store/io/posix_file_system.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

struct BenchStoreOptions {
  std::string dir;
  int64_t messages = 1000000;
  int32_t size = 1024;
  std::string flush = "async";
  int threads = 1;
  bool json = false;
  int64_t segment_size = 1073741824;
  int queues = 8;
  bool pool = false;
};

// Removes what a previous run left (only the store's own entries, never anything else in DIR).
void CleanStoreDir(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"commitlog", "consumequeue", "index", "checkpoint", "abort", "lock", "config"}) {
    std::filesystem::remove_all(std::filesystem::path(dir) / name, ec);
  }
  std::filesystem::create_directories(dir, ec);
}

int RunBenchStore(const BenchStoreOptions& o) {
  if (o.messages <= 0 || o.size <= 0 || o.threads <= 0 || (o.flush != "async" && o.flush != "sync")) {
    fmt::print(stderr, "thruster bench store: --messages, --size and --threads must be positive, --flush async|sync\n");
    return 2;
  }
  CleanStoreDir(o.dir);
  store::MessageStoreConfig config;
  config.store_path_root_dir = o.dir;
  config.mapped_file_size_commit_log = o.segment_size;
  config.flush_disk_type = o.flush == "sync" ? store::FlushDiskType::kSync : store::FlushDiskType::kAsync;
  config.max_message_size = std::max(config.max_message_size, o.size + 4096);
  config.transient_store_pool_enable = o.pool;
  auto* fs = store::io::DefaultFileSystem();
  auto cp = store::Checkpoint::Open(fs, config.CheckpointPath());
  if (!cp.ok()) {
    fmt::print(stderr, "thruster bench store: {}\n", cp.status().ToString());
    return 1;
  }
  store::CommitLog log(fs, config, cp->get());
  Status s = log.Load();
  if (s.ok()) s = log.Recover(true, 0, [](const store::DecodedRecord&, int64_t, int32_t) {}).status();
  if (s.ok()) s = log.Start();
  if (s.ok()) s = log.queue().GetLastMappedFile(0).status();  // the first segment exists before timing
  if (!s.ok()) {
    fmt::print(stderr, "thruster bench store: {}\n", s.ToString());
    return 1;
  }
  std::string body(static_cast<size_t>(o.size), 'a');
  std::mt19937 rng(42);
  for (auto& c : body) c = static_cast<char>('a' + rng() % 26);

  std::vector<LatencyHistogram> hist(static_cast<size_t>(o.threads));
  std::atomic<int64_t> errors{0};
  std::string first_error;
  std::mutex err_mu;
  auto worker = [&](int t) {
    store::MessageToStore m;
    m.topic = "BenchTopic";
    m.body = AsBytes(body);
    m.born_host = store::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = store::HostAddress::V4(127, 0, 0, 1, 10911);
    std::string props;
    int64_t n = o.messages / o.threads + (t < o.messages % o.threads ? 1 : 0);
    auto& h = hist[static_cast<size_t>(t)];
    for (int64_t i = 0; i < n; ++i) {
      props.clear();
      fmt::format_to(std::back_inserter(props), "TAGS\x01TagA\x02KEYS\x01key-{}-{}\x02", t, i);
      m.properties = props;
      m.queue_id = static_cast<int32_t>(i % o.queues);
      m.born_timestamp = 1700000000000 + i;
      auto t0 = std::chrono::steady_clock::now();
      store::PutResult r = log.PutMessage(m);
      auto t1 = std::chrono::steady_clock::now();
      h.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      if (!r.ok()) {
        if (errors.fetch_add(1) == 0) {
          std::lock_guard<std::mutex> lock(err_mu);
          first_error = std::string(store::PutStatusName(r.status)) + ": " + r.error;
        }
      }
    }
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto f0 = std::chrono::steady_clock::now();
  Status flushed = log.FlushAll();
  double flush_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
  LatencyHistogram all;
  for (auto& h : hist) all.Merge(h);
  double msgs = static_cast<double>(o.messages) / seconds;
  double mb = static_cast<double>(o.messages) * o.size / seconds / 1e6;
  double p50 = static_cast<double>(all.Percentile(0.50)) / 1000.0;
  double p99 = static_cast<double>(all.Percentile(0.99)) / 1000.0;
  double p999 = static_cast<double>(all.Percentile(0.999)) / 1000.0;
  int64_t log_bytes = log.GetMaxOffset();
  log.Shutdown();
  if (o.json) {
    nlohmann::json j = {{"msgs_per_sec", msgs},      {"mb_per_sec", mb},
                        {"p50_us", p50},             {"p99_us", p99},
                        {"p999_us", p999},           {"max_us", static_cast<double>(all.max()) / 1000.0},
                        {"messages", o.messages},    {"size", o.size},
                        {"threads", o.threads},      {"flush", o.flush},
                        {"seconds", seconds},        {"final_flush_seconds", flush_seconds},
                        {"commitlog_bytes", log_bytes}, {"errors", errors.load()}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("appended {} messages of {} bytes with {} thread(s), {} flush, in {:.3f} s\n", o.messages, o.size,
               o.threads, o.flush, seconds);
    fmt::print("  {:.0f} msgs/s   {:.1f} MB/s   (commitlog {} bytes, final flush {:.3f} s)\n", msgs, mb, log_bytes,
               flush_seconds);
    fmt::print("  append latency  p50 {:.2f} us   p99 {:.2f} us   p99.9 {:.2f} us   max {:.2f} us\n", p50, p99, p999,
               static_cast<double>(all.max()) / 1000.0);
    if (errors.load() > 0) fmt::print("  errors {} (first: {})\n", errors.load(), first_error);
  }
  if (!flushed.ok()) {
    fmt::print(stderr, "final flush failed: {}\n", flushed.ToString());
    return 1;
  }
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

void AddBenchCommands(CLI::App& app, int* exit_code) {
  auto* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  static BenchStoreOptions o;
  auto* st = bench->add_subcommand("store", "append N messages to a fresh store and report speed and latency");
  st->add_option("--dir", o.dir, "store root directory (its store files are replaced)")->required();
  st->add_option("--messages", o.messages, "number of messages")->capture_default_str();
  st->add_option("--size", o.size, "body bytes per message")->capture_default_str();
  st->add_option("--flush", o.flush, "async or sync")->capture_default_str();
  st->add_option("--threads", o.threads, "appending threads")->capture_default_str();
  st->add_option("--segment-size", o.segment_size, "CommitLog segment bytes")->capture_default_str();
  st->add_option("--queues", o.queues, "queues the messages are spread over")->capture_default_str();
  st->add_flag("--pool", o.pool, "transientStorePoolEnable: write into pooled buffers, commit into the files");
  st->add_flag("--json", o.json, "print one JSON object");
  st->callback([exit_code] { *exit_code = RunBenchStore(o); });
}

}  // namespace thruster::cli
