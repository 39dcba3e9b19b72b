#pragma once

// What `thruster bench produce|consume` measures besides rates: the CPU time
// the bench process and (given its pid) the broker spend over a measured
// window, the broker's resident memory, and idle producer connections held
// open to a broker (the connections cost curve).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace thruster::cli {

// CPU seconds (user + system) of this process so far (getrusage).
double SelfCpuSeconds();
// CPU seconds (user + system) of process `pid` so far, from /proc/<pid>/stat;
// NotFound when there is no such process.
Result<double> ProcessCpuSeconds(int pid);
// VmRSS of process `pid` in KiB, from /proc/<pid>/status.
Result<int64_t> ProcessRssKb(int pid);
// The CPUs this process may run on (its affinity mask).
int AvailableCpus();

// One measured window: CPU per message of the client and, when `broker_pid`
// > 0, of the broker. Not thread-safe (one window at a time, on one thread).
class CpuWindow {
 public:
  explicit CpuWindow(int broker_pid);
  // Ends the window over `messages` messages in `seconds` of wall time.
  void Finish(int64_t messages, double seconds);

  double client_us_per_msg() const { return client_us_per_msg_; }
  // -1 without a broker pid (or when it could not be read).
  double broker_us_per_msg() const { return broker_us_per_msg_; }
  // Client CPU used over the window as a share of the CPUs available to it.
  double client_cpu_share() const { return client_share_; }
  // True when the client used more than 0.9 of the CPUs available to it: the
  // rate measured is then the client's limit, not the broker's.
  bool client_bound() const { return client_share_ > 0.9; }

 private:
  int broker_pid_;
  double client0_ = 0;
  double broker0_ = -1;
  double client_us_per_msg_ = 0;
  double broker_us_per_msg_ = -1;
  double client_share_ = 0;
};

// `count` TCP connections to the broker at `addr` ("host:port"), each of which
// sent one HEART_BEAT registering a producer of `group` under its own client
// id and then stays open, idle, until this object is destroyed. Raises this
// process's open-file limit to its hard limit when needed. InvalidArgument
// when the limit is too low, IOError when a connection or heartbeat fails.
class IdleConnections {
 public:
  static Result<std::unique_ptr<IdleConnections>> Open(
      const std::string& addr, int count, const std::string& group);
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  size_t size() const { return fds_.size(); }

 private:
  IdleConnections() = default;
  std::vector<int> fds_;
};

}  // namespace thruster::cli
