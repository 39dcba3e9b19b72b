#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "common/mutex.h"

// Broker-wide message counters and their rates for GET_BROKER_RUNTIME_INFO
// (spec/remoting.md §3.4.21): messages put and messages handed out by pulls,
// with per-second samples to give the 10 s / 1 min / 10 min rates RocketMQ
// reports.
//
// Threads: Add*() from any thread (one relaxed atomic add); Sample() once a
// second from the broker's `broker-sched` thread; the getters from any thread.
// Thread-safe.
namespace thruster::broker {
namespace metrics {
class BrokerMetrics;
}
class FetchJournal;

class BrokerStats {
 public:
  // The Prometheus counters when metricsExporterType=PROM, else nullptr; set
  // before the processors run, outlives them.
  metrics::BrokerMetrics* metrics() const { return metrics_; }
  void set_metrics(metrics::BrokerMetrics* m) { metrics_ = m; }
  // Who fetched what, for the message journey (messageJourneyEnable), else
  // nullptr; set before the processors run, outlives them.
  FetchJournal* fetch_journal() const { return fetch_journal_; }
  void set_fetch_journal(FetchJournal* j) { fetch_journal_ = j; }

  void AddPut(int64_t n) { put_total_.fetch_add(n, std::memory_order_relaxed); }
  void AddGet(int64_t n) { get_total_.fetch_add(n, std::memory_order_relaxed); }
  int64_t put_total() const {
    return put_total_.load(std::memory_order_relaxed);
  }
  int64_t get_total() const {
    return get_total_.load(std::memory_order_relaxed);
  }

  // Records the counters at `now_ms`. The first sample of a (local) day also
  // moves the day marks: today's morning becomes yesterday's, the counters now
  // become today's morning (RocketMQ's BrokerStats.record at midnight).
  void Sample(int64_t now_ms);
  // The counters at the start of today and of yesterday (the first sample of
  // each day; the broker's start for the day it started on), for
  // msgPutTotalTodayMorning / msgPutTotalYesterdayMorning and the Get twins.
  struct DayMarks {
    int64_t put_today_morning = 0;
    int64_t put_yesterday_morning = 0;
    int64_t get_today_morning = 0;
    int64_t get_yesterday_morning = 0;
  };
  DayMarks day_marks() const;
  // "tps10s tps1min tps10min" with two decimals, as RocketMQ's
  // putTps/getTransferredTps.
  std::string PutTps() const;
  std::string GetTps() const;

 private:
  static constexpr size_t kSamples =
      601;  // 10 minutes of one-second samples, plus the current one
  struct SamplePoint {
    int64_t time_ms = 0;
    int64_t puts = 0;
    int64_t gets = 0;
  };
  std::string Rates(bool puts) const;

  metrics::BrokerMetrics* metrics_ = nullptr;
  FetchJournal* fetch_journal_ = nullptr;
  std::atomic<int64_t> put_total_{0};
  std::atomic<int64_t> get_total_{0};
  mutable Mutex mu_;
  std::array<SamplePoint, kSamples> samples_ TH_GUARDED_BY(mu_);
  size_t count_ TH_GUARDED_BY(mu_) =
      0;  // samples taken so far (saturates at kSamples)
  size_t next_ TH_GUARDED_BY(mu_) = 0;   // ring position of the next sample
  int64_t day_ TH_GUARDED_BY(mu_) = -1;  // local day of the last sample
  DayMarks marks_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
