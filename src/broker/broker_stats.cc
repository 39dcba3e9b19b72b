#include "broker/broker_stats.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace thruster::broker {

namespace {

// Days since the epoch in local time (only compared for change).
int64_t LocalDay(int64_t now_ms) {
  const time_t t = static_cast<time_t>(now_ms / 1000);
  struct tm local {};
  localtime_r(&t, &local);
  return static_cast<int64_t>(local.tm_year) * 400 + local.tm_yday;
}

}  // namespace

BrokerStats::DayMarks BrokerStats::day_marks() const {
  MutexLock lock(&mu_);
  return marks_;
}

void BrokerStats::Sample(int64_t now_ms) {
  MutexLock lock(&mu_);
  if (const int64_t day = LocalDay(now_ms); day != day_) {
    if (day_ >= 0) {
      marks_.put_yesterday_morning = marks_.put_today_morning;
      marks_.get_yesterday_morning = marks_.get_today_morning;
    }
    marks_.put_today_morning = put_total();
    marks_.get_today_morning = get_total();
    day_ = day;
  }
  samples_[next_] = SamplePoint{now_ms, put_total(), get_total()};
  next_ = (next_ + 1) % kSamples;
  if (count_ < kSamples) ++count_;
}

std::string BrokerStats::Rates(bool puts) const {
  MutexLock lock(&mu_);
  std::string out;
  for (int64_t window_s : {10, 60, 600}) {
    double tps = 0;
    if (count_ >= 2) {
      const size_t newest = (next_ + kSamples - 1) % kSamples;
      const size_t back = std::min(static_cast<size_t>(window_s), count_ - 1);
      const size_t oldest = (newest + kSamples - back) % kSamples;
      const SamplePoint& a = samples_[oldest];
      const SamplePoint& b = samples_[newest];
      const int64_t dt = b.time_ms - a.time_ms;
      if (dt > 0)
        tps = static_cast<double>(puts ? b.puts - a.puts : b.gets - a.gets) *
              1000.0 / static_cast<double>(dt);
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", tps);
    if (!out.empty()) out += ' ';
    out += buf;
  }
  return out;
}

std::string BrokerStats::PutTps() const { return Rates(true); }
std::string BrokerStats::GetTps() const { return Rates(false); }

}  // namespace thruster::broker
