#include "thruster/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace thruster::cli {

ProgressLine::ProgressLine(std::string label, std::string unit, int64_t total,
                           const std::atomic<int64_t>* done, bool allowed)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      done_(done),
      shown_(ShouldShow(allowed)) {
  if (shown_) thread_ = std::thread([this] { Run(); });
}

ProgressLine::~ProgressLine() {
  if (!shown_) return;
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

bool ProgressLine::ShouldShow(bool allowed) {
  return allowed && isatty(STDERR_FILENO) == 1;
}

std::string ProgressLine::Format(std::string_view label, std::string_view unit,
                                 int64_t done, int64_t total, double secs) {
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  std::string line =
      total > 0 ? fmt::format("{} {}/{} {} ({:.0f}%)", label, done, total, unit,
                              100.0 * static_cast<double>(done) /
                                  static_cast<double>(total))
                : fmt::format("{} {} {}", label, done, unit);
  line += fmt::format(", {:.0f} {}/s", rate, unit);
  if (total > 0) {
    if (done >= total) {
      line += ", ETA 0:00:00";
    } else if (rate > 0) {
      const auto left =
          static_cast<int64_t>(static_cast<double>(total - done) / rate + 0.5);
      line += fmt::format(", ETA {}:{:02}:{:02}", left / 3600, left / 60 % 60,
                          left % 60);
    } else {
      line += ", ETA -";
    }
  }
  return line;
}

void ProgressLine::Run() {
  using SteadyClock = std::chrono::steady_clock;
  const auto start = SteadyClock::now();
  MutexLock lock(&mu_);
  while (true) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(500);
    while (!stop_ &&
           cv_.WaitUntil(&mu_, deadline) == std::cv_status::no_timeout) {
    }
    if (stop_) break;
    const double secs =
        std::chrono::duration<double>(SteadyClock::now() - start).count();
    fmt::print(stderr, "\r{}   ",
               Format(label_, unit_, done_->load(std::memory_order_relaxed),
                      total_, secs));
    std::fflush(stderr);
  }
}

}  // namespace thruster::cli
