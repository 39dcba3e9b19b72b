#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Prometheus text exposition format 0.0.4 (what a `/metrics` endpoint
// answers), and the lock-free histogram the exporters count into.
//
//   # HELP rocketmq_messages_in_total Messages put.
//   # TYPE rocketmq_messages_in_total counter
//   rocketmq_messages_in_total{cluster="c",topic="t"} 42
//
// PromText writes one family at a time: Family() (HELP and TYPE lines), then
// its samples. Label values are escaped (backslash, double quote, newline);
// names are the caller's (snake_case, RocketMQ's where it has one). Not
// thread-safe: one writer per scrape.
namespace thruster {

using PromLabels = std::vector<std::pair<std::string_view, std::string>>;

class PromText {
 public:
  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type,
              std::string_view help);
  void Sample(std::string_view name, const PromLabels& labels, double value);
  void Sample(std::string_view name, const PromLabels& labels, int64_t value);
  // A histogram's _bucket series (cumulative, `le` labels, +Inf last), _sum
  // and _count. `bounds` are the upper edges; `counts` has one more entry
  // than `bounds` (the overflow), not cumulative.
  void Histogram(std::string_view name, const PromLabels& labels,
                 std::span<const double> bounds,
                 std::span<const int64_t> counts, double sum);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Series(std::string_view name, std::string_view suffix,
              const PromLabels& labels, std::string_view extra_label,
              std::string_view extra_value);
  std::string out_;
};

// A fixed-bucket histogram counted with relaxed atomics: Observe() is a bucket
// search over a few bounds plus three relaxed adds. Meant for one writer (or
// writers already serialised by a lock), read by a scraper at any time: a
// scrape may see a count without its sum, never a torn value. Thread-safe.
template <size_t N>
class AtomicHistogram {
 public:
  explicit constexpr AtomicHistogram(std::array<double, N> bounds)
      : bounds_(bounds) {}
  void Observe(double v) {
    size_t i = 0;
    while (i < N && v > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    // A CAS loop would cost more than it is worth: the single writer's sum.
    sum_.store(sum_.load(std::memory_order_relaxed) + v,
               std::memory_order_relaxed);
  }
  const std::array<double, N>& bounds() const { return bounds_; }
  // Per-bucket counts (overflow last) and the sum, as PromText::Histogram
  // wants them.
  std::array<int64_t, N + 1> Counts() const {
    std::array<int64_t, N + 1> c{};
    for (size_t i = 0; i <= N; ++i)
      c[i] = counts_[i].load(std::memory_order_relaxed);
    return c;
  }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  void Write(PromText& out, std::string_view name,
             const PromLabels& labels) const {
    std::array<int64_t, N + 1> c = Counts();
    out.Histogram(name, labels, bounds_, c, sum());
  }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<int64_t>, N + 1> counts_{};
  std::atomic<double> sum_{0};
};

}  // namespace thruster
