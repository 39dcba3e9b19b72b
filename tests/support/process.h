#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "common/status.h"

// Real processes for the cluster, crash and process tests: a child started
// with fork + execv whose stdout and stderr go to a log file, waited on by
// polling that log with a deadline.
namespace thruster::testing {

// The whole file, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released); for servers that cannot be told to pick one themselves.
uint16_t PickFreePort();

// A numeric field of /proc/<pid>/status in its unit ("VmRSS", "RssAnon" in
// KiB; "Threads"), or -1 when the process or field is gone.
int64_t ProcStatusField(pid_t pid, const std::string& field);
// How many file descriptors `pid` holds open (-1 when it is gone).
int64_t OpenFdCount(pid_t pid);

// One child process. Lifecycle: Start → Signal/Stop (any number of starts
// after a stop) → destroy (SIGKILL and reap). Not thread-safe.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `argv[0]` with `argv`, its output (truncated first) in `log_path`.
  Status Start(const std::vector<std::string>& argv, std::string log_path);
  // Waits until the log matches `re` (the match in `*m`), the child exits or
  // `timeout` passes. The error says which and holds the log.
  Status WaitForLog(const std::regex& re, std::chrono::milliseconds timeout,
                    std::smatch* m, std::string* text);
  // Sends `sig` (SIGSTOP, SIGCONT, ...) without waiting.
  void Signal(int sig) const;
  // Sends `sig`, waits for the exit; the wait status (-1 if not running).
  int Stop(int sig);
  bool running() const { return pid_ > 0; }
  // Started and not exited since (reaps it if it has exited).
  bool Alive();
  pid_t pid() const { return pid_; }
  std::string log() const { return ReadFileOrEmpty(log_path_); }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// One thruster-broker (binary `bin`) on loopback with an ephemeral port, its
// store under `dir`/store, logs in `dir`/broker-<n>.log.
class BrokerProcess {
 public:
  BrokerProcess(std::string bin, std::string dir,
                std::vector<std::string> flags, int64_t segment_size);
  // Starts it and waits (up to 30 s) for its listening line.
  Status Start();
  int Stop(int sig = 15 /* SIGTERM */) { return child_.Stop(sig); }
  void Signal(int sig) const { child_.Signal(sig); }
  bool running() const { return child_.running(); }
  bool Alive() { return child_.Alive(); }
  pid_t pid() const { return child_.pid(); }
  uint16_t port() const { return port_; }
  const std::string& addr() const { return addr_; }
  const std::string& namesrv() const { return namesrv_; }
  std::string store() const { return dir_ + "/store"; }
  std::string log() const { return child_.log(); }

 private:
  std::string bin_;
  std::string dir_;
  std::vector<std::string> flags_;
  int64_t segment_size_;
  int starts_ = 0;
  ChildProcess child_;
  uint16_t port_ = 0;
  std::string addr_;
  std::string namesrv_;
};

}  // namespace thruster::testing
