#include "broker/metrics/broker_metrics.h"

#include <chrono>
#include <map>
#include <tuple>

#include "broker/topic_config_manager.h"
#include "store/delay_level_table.h"

namespace thruster::broker::metrics {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// The single writer's add: no locked instruction.
void Bump(std::atomic<int64_t>& a, int64_t v) {
  a.store(a.load(kRelaxed) + v, kRelaxed);
}
void Bump(std::atomic<double>& a, double v) {
  a.store(a.load(kRelaxed) + v, kRelaxed);
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>()(s);
  }
};

template <typename V>
using StringMap =
    std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Cells of one fixed-bucket histogram (overflow bucket last).
template <size_t N>
struct HistogramCells {
  std::array<std::atomic<int64_t>, N + 1> counts{};
  std::atomic<double> sum{0};
  void Observe(const std::array<double, N>& bounds, double v, int64_t times) {
    size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    Bump(counts[i], times);
    Bump(sum, v * static_cast<double>(times));
  }
};

template <size_t N>
struct HistogramSum {
  std::array<int64_t, N + 1> counts{};
  double sum = 0;
  void Add(const HistogramCells<N>& c) {
    for (size_t i = 0; i <= N; ++i) counts[i] += c.counts[i].load(kRelaxed);
    sum += c.sum.load(kRelaxed);
  }
  int64_t count() const {
    int64_t n = 0;
    for (int64_t c : counts) n += c;
    return n;
  }
};

constexpr size_t kSizeBuckets = BrokerMetrics::kMessageSizeBounds.size();
constexpr size_t kRpcBuckets = BrokerMetrics::kRpcLatencyBoundsMs.size();

struct InCells {
  std::atomic<int64_t> msgs{0};
  std::atomic<int64_t> bytes{0};
  HistogramCells<kSizeBuckets> size;
};
struct OutCells {
  std::atomic<int64_t> msgs{0};
  std::atomic<int64_t> bytes{0};
};
struct TopicCells {
  std::array<InCells, kMessageTypes> in;
  StringMap<std::unique_ptr<OutCells>> out;  // by consumer group
};
using RpcCells = HistogramCells<kRpcBuckets>;

std::atomic<uint64_t> g_next_serial{1};

struct ThreadCache {
  uint64_t serial = 0;
  void* shard = nullptr;
};
thread_local ThreadCache t_cache;


}  // namespace

struct BrokerMetrics::Shard {
  // Held by the owning thread while it inserts, by a scrape while it reads.
  Mutex mu;
  StringMap<std::unique_ptr<TopicCells>> topics;
  std::unordered_map<uint64_t, std::unique_ptr<RpcCells>> rpc;

  TopicCells& Topic(std::string_view topic) {
    auto it = topics.find(topic);
    if (it != topics.end()) return *it->second;
    MutexLock lock(&mu);
    return *topics.emplace(std::string(topic), std::make_unique<TopicCells>())
                .first->second;
  }
};

std::string_view MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kNormal:
      return "normal";
    case MessageType::kFifo:
      return "fifo";
    case MessageType::kDelay:
      return "delay";
    case MessageType::kTransaction:
      return "transaction";
  }
  return "normal";
}

bool IsSystemTopic(std::string_view topic, std::string_view cluster_name, std::string_view broker_name) {
  return topic == "TBW102" || topic == store::kScheduleTopic ||
         topic == "BenchmarkTest" || topic == "OFFSET_MOVED_EVENT" ||
         topic == "SELF_TEST_TOPIC" || topic == "RMQ_SYS_TRACE_TOPIC" ||
         topic.starts_with("rmq_sys_") || topic.starts_with("RMQ_SYS_") ||
         topic.starts_with("TRANS_") ||
         topic == cluster_name || topic == broker_name ||
         topic.ends_with("_REPLY_TOPIC");
}

std::string_view LabelValue(const PromLabels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

BrokerMetrics::BrokerMetrics()
    : serial_(g_next_serial.fetch_add(1, kRelaxed)) {}

BrokerMetrics::~BrokerMetrics() = default;

int64_t BrokerMetrics::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

BrokerMetrics::Shard* BrokerMetrics::LocalShard() const {
  if (t_cache.serial == serial_) return static_cast<Shard*>(t_cache.shard);
  MutexLock lock(&mu_);
  std::unique_ptr<Shard>& s = shards_[std::this_thread::get_id()];
  if (!s) s = std::make_unique<Shard>();
  t_cache.serial = serial_;
  t_cache.shard = s.get();
  return s.get();
}

void BrokerMetrics::CountIn(std::string_view topic, MessageType type,
                            int64_t msgs, int64_t bytes) {
  if (msgs <= 0) return;
  InCells& c = LocalShard()->Topic(topic).in[static_cast<size_t>(type)];
  Bump(c.msgs, msgs);
  Bump(c.bytes, bytes);
  c.size.Observe(kMessageSizeBounds,
                 static_cast<double>(bytes) / static_cast<double>(msgs), msgs);
}

void BrokerMetrics::CountOut(std::string_view topic, std::string_view group,
                             int64_t msgs, int64_t bytes) {
  if (msgs <= 0) return;
  Shard* shard = LocalShard();
  TopicCells& t = shard->Topic(topic);
  auto it = t.out.find(group);
  OutCells* c;
  if (it != t.out.end()) {
    c = it->second.get();
  } else {
    MutexLock lock(&shard->mu);
    c = t.out.emplace(std::string(group), std::make_unique<OutCells>())
            .first->second.get();
  }
  Bump(c->msgs, msgs);
  Bump(c->bytes, bytes);
}

void BrokerMetrics::OnResponse(int32_t request_code, int32_t response_code,
                               int64_t start_ns) const {
  const double ms = static_cast<double>(NowNs() - start_ns) / 1e6;
  Shard* shard = LocalShard();
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(
                            request_code))
                        << 32) |
                       static_cast<uint32_t>(response_code);
  auto it = shard->rpc.find(key);
  RpcCells* c;
  if (it != shard->rpc.end()) {
    c = it->second.get();
  } else {
    MutexLock lock(&shard->mu);
    c = shard->rpc.emplace(key, std::make_unique<RpcCells>())
            .first->second.get();
  }
  c->Observe(kRpcLatencyBoundsMs, ms, 1);
}

void BrokerMetrics::Write(PromText& out, const PromLabels& node) const {
  struct InSum {
    int64_t msgs = 0;
    int64_t bytes = 0;
    HistogramSum<kSizeBuckets> size;
  };
  struct OutSum {
    int64_t msgs = 0;
    int64_t bytes = 0;
  };
  std::map<std::pair<std::string, size_t>, InSum> in;
  std::map<std::pair<std::string, std::string>, OutSum> outs;
  std::map<std::pair<int32_t, int32_t>, HistogramSum<kRpcBuckets>> rpc;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, shard] : shards_) {
      MutexLock shard_lock(&shard->mu);
      for (const auto& [topic, cells] : shard->topics) {
        for (size_t t = 0; t < kMessageTypes; ++t) {
          const InCells& c = cells->in[t];
          const int64_t msgs = c.msgs.load(kRelaxed);
          if (msgs == 0) continue;
          InSum& s = in[{topic, t}];
          s.msgs += msgs;
          s.bytes += c.bytes.load(kRelaxed);
          s.size.Add(c.size);
        }
        for (const auto& [group, c] : cells->out) {
          OutSum& s = outs[{topic, group}];
          s.msgs += c->msgs.load(kRelaxed);
          s.bytes += c->bytes.load(kRelaxed);
        }
      }
      for (const auto& [key, c] : shard->rpc) {
        rpc[{static_cast<int32_t>(key >> 32),
             static_cast<int32_t>(key & 0xffffffffu)}]
            .Add(*c);
      }
    }
  }

  auto with = [&node](PromLabels extra) {
    PromLabels l = node;
    for (auto& e : extra) l.push_back(std::move(e));
    return l;
  };
  const std::string_view cluster = LabelValue(node, "cluster");
  const std::string_view broker = LabelValue(node, "node_id");
  auto in_labels = [&](const std::string& topic, size_t type) {
    return with({{"topic", topic},
                 {"message_type", std::string(MessageTypeName(
                                      static_cast<MessageType>(type)))},
                 {"is_system", BoolLabel(IsSystemTopic(topic, cluster, broker))}});
  };
  auto out_labels = [&](const std::string& topic, const std::string& group) {
    return with({{"topic", topic},
                 {"consumer_group", group},
                 {"is_retry", BoolLabel(topic.starts_with(kRetryGroupTopicPrefix))},
                 {"is_system", BoolLabel(IsSystemTopic(topic, cluster, broker))}});
  };

  out.Family("rocketmq_messages_in_total", "counter",
             "Messages stored, by topic and message type.");
  for (const auto& [k, s] : in)
    out.Sample("rocketmq_messages_in_total", in_labels(k.first, k.second),
               s.msgs);
  out.Family("rocketmq_throughput_in_total", "counter",
             "Message body bytes stored, by topic and message type.");
  for (const auto& [k, s] : in)
    out.Sample("rocketmq_throughput_in_total", in_labels(k.first, k.second),
               s.bytes);
  out.Family("rocketmq_message_size", "histogram",
             "Body size of the messages stored, in bytes.");
  for (const auto& [k, s] : in)
    out.Histogram("rocketmq_message_size", in_labels(k.first, k.second),
                  kMessageSizeBounds, s.size.counts, s.size.sum);
  out.Family("rocketmq_messages_out_total", "counter",
             "Messages handed out by pulls, by topic and consumer group.");
  for (const auto& [k, s] : outs)
    out.Sample("rocketmq_messages_out_total", out_labels(k.first, k.second),
               s.msgs);
  out.Family("rocketmq_throughput_out_total", "counter",
             "Record bytes handed out by pulls, by topic and consumer group.");
  for (const auto& [k, s] : outs)
    out.Sample("rocketmq_throughput_out_total", out_labels(k.first, k.second),
               s.bytes);
  out.Family("rocketmq_rpc_latency", "histogram",
             "Time from a request's arrival to its answer, in milliseconds.");
  for (const auto& [k, s] : rpc) {
    out.Histogram("rocketmq_rpc_latency",
                  with({{"protocol_type", "remoting"},
                        {"request_code", std::to_string(k.first)},
                        {"response_code", std::to_string(k.second)}}),
                  kRpcLatencyBoundsMs, s.counts, s.sum);
  }
}

}  // namespace thruster::broker::metrics
