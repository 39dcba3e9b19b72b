#include "thruster/progress.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>

namespace thruster::cli {
namespace {

TEST(ProgressLineTest, FormatShowsDoneTotalRateAndEta) {
  // 250 of 1000 after 5 s: 50/s, 750 left → 15 s.
  EXPECT_EQ(ProgressLine::Format("verify commitlog:", "bytes", 250, 1000, 5.0),
            "verify commitlog: 250/1000 bytes (25%), 50 bytes/s, ETA 0:00:15");
  // Hours and minutes.
  EXPECT_EQ(ProgressLine::Format("run 1/3", "messages", 1, 7202, 1.0),
            "run 1/3 1/7202 messages (0%), 1 messages/s, ETA 2:00:01");
  EXPECT_EQ(ProgressLine::Format("dump", "bytes", 10, 10, 2.0),
            "dump 10/10 bytes (100%), 5 bytes/s, ETA 0:00:00");
  // Nothing done yet: no rate, so no estimate.
  EXPECT_EQ(ProgressLine::Format("dump", "bytes", 0, 10, 0.0),
            "dump 0/10 bytes (0%), 0 bytes/s, ETA -");
  // Unknown total.
  EXPECT_EQ(ProgressLine::Format("scan", "files", 4, 0, 2.0),
            "scan 4 files, 2 files/s");
}

TEST(ProgressLineTest, NotShownWhenTheCallerSaysNo) {
  std::atomic<int64_t> done{0};
  EXPECT_FALSE(ProgressLine::ShouldShow(false));
  ProgressLine quiet("x", "bytes", 10, &done, /*allowed=*/false);
  EXPECT_FALSE(quiet.shown());
  // Under the test runner stderr is a file or a pipe, never a terminal.
  ProgressLine piped("x", "bytes", 10, &done, /*allowed=*/true);
  EXPECT_EQ(piped.shown(), ::isatty(2) == 1);
}

}  // namespace
}  // namespace thruster::cli
