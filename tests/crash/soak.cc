// Soak: a real thruster-broker under mixed load for a while, watched for leaks.
//  - load: producers at about half of the peak rate this driver measured
//    against the same broker at start (a short unthrottled burst), a pull
//    consumer per topic that commits as it goes, and key queries through the
//    index (QUERY_MESSAGE);
//  - churn: every --churn-s a new topic is created (and the load moves on to
//    it) and every consumer is replaced by a fresh one on a new client
//    connection, which resumes from the group's committed offset;
//  - watch: every --sample-ms the broker's memory, open file descriptors and
//    threads (/proc/<pid>) are sampled and printed. Memory is RssAnon, the
//    resident anonymous memory: VmRSS also counts the mapped CommitLog pages,
//    which grow with the data stored (page cache, not a leak), so it is
//    printed but not judged; likewise the descriptors of the store's own
//    files (one per mapped segment, consume-queue and index file: they grow
//    with the data and the topics) are printed apart from the others (sockets,
//    pipes, event fds), which are judged. After --warmup-s the samples are cut
//    in thirds;
//    each curve must hold: max(last third) <= max(first third) * 1.1 + slack
//    (RssAnon 16 MiB, fds 16, threads 4);
//  - at the end the producers stop, the consumers catch up, and every message
//    that got SEND_OK must have been consumed at its queue offset with its
//    body.
// Prints the samples and one summary line; exit status 0 only when nothing was
// lost and the curves are flat.
//
//   thruster_soak --broker BIN [--seconds N] [--sample-ms M] [--warmup-s W]
//       [--churn-s C] [--dir D] [--keep]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"

namespace {

namespace fs = std::filesystem;
using SoakClock = std::chrono::steady_clock;

constexpr int kSoakQueues = 2;
constexpr int kSoakProducers = 2;
constexpr char kSoakGroup[] = "SoakGroup";

struct SoakArgs {
  std::string broker_bin;
  int seconds = 30;
  int sample_ms = 2000;
  int warmup_s = 6;
  int churn_s = 5;
  std::string dir;
  bool keep = false;
};

// Parses the command line (CLI11); exits with its message on a bad one.
SoakArgs ParseSoakArgs(int argc, char** argv) {
  SoakArgs a;
  CLI::App app{"Soak: a real thruster-broker under mixed load; its memory, "
               "fds and threads must stay flat and nothing may be lost",
               "thruster_soak"};
  app.add_option("--broker", a.broker_bin, "thruster-broker binary")
      ->required();
  app.add_option("--seconds", a.seconds, "length of the run")
      ->check(CLI::Range(1, 1000000000));
  app.add_option("--sample-ms", a.sample_ms, "sampling period")
      ->check(CLI::Range(1, 1000000000));
  app.add_option("--warmup-s", a.warmup_s, "samples before this are warm-up")
      ->check(CLI::Range(1, 1000000000));
  app.add_option("--churn-s", a.churn_s,
                 "a topic is created and a consumer replaced this often")
      ->check(CLI::Range(1, 1000000000));
  app.add_option("--dir", a.dir, "work directory (default: a temporary one)");
  app.add_flag("--keep", a.keep, "keep the store and logs");
  try {
    app.parse(argc, argv);
    if (a.warmup_s >= a.seconds)
      throw CLI::ValidationError("--warmup-s", "must be below --seconds");
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

std::string SoakReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One /proc sample of the broker.
struct Sample {
  double t_s = 0;
  int64_t rss_kib = 0;
  int64_t anon_kib = 0;
  int64_t fds = 0;        // sockets, pipes, event fds, other files
  int64_t store_fds = 0;  // the store's segment files: grow with the data
  int64_t threads = 0;
};

Sample SampleProcess(pid_t pid, double t_s, const std::string& store_dir) {
  Sample s;
  s.t_s = t_s;
  std::istringstream status(
      SoakReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::atoll(line.c_str() + 6);
    if (line.rfind("RssAnon:", 0) == 0)
      s.anon_kib = std::atoll(line.c_str() + 8);
    if (line.rfind("Threads:", 0) == 0)
      s.threads = std::atoll(line.c_str() + 8);
  }
  std::error_code ec;
  for (auto it =
           fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code lec;
    const std::string target = fs::read_symlink(it->path(), lec).string();
    if (target.rfind(store_dir, 0) == 0)
      ++s.store_fds;
    else
      ++s.fds;
  }
  return s;
}

// Per queue: what the producers were told (queue offset → body) and what the
// consumers read, in order from the first offset they started at.
struct QueueLedger {
  std::map<int64_t, std::string> acked;
  int64_t consumed_from = -1;
  std::vector<std::string> consumed;
};

class Soak {
 public:
  explicit Soak(SoakArgs args) : a_(std::move(args)) {
    if (a_.dir.empty()) {
      a_.dir = (fs::temp_directory_path() /
                ("thruster-soak-" + std::to_string(::getpid())))
                   .string();
    }
    fs::create_directories(a_.dir);
  }
  ~Soak() {
    StopLoad();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!a_.keep && failures_ == 0) fs::remove_all(a_.dir);
  }

  int Run() {
    const auto start = SoakClock::now();
    if (!StartBroker()) return Finish(start);
    if (!CreateTopic()) return Finish(start);
    // The peak: unthrottled producers for 3 s.
    {
      std::atomic<bool> stop{false};
      std::atomic<int64_t> sent{0};
      std::vector<std::thread> burst;
      for (int p = 0; p < kSoakProducers; ++p)
        burst.emplace_back([&, p] { ProduceLoop(p, 0, stop, &sent); });
      const auto b0 = SoakClock::now();
      std::this_thread::sleep_for(std::chrono::seconds(3));  // the burst
      stop.store(true);
      for (auto& t : burst) t.join();
      const double d =
          std::chrono::duration<double>(SoakClock::now() - b0).count();
      peak_rate_ = static_cast<double>(sent.load()) / d;
    }
    target_rate_ = std::max(1.0, peak_rate_ / 2);
    std::printf("soak: peak %.0f msgs/s, running at %.0f msgs/s\n", peak_rate_,
                target_rate_);
    std::fflush(stdout);

    // The load.
    std::atomic<int64_t> sent{0};
    for (int p = 0; p < kSoakProducers; ++p) {
      threads_.emplace_back([this, p, &sent] {
        ProduceLoop(p, target_rate_ / kSoakProducers, stop_producers_, &sent);
      });
    }
    threads_.emplace_back([this] { QueryLoop(); });
    StartConsumers();

    const auto load0 = SoakClock::now();
    auto next_churn = load0 + std::chrono::seconds(a_.churn_s);
    auto next_sample = load0;
    const auto end = load0 + std::chrono::seconds(a_.seconds);
    while (SoakClock::now() < end && failures_ == 0) {
      const auto now = SoakClock::now();
      if (now >= next_sample) {
        Sample s = SampleProcess(
            pid_, std::chrono::duration<double>(now - load0).count(),
            a_.dir + "/store/");
        samples_.push_back(s);
        std::printf(
            "soak: t=%.0fs anon=%lld KiB rss=%lld KiB fds=%lld store_fds=%lld "
            "threads=%lld "
            "sent=%lld consumed=%lld\n",
            s.t_s, static_cast<long long>(s.anon_kib),
            static_cast<long long>(s.rss_kib), static_cast<long long>(s.fds),
            static_cast<long long>(s.store_fds),
            static_cast<long long>(s.threads),
            static_cast<long long>(sent.load()),
            static_cast<long long>(consumed_.load()));
        std::fflush(stdout);
        next_sample += std::chrono::milliseconds(a_.sample_ms);
      }
      if (now >= next_churn) {
        if (!CreateTopic()) break;
        StopConsumers();
        StartConsumers();
        ++churns_;
        next_churn += std::chrono::seconds(a_.churn_s);
      }
      std::this_thread::sleep_until(std::min(next_sample, next_churn));
    }
    // Stop producing; the consumers catch up; then check.
    stop_producers_.store(true);
    StopLoad();
    // A run that already failed is not judged on what it did not consume.
    if (failures_ == 0) {
      CatchUp();
      CheckLedgers();
      CheckFlat();
    }
    return Finish(start);
  }

 private:
  int Finish(SoakClock::time_point start) {
    const double secs =
        std::chrono::duration<double>(SoakClock::now() - start).count();
    int64_t acked = 0;
    for (const auto& [q, l] : ledgers_)
      acked += static_cast<int64_t>(l.acked.size());
    std::printf(
        "soak: %d s of load, peak %.0f msgs/s, ran at %.0f msgs/s; topics=%zu "
        "churns=%d acked=%lld consumed=%lld queries=%lld samples=%zu "
        "anon_kib=%s fds=%s threads=%s lost=%lld failures=%d in %.1f s\n",
        a_.seconds, peak_rate_, target_rate_, topics_.size(), churns_,
        static_cast<long long>(acked), static_cast<long long>(consumed_.load()),
        static_cast<long long>(queries_.load()), samples_.size(),
        curve_[0].c_str(), curve_[1].c_str(), curve_[2].c_str(),
        static_cast<long long>(lost_), failures_.load(), secs);
    if (failures_ > 0)
      std::printf("soak: store and broker log kept in %s\n", a_.dir.c_str());
    std::fflush(stdout);
    return failures_ == 0 ? 0 : 1;
  }

  void Fail(const std::string& what) {
    std::lock_guard lock(mu_);
    ++failures_;
    std::fprintf(stderr, "soak FAILURE: %s\n", what.c_str());
  }

  bool StartBroker() {
    log_ = a_.dir + "/broker.log";
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = ::fork();
    if (pid_ < 0) {
      Fail("fork failed");
      return false;
    }
    if (pid_ == 0) {
      FILE* f = std::freopen(log_.c_str(), "w", stdout);
      if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) ::_exit(127);
      // Under ASan freed memory sits in a quarantine (256 MiB by default)
      // that fills for many minutes and looks like a leak: keep it small.
      std::string asan = "quarantine_size_mb=16";
      if (const char* o = std::getenv("ASAN_OPTIONS"); o != nullptr && *o)
        asan = std::string(o) + ":" + asan;
      ::setenv("ASAN_OPTIONS", asan.c_str(), 1);
      const std::string store_flag = "--storePathRootDir=" + a_.dir + "/store";
      ::execl(a_.broker_bin.c_str(), a_.broker_bin.c_str(), "--listenPort=0",
              "--namesrvListenPort=0", "--bindAddress=127.0.0.1",
              "--brokerName=broker-soak", "--logTarget=stderr",
              "--mappedFileSizeCommitLog=4194304",
              "--mappedFileSizeConsumeQueue=6000", "--maxHashSlotNum=1000",
              "--maxIndexNum=4000", "--autoCreateTopicEnable=false",
              "--flushDiskType=ASYNC_FLUSH", store_flag.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const std::regex listening(
        R"(listening on 127\.0\.0\.1:(\d+).*name server on port (\d+))");
    std::smatch m;
    const auto deadline = SoakClock::now() + std::chrono::seconds(60);
    std::string text;
    while (SoakClock::now() < deadline) {
      text = SoakReadFile(log_);
      if (std::regex_search(text, m, listening)) break;
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        Fail("the broker exited while starting; its log:\n" + text);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling
    }
    if (m.empty()) {
      Fail("no listening line within 60 s; log:\n" + text);
      return false;
    }
    broker_addr_ = "127.0.0.1:" + m[1].str();
    namesrv_addr_ = "127.0.0.1:" + m[2].str();
    client_ = NewClient();
    return client_ != nullptr;
  }

  std::unique_ptr<thruster::client::ClientInstance> NewClient() {
    thruster::client::ClientOptions co;
    co.namesrv_addr = namesrv_addr_;
    co.heartbeat_interval_ms = 1000;
    co.timeout = std::chrono::milliseconds(10000);
    co.io_threads = 1;
    auto c = std::make_unique<thruster::client::ClientInstance>(co);
    if (thruster::Status s = c->Start(); !s.ok()) {
      Fail("client start: " + s.ToString());
      return nullptr;
    }
    return c;
  }

  // A new topic; the producers move on to it (the older ones keep their
  // messages and consumers).
  bool CreateTopic() {
    thruster::client::AdminClient admin(client_.get());
    thruster::remoting::TopicConfig tc;
    tc.topic_name = "SoakTopic" + std::to_string(topics_.size());
    tc.read_queue_nums = kSoakQueues;
    tc.write_queue_nums = kSoakQueues;
    auto r = admin.CreateTopic(tc, broker_addr_, "");
    if (!r.ok()) {
      Fail("create topic " + tc.topic_name + ": " + r.status().ToString());
      return false;
    }
    // The producers route through the name server: wait for the broker's
    // next registration to bring the topic there.
    const auto deadline = SoakClock::now() + std::chrono::seconds(60);
    while (!admin.TopicRoute(tc.topic_name).ok()) {
      if (SoakClock::now() > deadline) {
        Fail("no route for " + tc.topic_name + " within 60 s");
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling
    }
    std::lock_guard lock(mu_);
    topics_.push_back(tc.topic_name);
    return true;
  }

  std::string CurrentTopic() {
    std::lock_guard lock(mu_);
    return topics_.back();
  }

  // Sends until `stop`, `rate` messages per second (0: as fast as it can).
  void ProduceLoop(int p, double rate, const std::atomic<bool>& stop,
                   std::atomic<int64_t>* sent) {
    thruster::client::ProducerOptions opt;
    opt.group = "SoakProducer";
    opt.retry_times = 0;
    opt.send_timeout = std::chrono::milliseconds(10000);
    thruster::client::Producer producer(client_.get(), opt);
    const auto t0 = SoakClock::now();
    int64_t seq = 0;
    while (!stop.load()) {
      if (rate > 0) {
        // Paced: message n leaves at t0 + n / rate.
        const auto due =
            t0 +
            std::chrono::duration_cast<SoakClock::duration>(
                std::chrono::duration<double>(static_cast<double>(seq) / rate));
        if (SoakClock::now() < due) std::this_thread::sleep_until(due);
      }
      const std::string key = "p" + std::to_string(p) + "-" +
                              std::to_string(seq_base_.fetch_add(1));
      std::string body = "soak-" + key + std::string(seq % 512, 'x');
      ++seq;
      thruster::client::Message m;
      m.topic = CurrentTopic();
      m.keys = key;
      m.tags = "T";
      m.body = std::as_bytes(std::span(body));
      auto r = producer.Send(m);
      if (!r.ok() || r->status != thruster::client::SendStatus::kSendOk) {
        Fail("send to " + m.topic + ": " +
             (r.ok() ? std::string("not SEND_OK") : r.status().ToString()));
        return;
      }
      sent->fetch_add(1);
      std::lock_guard lock(mu_);
      QueueLedger& l = ledgers_[{m.topic, r->queue.queue_id}];
      if (!l.acked.emplace(r->queue_offset, body).second) {
        ++lost_;
        ++failures_;
        std::fprintf(stderr,
                     "soak FAILURE: %s/%d offset %lld acknowledged twice\n",
                     m.topic.c_str(), r->queue.queue_id,
                     static_cast<long long>(r->queue_offset));
      }
      last_key_ = {m.topic, key};
    }
  }

  // Looks up the latest acknowledged key through the index, a few times a
  // second.
  void QueryLoop() {
    thruster::client::AdminClient admin(client_.get());
    std::pair<std::string, std::string> k;  // acknowledged a round ago
    while (!stop_all_.load()) {
      if (!k.first.empty()) {
        // The index follows the CommitLog asynchronously: a key may take a
        // moment to become visible.
        const auto deadline = SoakClock::now() + std::chrono::seconds(10);
        bool found = false;
        std::string why = "not found";
        while (!found && SoakClock::now() < deadline && !stop_all_.load()) {
          auto r = admin.QueryMsgByKey(k.first, k.second, false, 8);
          found = r.ok() && !r->empty();
          if (!r.ok()) why = r.status().ToString();
          if (!found) {
            std::unique_lock lock(stop_mu_);
            stop_cv_.wait_for(lock, std::chrono::milliseconds(50),
                              [this] { return stop_all_.load(); });
          }
        }
        if (!found && !stop_all_.load()) {
          Fail("query key " + k.second + " of " + k.first + ": " + why);
          return;
        }
        if (found) queries_.fetch_add(1);
      }
      {
        std::lock_guard lock(mu_);
        k = last_key_;
      }
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(200),
                        [this] { return stop_all_.load(); });
    }
  }

  // One consumer generation: a new client connection per generation, one
  // thread following every queue of every topic from the committed offset.
  void StartConsumers() {
    stop_consumers_.store(false);
    consumer_client_ = NewClient();
    if (!consumer_client_) return;
    consumer_thread_ = std::thread([this] { ConsumeLoop(); });
  }

  void StopConsumers() {
    stop_consumers_.store(true);
    if (consumer_thread_.joinable()) consumer_thread_.join();
    if (consumer_client_) consumer_client_->Stop();
    consumer_client_.reset();
  }

  // Pulls every queue of every topic once; true when any message came.
  bool ConsumeOnce(thruster::client::PullConsumer& pc,
                   std::map<std::pair<std::string, int>, int64_t>& next) {
    std::vector<std::string> topics;
    {
      std::lock_guard lock(mu_);
      topics = topics_;
    }
    bool any = false;
    for (const std::string& t : topics) {
      for (int q = 0; q < kSoakQueues; ++q) {
        thruster::client::MessageQueue mq{t, "broker-soak", q};
        auto [it, fresh] = next.try_emplace({t, q}, 0);
        if (fresh) {
          auto o = pc.QueryOffset(mq);
          it->second = o.ok() ? *o : 0;
        }
        auto r = pc.Pull(mq, "*", it->second, 32);
        if (!r.ok() || r->status != thruster::client::PullStatus::kFound)
          continue;
        any = true;
        std::lock_guard lock(mu_);
        QueueLedger& l = ledgers_[{t, q}];
        if (l.consumed_from < 0) l.consumed_from = it->second;
        for (const auto& rec : r->messages) {
          const int64_t want =
              l.consumed_from + static_cast<int64_t>(l.consumed.size());
          if (rec.queue_offset != it->second || rec.queue_offset > want) {
            ++failures_;
            std::fprintf(stderr,
                         "soak FAILURE: %s/%d: expected offset %lld, consumed "
                         "%lld\n",
                         t.c_str(), q, static_cast<long long>(it->second),
                         static_cast<long long>(rec.queue_offset));
            return false;
          }
          // A new generation re-reads from the committed offset what the
          // last one read after its final commit: same bytes, counted once.
          if (rec.queue_offset == want) {
            l.consumed.emplace_back(
                reinterpret_cast<const char*>(rec.body.data()),
                rec.body.size());
            consumed_.fetch_add(1);
          }
          ++it->second;
        }
        pc.UpdateOffset(mq, it->second).IgnoreError();  // best effort: a
        // lost commit only makes the next generation re-read
      }
    }
    return any;
  }

  void ConsumeLoop() {
    thruster::client::PullConsumerOptions po;
    po.group = kSoakGroup;
    po.check_crc = true;
    po.pull_timeout = std::chrono::milliseconds(10000);
    thruster::client::PullConsumer pc(consumer_client_.get(), po);
    std::map<std::pair<std::string, int>, int64_t> next;
    while (!stop_consumers_.load() && failures_ == 0) {
      if (!ConsumeOnce(pc, next)) {
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_for(lock, std::chrono::milliseconds(20),
                          [this] { return stop_consumers_.load(); });
      }
    }
  }

  void StopLoad() {
    stop_producers_.store(true);
    {
      std::lock_guard lock(stop_mu_);
      stop_all_.store(true);
    }
    stop_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    {
      std::lock_guard lock(stop_mu_);
      stop_consumers_.store(true);
    }
    stop_cv_.notify_all();
    StopConsumers();
  }

  // A last consumer generation reads until every queue is past its last
  // acknowledged offset (or 60 s pass).
  void CatchUp() {
    if (failures_ > 0) return;
    consumer_client_ = NewClient();
    if (!consumer_client_) return;
    thruster::client::PullConsumerOptions po;
    po.group = kSoakGroup;
    po.check_crc = true;
    thruster::client::PullConsumer pc(consumer_client_.get(), po);
    std::map<std::pair<std::string, int>, int64_t> next;
    const auto deadline = SoakClock::now() + std::chrono::seconds(60);
    while (SoakClock::now() < deadline && failures_ == 0) {
      ConsumeOnce(pc, next);
      bool done = true;
      std::lock_guard lock(mu_);
      for (const auto& [key, l] : ledgers_) {
        if (l.acked.empty()) continue;
        const int64_t end =
            l.consumed_from + static_cast<int64_t>(l.consumed.size());
        done = done && l.consumed_from >= 0 && end > l.acked.rbegin()->first;
      }
      if (done) break;
    }
    consumer_client_->Stop();
    consumer_client_.reset();
  }

  void CheckLedgers() {
    std::lock_guard lock(mu_);
    for (const auto& [key, l] : ledgers_) {
      for (const auto& [offset, body] : l.acked) {
        const int64_t i = offset - l.consumed_from;
        if (l.consumed_from < 0 || i < 0 ||
            i >= static_cast<int64_t>(l.consumed.size()) ||
            l.consumed[static_cast<size_t>(i)] != body) {
          ++lost_;
          if (lost_ <= 5) {
            std::fprintf(stderr,
                         "soak FAILURE: %s/%d offset %lld acknowledged but not "
                         "consumed with its body\n",
                         key.first.c_str(), key.second,
                         static_cast<long long>(offset));
          }
        }
      }
    }
    if (lost_ > 0) ++failures_;
  }

  // After warm-up, each curve's last third stays within 10 % (plus slack) of
  // its first third.
  void CheckFlat() {
    std::vector<Sample> s;
    for (const Sample& x : samples_)
      if (x.t_s >= a_.warmup_s) s.push_back(x);
    if (s.size() < 3) {
      Fail("too few samples after warm-up: " + std::to_string(s.size()));
      return;
    }
    const size_t third = s.size() / 3;
    struct Curve {
      const char* name;
      std::function<int64_t(const Sample&)> get;
      int64_t slack;
    };
    const Curve curves[] = {
        {"anon", [](const Sample& x) { return x.anon_kib; }, 16 * 1024},
        {"fds", [](const Sample& x) { return x.fds; }, 16},
        {"threads", [](const Sample& x) { return x.threads; }, 4},
    };
    for (size_t c = 0; c < 3; ++c) {
      int64_t first = 0;
      int64_t last = 0;
      for (size_t i = 0; i < third; ++i)
        first = std::max(first, curves[c].get(s[i]));
      for (size_t i = s.size() - third; i < s.size(); ++i)
        last = std::max(last, curves[c].get(s[i]));
      const int64_t bound = first + first / 10 + curves[c].slack;
      curve_[c] = std::to_string(first) + "->" + std::to_string(last) +
                  (last <= bound ? "(flat)" : "(GROWING)");
      if (last > bound) {
        Fail(std::string(curves[c].name) + " grows: first third max " +
             std::to_string(first) + ", last third max " +
             std::to_string(last) + " > " + std::to_string(bound));
      }
    }
  }

  SoakArgs a_;
  std::string log_;
  pid_t pid_ = -1;
  std::string broker_addr_;
  std::string namesrv_addr_;
  std::unique_ptr<thruster::client::ClientInstance> client_;
  std::unique_ptr<thruster::client::ClientInstance> consumer_client_;
  std::thread consumer_thread_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_producers_{false};
  std::atomic<bool> stop_consumers_{false};
  std::atomic<bool> stop_all_{false};
  std::mutex stop_mu_;  // with stop_cv_: wakes the query and consumer loops
  std::condition_variable stop_cv_;
  std::atomic<int64_t> seq_base_{0};
  std::atomic<int64_t> consumed_{0};
  std::atomic<int64_t> queries_{0};
  double peak_rate_ = 0;
  double target_rate_ = 0;
  int churns_ = 0;
  std::vector<Sample> samples_;
  std::string curve_[3] = {"-", "-", "-"};

  std::mutex mu_;  // guards what follows
  std::vector<std::string> topics_;
  std::map<std::pair<std::string, int>, QueueLedger> ledgers_;
  std::pair<std::string, std::string> last_key_;  // (topic, key)
  int64_t lost_ = 0;
  std::atomic<int> failures_{0};
};

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Soak soak(ParseSoakArgs(argc, argv));
  return soak.Run();
}
