#pragma once

// A small in-memory broker for client tests: a RemotingServer answering
// SEND_MESSAGE_V2, PULL_MESSAGE and the offset calls as spec/remoting.md
// §3.4.1, §3.4.3 and §3.4.9-§3.4.11 say, registered in a real NameServer on an
// ephemeral port. Records are encoded with the store's record codec, so pulls
// return real stored-record bytes (§5.7).
//
// Lifecycle: construct → AddTopic()… → Start() → clients talk to namesrv_addr()
// → destroy. Thread-safe.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "namesrv/name_server.h"
#include "remoting/remoting_server.h"

namespace thruster::client::testing {

class FakeBroker {
 public:
  FakeBroker();
  ~FakeBroker();

  void AddTopic(const std::string& topic, int32_t queues);
  // Answers sends only after `delay_ms`, from a separate thread, and records
  // how many were outstanding at once.
  void set_send_delay_ms(int delay_ms) { send_delay_ms_ = delay_ms; }
  Status Start();

  std::string namesrv_addr() const;
  std::string broker_addr() const;
  // Ext fields of the last SEND_MESSAGE_V2 received.
  std::map<std::string, std::string, std::less<>> last_send_header();
  int max_outstanding_sends() const { return max_outstanding_.load(); }
  int64_t sends() const { return sends_.load(); }

 private:
  struct Queue {
    std::vector<std::string> records;
  };

  void HandleSend(remoting::RemotingCommand req, remoting::Responder r);
  void HandlePull(remoting::RemotingCommand req, remoting::Responder r);
  void HandleOffset(remoting::RemotingCommand req, remoting::Responder r);
  void DelayLoop();

  namesrv::NameServer namesrv_;
  remoting::RemotingServer server_;
  std::map<std::string, int32_t> topics_;
  int send_delay_ms_ = 0;

  std::mutex mu_;
  std::map<std::pair<std::string, int32_t>, Queue> queues_;
  std::map<std::string, int64_t> offsets_;  // "group@topic@queue"
  int64_t phys_ = 0;
  std::map<std::string, std::string, std::less<>> last_header_;
  std::vector<std::pair<remoting::RemotingCommand, remoting::Responder>>
      delayed_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread delay_thread_;
  std::atomic<int> outstanding_{0};
  std::atomic<int> max_outstanding_{0};
  std::atomic<int64_t> sends_{0};
};

}  // namespace thruster::client::testing
