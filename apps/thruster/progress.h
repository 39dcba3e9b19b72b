#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "common/mutex.h"

// A progress line for long work (`thruster store verify|dump`, the
// benchmarks): "\r<label> <done>/<total> <unit> (<pct>%), <rate> <unit>/s,
// ETA <h:mm:ss>" on stderr, redrawn twice a second by its own thread from an
// atomic counter the worker advances, and erased when the ProgressLine goes.
// Shown only on a terminal (stderr is a tty) and when the caller allows it
// (false with --json), so piped and machine-read output stays clean.
//
// Lifecycle: construct when the work starts → the worker advances `done` →
// destroy when it ends. `done` must outlive it. Thread-safe.
namespace thruster::cli {

class ProgressLine {
 public:
  ProgressLine(std::string label, std::string unit, int64_t total,
               const std::atomic<int64_t>* done, bool allowed);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool shown() const { return shown_; }
  // The line's text for `done` of `total` after `secs` seconds (no "\r").
  // total <= 0: the total is unknown (no percentage, no ETA).
  static std::string Format(std::string_view label, std::string_view unit,
                            int64_t done, int64_t total, double secs);
  // Whether a line would be shown: `allowed` and stderr is a terminal.
  static bool ShouldShow(bool allowed);

 private:
  void Run();

  const std::string label_;
  const std::string unit_;
  const int64_t total_;
  const std::atomic<int64_t>* const done_;
  const bool shown_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  bool stop_ TH_GUARDED_BY(mu_) = false;
};

}  // namespace thruster::cli
