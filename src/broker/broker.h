#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker_config.h"
#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/pull_request_hold_service.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/topic_config_manager.h"
#include "broker/uniq_key_generator.h"
#include "common/clock.h"
#include "common/service_thread.h"
#include "namesrv/name_server.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "store/message_store.h"

// A RocketMQ-compatible broker (spec/remoting.md §3.4, §6): the request
// processors on top of one MessageStore, plus topics, consumer offsets, the
// client registry, long polling, registration with the name servers (an
// embedded one unless namesrvAddr names external ones) and the periodic jobs.
//
// Processors are split by concern over send_processor.cc, pull_processor.cc and
// admin_processor.cc; this header is their one class.
//
// Lifecycle: construct → Start() → serve → Shutdown() (idempotent; also run by
// the destructor). Thread-safety: Start/Shutdown from one thread; everything
// else runs on net threads, the store's `dispatch` thread (arrivals),
// `pull-hold` and `broker-sched`. `fs` and `clock` must outlive the broker.
namespace thruster::broker {

class Broker {
 public:
  Broker(BrokerConfig config, store::MessageStoreConfig store_config,
         store::io::FileSystem* fs = store::io::DefaultFileSystem(),
         const Clock* clock = SystemClock::Default());
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Loads the store (Busy when another process holds it), topics and offsets,
  // starts the store, the embedded name server (when no namesrvAddr is
  // configured), the remoting server and the periodic jobs, and registers with
  // every name server. On error everything started so far is stopped again.
  Status Start();
  // Stops serving, unregisters from external name servers, persists offsets and
  // topics and shuts the store down cleanly (checkpoint written, `abort`
  // removed).
  void Shutdown();

  uint16_t port() const { return server_ ? server_->port() : 0; }
  // The embedded name server's port; 0 when an external one is used.
  uint16_t namesrv_port() const { return namesrv_ ? namesrv_->port() : 0; }
  // "brokerIP1:port" as written into records, ids and registrations.
  const std::string& broker_addr() const { return broker_addr_; }
  const BrokerConfig& config() const { return config_; }
  store::MessageStore& store() { return *store_; }
  TopicConfigManager& topics() { return *topics_; }
  ConsumerOffsetManager& offsets() { return *offsets_; }
  ClientManager& clients() { return clients_; }
  // Registers with every name server now (also done every
  // registerNameServerPeriod and after topic changes); the first error, if any.
  Status RegisterAllNameServers();
  size_t HeldPullsForTesting() const { return hold_ ? hold_->held_count() : 0; }

 private:
  class Scheduler;
  using Req = remoting::RemotingCommand;
  using Responder = remoting::Responder;

  void RegisterProcessors();
  void OnConnectionClosed(const std::shared_ptr<remoting::Connection>& conn);
  void NotifyConsumerIdsChanged(const std::vector<std::string>& groups);
  // Asks the scheduler to register with the name servers soon (after a topic
  // change).
  void RequestRegistration();
  void RunPeriodicJobs(int64_t now_ms);

  // send_processor.cc
  void HandleSend(Req req, Responder r);
  void HandleConsumerSendMsgBack(Req req, Responder r);
  // pull_processor.cc
  void HandlePull(Req req, Responder r);
  // Runs one pull; `first` is false for a re-run from the hold service (never
  // parks, never commits).
  void ProcessPull(Req req, Responder r, bool first);
  // admin_processor.cc
  void HandleHeartbeat(Req req, Responder r);
  void HandleUnregisterClient(Req req, Responder r);
  void HandleGetConsumerList(Req req, Responder r);
  void HandleQueryConsumerOffset(Req req, Responder r);
  void HandleUpdateConsumerOffset(Req req, Responder r);
  void HandleGetMaxOffset(Req req, Responder r);
  void HandleGetMinOffset(Req req, Responder r);
  // GET_MAX_OFFSET / GET_MIN_OFFSET: reads topic and queueId, answers
  // `offset_of(topic, queueId)`.
  void AnswerQueueOffset(
      const Req& req, Responder& r,
      const std::function<int64_t(std::string_view, int32_t)>& offset_of);
  void HandleSearchOffsetByTimestamp(Req req, Responder r);
  void HandleGetEarliestMsgStoretime(Req req, Responder r);
  void HandleQueryMessage(Req req, Responder r);
  void HandleViewMessageById(Req req, Responder r);
  void HandleLockBatchMq(Req req, Responder r);
  void HandleUnlockBatchMq(Req req, Responder r);
  void HandleUpdateAndCreateTopic(Req req, Responder r);
  void HandleDeleteTopic(Req req, Responder r);
  void HandleGetTopicConfig(Req req, Responder r);
  void HandleGetAllTopicConfig(Req req, Responder r);
  void HandleGetBrokerRuntimeInfo(Req req, Responder r);
  void HandleGetConsumeStats(Req req, Responder r);
  void HandleGetTopicStatsInfo(Req req, Responder r);
  void HandleGetConsumerConnectionList(Req req, Responder r);
  void HandleQueryTopicConsumeByWho(Req req, Responder r);

  BrokerConfig config_;
  store::MessageStoreConfig store_config_;
  store::io::FileSystem* fs_;
  const Clock* clock_;
  std::string broker_addr_;
  store::HostAddress store_host_;
  std::unique_ptr<UniqKeyGenerator> uniq_keys_;
  int64_t start_time_ms_ = 0;

  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  ClientManager clients_;
  RebalanceLockManager locks_;
  BrokerStats stats_;
  std::unique_ptr<PullRequestHoldService> hold_;
  std::unique_ptr<namesrv::NameServer> namesrv_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<remoting::RemotingClient> client_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::string> namesrv_addrs_;
  std::atomic<bool> registration_requested_{false};
  // When each periodic job last ran; `broker-sched` only.
  int64_t last_persist_ms_ = 0;
  int64_t last_scan_ms_ = 0;
  int64_t last_register_ms_ = 0;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace thruster::broker
