#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace thruster {

// A log-linear latency histogram in the manner of HdrHistogram: values below
// 128 are exact, larger ones keep 6 significant bits (under 1.6 % error).
// Record() is a few instructions and never allocates. Not thread-safe: give
// each thread its own and Merge() them.
class LatencyHistogram {
 public:
  void Record(int64_t v) {
    if (v < 0) v = 0;
    ++counts_[Index(static_cast<uint64_t>(v))];
    ++count_;
    max_ = std::max(max_, v);
  }
  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }
  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The value at quantile q in [0, 1] (upper edge of its bucket, capped at the
  // maximum seen).
  int64_t Percentile(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<int64_t>(q * static_cast<double>(count_ - 1)) + 1;
    int64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr size_t kBuckets = 64 * 58 + 128;
  static size_t Index(uint64_t v) {
    if (v < 128) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int e = msb - 6;
    return static_cast<size_t>(e) * 64 + static_cast<size_t>(v >> e);
  }
  static int64_t UpperEdge(size_t idx) {
    if (idx < 128) return static_cast<int64_t>(idx);
    size_t e = idx / 64 - 1;
    size_t m = idx - e * 64;
    return static_cast<int64_t>(((m + 1) << e) - 1);
  }
  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace thruster
