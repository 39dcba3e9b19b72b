// `thruster bench store`: appends N messages to a fresh MessageStore in DIR
// (consume queues and index built by dispatch) and reports throughput and
// append latency percentiles; --read then pulls every queue back,
// --keys times key lookups over the index.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "common/histogram.h"
#include "common/logging.h"
#include "common/mutex.h"
#include "common/properties.h"
#include "store/io/posix_file_system.h"
#include "store/message_store.h"
#include "store/store_inspector.h"
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
  bool read = false;
  bool keys = false;
  int64_t lookups = 10000;
  std::vector<std::string> settings;  // --set KEY=VALUE (broker.conf keys)
};

constexpr std::string_view kBenchTopic = "BenchTopic";

// The first error of a run, from whichever thread hits it. Thread-safe.
class FirstError {
 public:
  void Set(std::string what) TH_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    text_ = std::move(what);
  }
  std::string Get() const TH_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return text_;
  }

 private:
  mutable Mutex mu_;
  std::string text_ TH_GUARDED_BY(mu_);
};

// Removes what a previous run left (only the store's own entries, never
// anything else in DIR).
void CleanStoreDir(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"commitlog", "consumequeue", "index", "checkpoint",
                           "abort", "lock", "config"}) {
    std::filesystem::remove_all(std::filesystem::path(dir) / name, ec);
  }
  std::filesystem::create_directories(dir, ec);
}

// Reads every queue from offset 0 the way a pull does (GetMessage, 32 messages
// a call) and checks that each returned view is one whole record. Returns
// messages and bytes read, or the first problem.
struct ReadPass {
  int64_t messages = 0;
  int64_t bytes = 0;
  std::string error;
};
ReadPass ReadAllQueues(store::MessageStore& ms, int queues) {
  ReadPass p;
  for (int q = 0; q < queues; ++q) {
    int64_t offset = 0;
    while (true) {
      store::GetMessageResult r =
          ms.GetMessage("bench", kBenchTopic, q, offset, 32, int64_t{1} << 20);
      if (r.status != store::GetMessageStatus::kFound) {
        if (r.status != store::GetMessageStatus::kOffsetOverflowOne &&
            r.status != store::GetMessageStatus::kNoMessageInQueue &&
            r.status != store::GetMessageStatus::kNoMatchedLogicQueue) {
          p.error = fmt::format("queue {} offset {}: {}", q, offset,
                                store::GetMessageStatusName(r.status));
        }
        break;
      }
      for (const auto& m : r.messages) {
        if (m.bytes.size() < 4 ||
            LoadI32(m.bytes.data()) != static_cast<int32_t>(m.bytes.size())) {
          p.error = fmt::format(
              "queue {}: a view at phys offset {} is not one whole record", q,
              m.start_offset);
          return p;
        }
        p.bytes += static_cast<int64_t>(m.bytes.size());
      }
      p.messages += static_cast<int64_t>(r.messages.size());
      offset = r.next_begin_offset;
    }
  }
  return p;
}

int RunBenchStore(const BenchStoreOptions& o) {
  if (o.messages <= 0 || o.size <= 0 || o.threads <= 0 || o.queues <= 0 ||
      o.lookups <= 0 || (o.flush != "async" && o.flush != "sync")) {
    fmt::print(stderr,
               "thruster bench store: --messages, --size, --threads, --queues "
               "and --lookups must be positive, "
               "--flush async|sync\n");
    return 2;
  }
  if (o.json) logging::SetLevel(logging::Level::kWarn);
  CleanStoreDir(o.dir);
  std::string conf;
  for (const auto& kv : o.settings) conf += kv + "\n";
  Result<store::MessageStoreConfig> parsed =
      store::MessageStoreConfig::FromProperties(Properties::Parse(conf));
  if (!parsed.ok()) {
    fmt::print(stderr, "thruster bench store: --set: {}\n",
               parsed.status().ToString());
    return 2;
  }
  store::MessageStoreConfig config = *parsed;
  config.store_path_root_dir = o.dir;
  config.mapped_file_size_commit_log = o.segment_size;
  config.flush_disk_type = o.flush == "sync" ? store::FlushDiskType::kSync
                                             : store::FlushDiskType::kAsync;
  config.max_message_size = std::max(config.max_message_size, o.size + 4096);
  config.transient_store_pool_enable = o.pool;
  store::MessageStore ms(store::io::DefaultFileSystem(), config);
  Status s = ms.Load();
  if (s.ok()) s = ms.Start();
  // The first segment exists before timing starts, and the allocate thread has
  // built (and warmed, or under SYNC_FLUSH written out) the next two: the
  // warm-up every run gets alike.
  if (s.ok()) s = ms.commit_log().queue().GetLastMappedFile(0).status();
  if (s.ok() && !ms.commit_log().allocator().WaitUntilIdle(120000))
    s = Status::Timeout("the allocate thread did not finish its warm-up");
  if (!s.ok()) {
    fmt::print(stderr, "thruster bench store: {}\n", s.ToString());
    return 1;
  }
  std::string body(static_cast<size_t>(o.size), 'a');
  std::mt19937 rng(42);
  for (auto& c : body) c = static_cast<char>('a' + rng() % 26);

  std::vector<LatencyHistogram> hist(static_cast<size_t>(o.threads));
  std::atomic<int64_t> errors{0};
  FirstError first_error;  // set by the first error counted in `errors`
  auto per_thread = [&](int t) {
    return o.messages / o.threads + (t < o.messages % o.threads ? 1 : 0);
  };
  auto worker = [&](int t) {
    message::MessageToStore m;
    m.topic = kBenchTopic;
    m.body = AsBytes(body);
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
    std::string props;
    int64_t n = per_thread(t);
    auto& h = hist[static_cast<size_t>(t)];
    for (int64_t i = 0; i < n; ++i) {
      props.clear();
      fmt::format_to(std::back_inserter(props),
                     "TAGS\x01TagA\x02KEYS\x01key-{}-{}\x02", t, i);
      m.properties = props;
      m.queue_id = static_cast<int32_t>(i % o.queues);
      m.born_timestamp = 1700000000000 + i;
      auto t0 = std::chrono::steady_clock::now();
      store::PutResult r = ms.PutMessage(m);
      auto t1 = std::chrono::steady_clock::now();
      h.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
                   .count());
      if (!r.ok()) {
        if (errors.fetch_add(1) == 0) {
          first_error.Set(std::string(store::PutStatusName(r.status)) + ": " +
                          r.error);
        }
      }
    }
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  auto f0 = std::chrono::steady_clock::now();
  Status flushed = ms.commit_log().FlushAll();
  double flush_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - f0)
          .count();
  // Consume queues and index are built by the `dispatch` thread; reads and
  // lookups wait for it.
  auto d0 = std::chrono::steady_clock::now();
  bool dispatched = ms.WaitForDispatch(600000);
  double dispatch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - d0)
          .count();
  if (!dispatched) {
    if (errors.fetch_add(1) == 0)
      first_error.Set("dispatch did not catch up within 600 s");
  }

  LatencyHistogram all;
  for (auto& h : hist) all.Merge(h);
  const double msgs = static_cast<double>(o.messages) / seconds;
  const double mb = static_cast<double>(o.messages) * o.size / seconds / 1e6;
  const double p50 = static_cast<double>(all.Percentile(0.50)) / 1000.0;
  const double p99 = static_cast<double>(all.Percentile(0.99)) / 1000.0;
  const double p999 = static_cast<double>(all.Percentile(0.999)) / 1000.0;
  const int64_t log_bytes = ms.GetMaxPhyOffset();

  nlohmann::json j = {{"msgs_per_sec", msgs},
                      {"mb_per_sec", mb},
                      {"p50_us", p50},
                      {"p99_us", p99},
                      {"p999_us", p999},
                      {"max_us", static_cast<double>(all.max()) / 1000.0},
                      {"messages", o.messages},
                      {"size", o.size},
                      {"threads", o.threads},
                      {"queues", o.queues},
                      {"flush", o.flush},
                      {"seconds", seconds},
                      {"final_flush_seconds", flush_seconds},
                      {"dispatch_wait_seconds", dispatch_seconds},
                      {"commitlog_bytes", log_bytes}};

  if (o.read && dispatched) {
    auto r0 = std::chrono::steady_clock::now();
    ReadPass p = ReadAllQueues(ms, o.queues);
    double read_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - r0)
            .count();
    if (p.error.empty() && p.messages != o.messages) {
      p.error = fmt::format("read {} messages back, appended {}", p.messages,
                            o.messages);
    }
    if (!p.error.empty() && errors.fetch_add(1) == 0)
      first_error.Set("read: " + p.error);
    j["read_messages"] = p.messages;
    j["read_seconds"] = read_seconds;
    j["read_msgs_per_sec"] = static_cast<double>(p.messages) / read_seconds;
    j["read_mb_per_sec"] = static_cast<double>(p.bytes) / read_seconds / 1e6;
  }

  if (o.keys && dispatched) {
    // Random keys of appended messages; each must come back as exactly its own
    // message.
    std::mt19937_64 pick(7);
    LatencyHistogram lookups;
    int64_t misses = 0;
    std::string key;
    for (int64_t k = 0; k < o.lookups; ++k) {
      // Threads beyond the message count appended nothing.
      int writers = static_cast<int>(std::min<int64_t>(o.threads, o.messages));
      int t = static_cast<int>(pick() % static_cast<uint64_t>(writers));
      int64_t i =
          static_cast<int64_t>(pick() % static_cast<uint64_t>(per_thread(t)));
      key = fmt::format("key-{}-{}", t, i);
      auto q0 = std::chrono::steady_clock::now();
      store::QueryMessageResult r = ms.QueryMessage(
          kBenchTopic, key, 32, 0, std::numeric_limits<int64_t>::max());
      auto q1 = std::chrono::steady_clock::now();
      lookups.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(q1 - q0)
              .count());
      if (r.messages.size() != 1) ++misses;
    }
    if (misses > 0 && errors.fetch_add(1) == 0) {
      first_error.Set(fmt::format(
          "keys: {} of {} lookups did not return exactly one message", misses,
          o.lookups));
    }
    j["key_lookups"] = o.lookups;
    j["key_lookup_misses"] = misses;
    j["key_lookup_p50_us"] =
        static_cast<double>(lookups.Percentile(0.50)) / 1000.0;
    j["key_lookup_p99_us"] =
        static_cast<double>(lookups.Percentile(0.99)) / 1000.0;
    j["key_lookup_max_us"] = static_cast<double>(lookups.max()) / 1000.0;
    int64_t index_entries = 0;
    auto files = store::ListIndexFiles(store::io::DefaultFileSystem(), o.dir);
    if (files.ok()) {
      for (const auto& name : *files) {
        auto f = store::IndexFileReader::Open(
            store::io::DefaultFileSystem(),
            store::io::JoinPath(config.IndexDir(), name),
            store::IndexGeometry{config.max_hash_slot_num,
                                 config.max_index_num});
        if (f.ok()) index_entries += (*f)->entry_end() - 1;
      }
    }
    j["index_keys"] = index_entries;
  }
  ms.Shutdown();
  j["errors"] = errors.load();

  if (o.json) {
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "appended {} messages of {} bytes with {} thread(s), {} flush, in "
        "{:.3f} s\n",
        o.messages, o.size, o.threads, o.flush, seconds);
    fmt::print(
        "  {:.0f} msgs/s   {:.1f} MB/s   (commitlog {} bytes, final flush "
        "{:.3f} s, dispatch {:.3f} s)\n",
        msgs, mb, log_bytes, flush_seconds, dispatch_seconds);
    fmt::print(
        "  append latency  p50 {:.2f} us   p99 {:.2f} us   p99.9 {:.2f} us   "
        "max {:.2f} us\n",
        p50, p99, p999, static_cast<double>(all.max()) / 1000.0);
    if (j.contains("read_msgs_per_sec")) {
      fmt::print(
          "  read back {} messages in {:.3f} s: {:.0f} msgs/s   {:.1f} MB/s "
          "(GetMessage, 32 a call)\n",
          j["read_messages"].get<int64_t>(), j["read_seconds"].get<double>(),
          j["read_msgs_per_sec"].get<double>(),
          j["read_mb_per_sec"].get<double>());
    }
    if (j.contains("key_lookup_p50_us")) {
      fmt::print(
          "  key lookup ({} lookups, index of {} keys)  p50 {:.2f} us   p99 "
          "{:.2f} us   max {:.2f} us\n",
          o.lookups, j["index_keys"].get<int64_t>(),
          j["key_lookup_p50_us"].get<double>(),
          j["key_lookup_p99_us"].get<double>(),
          j["key_lookup_max_us"].get<double>());
    }
    if (errors.load() > 0)
      fmt::print("  errors {} (first: {})\n", errors.load(), first_error.Get());
  }
  if (errors.load() > 0 && o.json)
    fmt::print(stderr, "thruster bench store: {}\n", first_error.Get());
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
  auto* st =
      bench->add_subcommand("store",
                            "append N messages to a fresh MessageStore; "
                            "optionally read them back and look up keys");
  st->add_option("--dir", o.dir,
                 "store root directory (its store files are replaced)")
      ->required();
  st->add_option("--messages", o.messages, "number of messages")
      ->capture_default_str();
  st->add_option("--size", o.size, "body bytes per message")
      ->capture_default_str();
  st->add_option("--flush", o.flush, "async or sync")->capture_default_str();
  st->add_option("--threads", o.threads, "appending threads")
      ->capture_default_str();
  st->add_option("--segment-size", o.segment_size, "CommitLog segment bytes")
      ->capture_default_str();
  st->add_option("--queues", o.queues, "queues the messages are spread over")
      ->capture_default_str();
  st->add_flag("--pool", o.pool,
               "transientStorePoolEnable: write into pooled buffers, commit "
               "into the files");
  st->add_flag(
      "--read", o.read,
      "then read every queue from offset 0 with GetMessage (32 a call)");
  st->add_flag(
      "--keys", o.keys,
      "then time QueryMessage for random KEYS of the appended messages");
  st->add_option("--lookups", o.lookups, "key lookups timed by --keys")
      ->capture_default_str();
  st->add_option("--set", o.settings,
                 "KEY=VALUE: a store setting as in broker.conf (repeatable), "
                 "e.g. --set commitLogWritebackKb=0; the options above win");
  st->add_flag("--json", o.json, "print one JSON object");
  st->callback([exit_code] { *exit_code = RunBenchStore(o); });
}

}  // namespace thruster::cli
