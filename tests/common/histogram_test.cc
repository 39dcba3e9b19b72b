#include "common/histogram.h"

#include <gtest/gtest.h>

namespace thruster {
namespace {

TEST(LatencyHistogramTest, PercentilesWithinBucketError) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100000);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 50000.0, 50000.0 * 0.02);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 99000.0, 99000.0 * 0.02);
  EXPECT_EQ(h.Percentile(1.0), 100000);
  EXPECT_EQ(h.Percentile(0.0), 1);
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.Record(10);
  b.Record(1000000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 2);
  EXPECT_EQ(a.max(), 1000000);
  EXPECT_EQ(a.Percentile(0.0), 10);
}

}  // namespace
}  // namespace thruster
