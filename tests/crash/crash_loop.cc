// Kill loop: starts a real thruster-broker (embedded name server, its own
// store directory), drives producers and a consumer through our client,
// SIGKILLs the broker at a seeded random moment, restarts it and checks what
// survived:
//  - every message that got SEND_OK is consumable at exactly the queue and
//    queue offset its SendResult named, with the same body (SYNC_FLUSH, and
//    ASYNC_FLUSH since a process kill keeps the page cache);
//  - a sample of them is found by key through the index;
//  - the group's consumer offset after the restart is at least the last value
//    seen in config/consumerOffset.json before the kill (never backwards beyond
//    what was persisted) and at most the last value committed (never skips);
//  - the consumer reads every queue without a gap in queue offsets;
//  - after a clean stop, `thruster store verify` finds the CommitLog, the
//    consume queues and the index consistent.
// The same seed replays the same kill moments. Prints one summary line; exit
// status 0 only when nothing acknowledged was lost.
//
//   thruster_crash_loop --broker BIN --thruster BIN [--iterations N]
//       [--seed S] [--flush SYNC|ASYNC|BOTH] [--dir D] [--max-kill-ms M]
//       [--verify-every K] [--keep]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "remoting/json.h"

namespace {

namespace fs = std::filesystem;
using namespace thruster;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "CrashLoopTopic";
constexpr char kGroup[] = "CrashLoopGroup";
constexpr int kQueues = 4;
constexpr int kProducers = 3;

struct Args {
  std::string broker_bin;
  std::string thruster_bin;
  int iterations = 10;
  uint64_t seed = 1;
  std::string flush = "BOTH";
  std::string dir;
  int max_kill_ms = 600;
  int verify_every = 5;
  bool keep = false;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses the command line (CLI11); exits with its message on a bad one.
Args ParseArgs(int argc, char** argv) {
  Args a;
  CLI::App app{"Kill loop: SIGKILLs a real thruster-broker under load and "
               "checks that every acknowledged message survived",
               "thruster_crash_loop"};
  app.add_option("--broker", a.broker_bin, "thruster-broker binary")
      ->required();
  app.add_option("--thruster", a.thruster_bin, "thruster binary (store verify)")
      ->required();
  app.add_option("--iterations", a.iterations, "kill/restart cycles")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", a.seed, "seed of the kill moments");
  app.add_option("--flush", a.flush, "flushDiskType of the cycles")
      ->check(CLI::IsMember({"SYNC", "ASYNC", "BOTH"}));
  app.add_option("--dir", a.dir, "work directory (default: a temporary one)");
  app.add_option("--max-kill-ms", a.max_kill_ms,
                 "kill at a random moment up to this long into a cycle")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--verify-every", a.verify_every,
                 "clean stop and `thruster store verify` every K cycles")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--keep", a.keep, "keep the store and logs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

// One acknowledged message: where the broker said it stored it.
struct Acked {
  std::string body;
  std::string key;
};

class CrashLoop {
 public:
  explicit CrashLoop(Args args) : a_(std::move(args)), rng_(a_.seed) {
    if (a_.dir.empty()) {
      a_.dir = (fs::temp_directory_path() /
                ("thruster-crash-" + std::to_string(::getpid())))
                   .string();
    }
    fs::create_directories(a_.dir);
    store_ = a_.dir + "/store";
  }
  ~CrashLoop() {
    StopBroker(SIGKILL);
    if (!a_.keep && failures_ == 0) fs::remove_all(a_.dir);
  }

  int Run() {
    const auto start = Clock::now();
    for (int cycle = 0; cycle < a_.iterations; ++cycle) {
      const bool sync = a_.flush == "SYNC" ||
                        (a_.flush == "BOTH" && cycle % 2 == 0);
      if (!StartBroker(sync)) return Finish(start);
      if (!CheckAndLoad(cycle)) return Finish(start);
      ++kills_;
      (sync ? sync_kills_ : async_kills_)++;
      const bool verify = a_.verify_every > 0 &&
                          ((cycle + 1) % a_.verify_every == 0 ||
                           cycle + 1 == a_.iterations);
      if (verify) {
        // Recover from the kill, check, stop cleanly and verify offline.
        if (!StartBroker(sync)) return Finish(start);
        if (!CheckAcked() || !CheckOffsets()) return Finish(start);
        StopBroker(SIGTERM);
        if (!Verify()) return Finish(start);
      }
    }
    // The last kill's survivors.
    if (StartBroker(a_.flush != "ASYNC")) {
      if (CheckAcked()) CheckOffsets();
    }
    StopBroker(SIGTERM);
    if (failures_ == 0) Verify();
    return Finish(start);
  }

 private:
  int Finish(Clock::time_point start) {
    const double secs =
        std::chrono::duration<double>(Clock::now() - start).count();
    std::printf(
        "crash loop: seed=%llu cycles=%d kills=%d (sync %d, async %d) "
        "acked=%zu checked=%lld consumed=%lld offsets_checked=%lld "
        "verified=%d lost=%lld failures=%d in %.1f s\n",
        static_cast<unsigned long long>(a_.seed), kills_, kills_, sync_kills_,
        async_kills_, acked_.size(), static_cast<long long>(checked_),
        static_cast<long long>(consumed_),
        static_cast<long long>(offsets_checked_), verified_,
        static_cast<long long>(lost_), failures_, secs);
    if (failures_ > 0)
      std::printf("crash loop: store and logs kept in %s\n", a_.dir.c_str());
    std::fflush(stdout);
    return failures_ == 0 ? 0 : 1;
  }

  void Fail(const std::string& what) {
    ++failures_;
    std::fprintf(stderr, "crash loop FAILURE (seed %llu, kill %d): %s\n",
                 static_cast<unsigned long long>(a_.seed), kills_,
                 what.c_str());
  }

  bool StartBroker(bool sync) {
    log_ = a_.dir + "/broker-" + std::to_string(starts_++) + ".log";
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
      const std::string store_flag = "--storePathRootDir=" + store_;
      const std::string flush_flag =
          std::string("--flushDiskType=") + (sync ? "SYNC_FLUSH" : "ASYNC_FLUSH");
      ::execl(a_.broker_bin.c_str(), a_.broker_bin.c_str(), "--listenPort=0",
              "--namesrvListenPort=0", "--bindAddress=127.0.0.1",
              "--brokerName=broker-crash", "--logTarget=stderr",
              "--mappedFileSizeCommitLog=1048576",
              "--mappedFileSizeConsumeQueue=6000", "--maxHashSlotNum=1000",
              "--maxIndexNum=4000", "--flushConsumerOffsetInterval=50",
              "--autoCreateTopicEnable=false", flush_flag.c_str(),
              store_flag.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const std::regex listening(
        R"(listening on 127\.0\.0\.1:(\d+).*name server on port (\d+))");
    std::smatch m;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    std::string text;
    while (Clock::now() < deadline) {
      text = ReadAll(log_);
      if (std::regex_search(text, m, listening)) break;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
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
    client::ClientOptions co;
    co.namesrv_addr = namesrv_addr_;
    co.heartbeat_interval_ms = 0;
    co.timeout = std::chrono::milliseconds(5000);
    co.io_threads = 2;
    client_ = std::make_unique<client::ClientInstance>(co);
    if (Status s = client_->Start(); !s.ok()) {
      Fail("client start: " + s.ToString());
      return false;
    }
    if (!topic_created_) {
      client::AdminClient admin(client_.get());
      remoting::TopicConfig tc;
      tc.topic_name = kTopic;
      tc.read_queue_nums = kQueues;
      tc.write_queue_nums = kQueues;
      auto r = admin.CreateTopic(tc, broker_addr_, "");
      if (!r.ok()) {
        Fail("create topic: " + r.status().ToString());
        return false;
      }
      topic_created_ = true;
    }
    return true;
  }

  void StopBroker(int sig) {
    producer_.reset();
    consumer_.reset();
    if (client_) {
      client_->Stop();
      client_.reset();
    }
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      Fail("the broker did not stop cleanly on SIGTERM; log " + log_);
    pid_ = -1;
  }

  client::MessageQueue Queue(int q) const {
    return client::MessageQueue{kTopic, "broker-crash", q};
  }

  // Every acknowledged message, at its queue and offset.
  bool CheckAcked() {
    client::PullConsumerOptions po;
    po.group = kGroup;
    po.check_crc = true;
    po.register_in_heartbeat = false;
    client::PullConsumer pc(client_.get(), po);
    for (int q = 0; q < kQueues; ++q) {
      auto first = acked_.lower_bound({q, 0});
      if (first == acked_.end() || first->first.first != q) continue;
      int64_t offset = first->first.second;
      auto it = first;
      while (it != acked_.end() && it->first.first == q) {
        auto r = pc.Pull(Queue(q), "*", offset, 32);
        if (!r.ok() || r->status != client::PullStatus::kFound) {
          std::string why =
              r.ok() ? std::string(client::PullStatusName(r->status))
                     : r.status().ToString();
          lost_++;
          Fail("queue " + std::to_string(q) + " offset " +
               std::to_string(it->first.second) +
               ": acknowledged message not consumable (" + why + ")");
          return false;
        }
        for (const auto& rec : r->messages) {
          if (rec.queue_offset != offset) {
            Fail("queue " + std::to_string(q) + ": pull from " +
                 std::to_string(offset) + " returned offset " +
                 std::to_string(rec.queue_offset));
            return false;
          }
          auto hit = acked_.find({q, offset});
          if (hit != acked_.end()) {
            std::string body(reinterpret_cast<const char*>(rec.body.data()),
                             rec.body.size());
            if (body != hit->second.body) {
              lost_++;
              Fail("queue " + std::to_string(q) + " offset " +
                   std::to_string(offset) + ": acknowledged body '" +
                   hit->second.body + "' but found '" + body + "'");
              return false;
            }
            ++checked_;
            it = std::next(hit);
          }
          ++offset;
          if (it == acked_.end() || it->first.first != q) break;
        }
        if (it != acked_.end() && it->first.first == q &&
            it->first.second < offset) {
          Fail("internal: acked offset skipped");
          return false;
        }
      }
    }
    // The index: a sample of keys, found by QUERY_MESSAGE.
    client::AdminClient admin(client_.get());
    std::uniform_int_distribution<size_t> pick(0, acked_.size() - 1);
    for (int i = 0; i < 3 && !acked_.empty(); ++i) {
      auto it = acked_.begin();
      std::advance(it, static_cast<long>(pick(rng_)));
      auto r = admin.QueryMsgByKey(kTopic, it->second.key, false, 32);
      bool found = false;
      if (r.ok()) {
        for (const auto& m : *r)
          found = found || (m.queue_id == it->first.first &&
                            m.queue_offset == it->first.second);
      }
      if (!found) {
        Fail("key " + it->second.key + " (queue " +
             std::to_string(it->first.first) + " offset " +
             std::to_string(it->first.second) + ") not found by the index: " +
             (r.ok() ? "no matching entry" : r.status().ToString()));
        return false;
      }
    }
    return true;
  }

  // The largest offset of each queue in config/consumerOffset.json, if it parses.
  std::map<int, int64_t> PersistedOffsets() {
    std::map<int, int64_t> out;
    std::string text = ReadAll(store_ + "/config/consumerOffset.json");
    auto v = remoting::json::Parse(text);
    if (!v.ok()) return out;
    const remoting::json::Value* table = v->Find("offsetTable");
    if (table == nullptr) return out;
    const remoting::json::Value* group =
        table->Find(std::string(kTopic) + "@" + kGroup);
    if (group == nullptr || !group->is_object()) return out;
    for (size_t i = 0; i < group->size(); ++i) {
      auto q = group->key(i).AsInt64();
      auto off = group->value(i).AsInt64();
      if (q && off) out[static_cast<int>(*q)] = *off;
    }
    return out;
  }

  bool CheckOffsets() {
    client::PullConsumerOptions po;
    po.group = kGroup;
    po.register_in_heartbeat = false;
    client::PullConsumer pc(client_.get(), po);
    for (int q = 0; q < kQueues; ++q) {
      auto r = pc.QueryOffset(Queue(q));
      int64_t got = r.ok() ? *r : 0;  // NotFound: nothing committed yet
      if (!r.ok() && r.status().code() != Status::Code::kNotFound) {
        Fail("query offset of queue " + std::to_string(q) + ": " +
             r.status().ToString());
        return false;
      }
      const int64_t persisted = persisted_[q];
      const int64_t committed = committed_[q];
      if (got < persisted) {
        Fail("queue " + std::to_string(q) + ": consumer offset went back to " +
             std::to_string(got) + ", below the persisted " +
             std::to_string(persisted));
        return false;
      }
      if (got > committed) {
        Fail("queue " + std::to_string(q) + ": consumer offset " +
             std::to_string(got) + " is beyond the last committed " +
             std::to_string(committed));
        return false;
      }
      consume_from_[q] = std::max<int64_t>(got, 0);
      committed_[q] = consume_from_[q];
      ++offsets_checked_;
    }
    return true;
  }

  // After a restart: the checks, then load until the kill.
  bool CheckAndLoad(int cycle) {
    if (cycle > 0 && (!CheckAcked() || !CheckOffsets())) return false;
    client::ProducerOptions opt;
    opt.group = "CrashLoopProducer";
    opt.retry_times = 0;
    opt.send_timeout = std::chrono::milliseconds(5000);
    producer_ = std::make_unique<client::Producer>(client_.get(), opt);
    client::PullConsumerOptions po;
    po.group = kGroup;
    po.register_in_heartbeat = false;
    po.pull_timeout = std::chrono::milliseconds(5000);
    consumer_ = std::make_unique<client::PullConsumer>(client_.get(), po);

    std::atomic<bool> stop{false};
    std::mutex mu;  // guards acked_, committed_, failures via Fail
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p) {
      threads.emplace_back([&, p] {
        int64_t seq = 0;
        while (!stop.load()) {
          std::string key = "k" + std::to_string(a_.seed) + "-" +
                            std::to_string(cycle) + "-" + std::to_string(p) +
                            "-" + std::to_string(seq++);
          std::string body = "body-" + key + std::string(seq % 200, 'x');
          client::Message m;
          m.topic = kTopic;
          m.keys = key;
          m.tags = "T";
          m.body = std::as_bytes(std::span(body));
          auto r = producer_->Send(m);
          if (!r.ok()) {
            if (stop.load()) break;
            continue;  // the broker may be going down
          }
          if (r->status != client::SendStatus::kSendOk) continue;
          std::lock_guard lock(mu);
          auto [it, inserted] = acked_.emplace(
              std::make_pair(r->queue.queue_id, r->queue_offset),
              Acked{body, key});
          if (!inserted) {
            lost_++;
            ++failures_;
            std::fprintf(stderr,
                         "crash loop FAILURE: queue %d offset %lld acknowledged "
                         "twice ('%s' then '%s')\n",
                         r->queue.queue_id,
                         static_cast<long long>(r->queue_offset),
                         it->second.body.c_str(), body.c_str());
          }
        }
      });
    }
    // The consumer: follows each queue, checks offsets are contiguous, and
    // commits as it goes.
    threads.emplace_back([&] {
      int64_t next[kQueues];
      for (int q = 0; q < kQueues; ++q) next[q] = consume_from_[q];
      while (!stop.load()) {
        bool any = false;
        for (int q = 0; q < kQueues && !stop.load(); ++q) {
          auto r = consumer_->Pull(Queue(q), "*", next[q], 32);
          if (!r.ok()) continue;
          if (r->status == client::PullStatus::kOffsetIllegal) {
            std::lock_guard lock(mu);
            ++failures_;
            std::fprintf(stderr,
                         "crash loop FAILURE: queue %d offset %lld reported "
                         "illegal (next %lld)\n",
                         q, static_cast<long long>(next[q]),
                         static_cast<long long>(r->next_begin_offset));
            return;
          }
          if (r->status != client::PullStatus::kFound) continue;
          any = true;
          for (const auto& rec : r->messages) {
            if (rec.queue_offset != next[q]) {
              std::lock_guard lock(mu);
              ++failures_;
              std::fprintf(stderr,
                           "crash loop FAILURE: queue %d: expected offset "
                           "%lld, consumed %lld (a skip)\n",
                           q, static_cast<long long>(next[q]),
                           static_cast<long long>(rec.queue_offset));
              return;
            }
            ++next[q];
            ++consumed_;
          }
          {
            // The upper bound is what was asked for: the broker may apply a
            // commit whose answer the kill cuts off.
            std::lock_guard lock(mu);
            committed_[q] = next[q];
          }
          consumer_->UpdateOffset(Queue(q), next[q]).IgnoreError();  // a
          // failed commit only leaves the broker's offset lower
        }
        if (!any) std::this_thread::yield();
      }
    });
    // Watches what the broker has persisted of the group's offsets.
    threads.emplace_back([&] {
      while (!stop.load()) {
        for (const auto& [q, off] : PersistedOffsets()) {
          std::lock_guard lock(mu);
          if (q >= 0 && q < kQueues) persisted_[q] = std::max(persisted_[q], off);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling
      }
    });

    // The seeded kill moment (the random delay is the point, not a wait).
    std::uniform_int_distribution<int> delay(0, a_.max_kill_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng_)));
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    // What the watcher saw last is what was persisted before the kill.
    for (const auto& [q, off] : PersistedOffsets()) {
      std::lock_guard lock(mu);
      if (q >= 0 && q < kQueues) persisted_[q] = std::max(persisted_[q], off);
    }
    stop.store(true);
    for (auto& t : threads) t.join();
    producer_.reset();
    consumer_.reset();
    client_->Stop();
    client_.reset();
    return failures_ == 0;
  }

  bool Verify() {
    std::string cmd = a_.thruster_bin + " store verify " + store_ + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      Fail("cannot run " + cmd);
      return false;
    }
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      Fail("thruster store verify:\n" + out);
      return false;
    }
    ++verified_;
    return true;
  }

  Args a_;
  std::mt19937_64 rng_;
  std::string store_;
  std::string log_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::string broker_addr_;
  std::string namesrv_addr_;
  bool topic_created_ = false;
  std::unique_ptr<client::ClientInstance> client_;
  std::unique_ptr<client::Producer> producer_;
  std::unique_ptr<client::PullConsumer> consumer_;

  std::map<std::pair<int, int64_t>, Acked> acked_;
  int64_t committed_[kQueues] = {};
  int64_t persisted_[kQueues] = {};
  int64_t consume_from_[kQueues] = {};
  int kills_ = 0;
  int sync_kills_ = 0;
  int async_kills_ = 0;
  int64_t checked_ = 0;
  int64_t consumed_ = 0;
  int64_t offsets_checked_ = 0;
  int64_t lost_ = 0;
  int verified_ = 0;
  int failures_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  CrashLoop loop(ParseArgs(argc, argv));
  return loop.Run();
}
