#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/acl/plain_access_validator.h"
#include "broker/broker_config.h"
#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/metrics/broker_metrics_exporter.h"
#include "broker/pop_service.h"
#include "broker/pull_request_hold_service.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/request_processor.h"
#include "broker/runtime_config.h"
#include "broker/schedule_message_service.h"
#include "broker/slave_offset_forwarder.h"
#include "broker/slave_synchronize.h"
#include "broker/subscription_group_manager.h"
#include "broker/timer_message_service.h"
#include "broker/topic_config_manager.h"
#include "broker/transactional_message_check_service.h"
#include "broker/transactional_message_service.h"
#include "common/clock.h"
#include "common/service_thread.h"
#include "ha/replication_manager.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_server.h"
#include "remoting/tls_file_watch_service.h"
#include "store/message_store.h"

// A RocketMQ-compatible broker (spec/remoting.md §3.4, §6): composes one
// MessageStore, the topic, offset, client and lock managers, long polling and
// the request processors (one per concern, each registered for its request
// codes in RegisterProcessors(), the one table), serves them on a
// RemotingServer, registers with the name servers of namesrvAddr and runs the
// periodic jobs. The name server itself is not part of the broker: the
// application starts one (thruster-broker does, unless namesrvAddr is given)
// and points the broker at it.
//
// Lifecycle: construct → [Load()] → Start() → serve → Shutdown() (idempotent;
// also run by the destructor). Thread-safety: Load/Start/Shutdown from one
// thread; everything else runs on net threads, the store's `dispatch` thread
// (arrivals), `pull-hold` and `broker-sched`. `fs` and `clock` must outlive the
// broker.
namespace thruster::ha {
class EtcdController;
}  // namespace thruster::ha

namespace thruster::broker {

class PullMessageProcessor;
class PopMessageProcessor;
class FetchJournal;
class MessageJourney;

class Broker {
 public:
  Broker(BrokerConfig config, store::MessageStoreConfig store_config,
         store::io::FileSystem* fs = store::io::DefaultFileSystem(),
         const Clock* clock = SystemClock::Default());
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Loads the store (Busy when another process holds it), topics and offsets.
  // Start() does it when it was not done; calling it first tells whether the
  // store can be had before anything else is started. On error nothing stays
  // open.
  Status Load();
  // Points the broker at its name servers ("host:port;host:port"), replacing
  // namesrvAddr; before Start() only.
  void set_namesrv_addr(std::string addr);
  // Starts the store, the remoting server and the periodic jobs, and registers
  // with every name server. On error everything started so far is stopped
  // again.
  Status Start();
  // Stops serving, unregisters from the name servers, persists offsets and
  // topics and shuts the store down cleanly (checkpoint written, `abort`
  // removed).
  void Shutdown();

  uint16_t port() const { return server_ ? server_->port() : 0; }
  // The VIP channel's port (listenPort - 2, vipChannelEnabled), 0 when it is
  // not open.
  uint16_t vip_port() const { return vip_server_ ? vip_server_->port() : 0; }
  // "brokerIP1:port" as written into records, ids and registrations.
  const std::string& broker_addr() const { return broker_addr_; }
  const BrokerConfig& config() const { return config_; }
  store::MessageStore& store() { return *store_; }
  TopicConfigManager& topics() { return *topics_; }
  ConsumerOffsetManager& offsets() { return *offsets_; }
  ClientManager& clients() { return clients_; }
  SubscriptionGroupManager& groups() { return *groups_; }
  // Registers with every name server now (also done every
  // registerNameServerPeriod and after topic changes); the first error, if any.
  Status RegisterAllNameServers();
  // The ACL validator when aclEnable is on (else nullptr); the application
  // lends it to its name server for the admin writes there.
  acl::PlainAccessValidator* acl() { return acl_.get(); }
  size_t HeldPullsForTesting() const { return hold_ ? hold_->held_count() : 0; }
  // Delay-level delivery; after Start() only.
  ScheduleMessageService& schedule() { return *schedule_; }
  // Null when timerWheelEnable is false.
  TimerMessageService* timer() { return timer_.get(); }
  // The settings GET/UPDATE_BROKER_CONFIG read and change (also SIGHUP's
  // reload in thruster-broker); after Start() only.
  RuntimeConfig& runtime_config() { return *runtime_config_; }
  // The Prometheus endpoint's port (metricsExporterType=PROM), else 0.
  uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  // Pop checkpoints, acks and revive; after Start() only.
  PopService& pop() { return *pop_; }
  size_t HeldPopsForTesting() const {
    return pop_hold_ ? pop_hold_->held_count() : 0;
  }
  // Replication (spec/ha.md); after Start() only.
  ha::ReplicationManager& replication() { return *replication_; }
  // "brokerIP2:haPort", registered with the name servers.
  std::string ha_server_addr() const;
  // The master's remoting address as the name server last named it (a slave's
  // metadata source); empty when unknown or on a master.
  std::string master_addr() const TH_EXCLUDES(master_mu_);

  // Runs `request` through the processor registered for its code, as if it
  // had come over remoting (how the gRPC endpoint reaches the broker, as
  // RocketMQ's proxy in local mode); `responder` (a sink) gets the answer, now
  // or later from another thread. An unregistered code is answered
  // REQUEST_CODE_NOT_SUPPORTED. After Start() only; thread-safe.
  void ProcessLocally(remoting::RemotingCommand request,
                      remoting::Responder responder) const;
  // Where CHECK_TRANSACTION_STATE goes for a producer group without a live
  // remoting connection (gRPC producers); NotFound when it has nobody either.
  using TransactionCheckRelay = std::function<Status(
      std::string_view group, remoting::RemotingCommand request)>;
  void set_transaction_check_relay(TransactionCheckRelay relay)
      TH_EXCLUDES(relay_mu_);

 private:
  class Scheduler;

  // Creates the processors and registers each for its request codes.
  void RegisterProcessors();
  void RegisterProcessor(std::initializer_list<int32_t> codes,
                         std::unique_ptr<RequestProcessor> processor);
  // Asks the scheduler to register with the name servers soon (after a topic
  // change).
  void RequestRegistration();
  // `broker-sched`: stats, offset persistence, client expiry, registration.
  void RunPeriodicJobs(int64_t now_ms);
  // `broker-slave-sync`: the offset forward and the metadata copy of a slave.
  void RunSlaveJobs(int64_t now_ms);
  // A registration answer's masterAddr / haServerAddr (slaves).
  void OnMasterAddresses(std::string master_addr, std::string ha_addr)
      TH_EXCLUDES(master_mu_);

  BrokerConfig config_;
  store::MessageStoreConfig store_config_;
  store::io::FileSystem* fs_;
  const Clock* clock_;
  std::string broker_addr_;
  // brokerIP1 with the server's port once it is bound.
  message::HostAddress store_host_;
  std::unique_ptr<BrokerContext> context_;

  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  std::unique_ptr<SubscriptionGroupManager> groups_;
  // Settings as GET/UPDATE_BROKER_CONFIG see them; the periodic jobs read
  // their hot-changeable intervals here. Made in Start().
  std::unique_ptr<RuntimeConfig> runtime_config_;
  ClientManager clients_;
  RebalanceLockManager locks_;
  BrokerStats stats_;
  // metricsExporterType=PROM: the counters and the /metrics endpoint; made
  // in Start(), declared before the processors so it outlives them.
  std::unique_ptr<metrics::BrokerMetricsExporter> metrics_;
  // messageJourneyEnable: who fetched what (null when off); the journey
  // TRACE_MESSAGE answers. Made in Start(), before the processors.
  std::unique_ptr<FetchJournal> fetch_journal_;
  std::unique_ptr<MessageJourney> journey_;
  std::unique_ptr<PullRequestHoldService> hold_;
  // Half messages, op records and the `trans-check` thread.
  std::unique_ptr<TransactionalMessageService> transactions_;
  std::unique_ptr<TransactionalMessageCheckService> transaction_check_;
  std::unique_ptr<ScheduleMessageService> schedule_;
  // Pop consumption: bookkeeping and revive (`pop-revive`), parked pops
  // (`pop-hold`), and the processor that re-runs them.
  std::unique_ptr<PopService> pop_;
  std::unique_ptr<PullRequestHoldService> pop_hold_;
  PopMessageProcessor* pop_processor_ = nullptr;
  std::unique_ptr<TimerMessageService> timer_;
  // Every registered processor; the server's table points into these.
  std::vector<std::unique_ptr<RequestProcessor>> processors_;
  // Request code → processor, for ProcessLocally (filled with the table).
  std::unordered_map<int32_t, RequestProcessor*> local_table_;
  mutable Mutex relay_mu_;
  TransactionCheckRelay transaction_check_relay_ TH_GUARDED_BY(relay_mu_);
  // The one in processors_ that re-runs the pulls `hold_` hands back.
  PullMessageProcessor* pull_processor_ = nullptr;
  std::unique_ptr<remoting::RemotingServer> server_;
  // vipChannelEnabled: RocketMQ's second listener on listenPort - 2 (its
  // "fast" server), with every processor but the pulls; old Java clients send
  // there and a 4.9.8 slave fetches its master's topics there.
  std::unique_ptr<remoting::RemotingServer> vip_server_;
  // aclEnable: checks every request before its processor; reloads the file.
  std::unique_ptr<acl::PlainAccessValidator> acl_;
  std::unique_ptr<acl::AclWatchService> acl_watch_;
  // TLS on: rebuilds the server's TLS context when its files change.
  std::unique_ptr<remoting::TlsFileWatchService> tls_watch_;
  std::unique_ptr<remoting::RemotingClient> client_;
  std::unique_ptr<ha::ReplicationManager> replication_;
  // enableControllerMode: the etcd election that drives replication_.
  std::unique_ptr<ha::EtcdController> controller_;
  // The brokerId registered with name servers: the configured one, or in
  // controller mode 0 as master, the replica id as slave, -1 (no
  // registration) while the master is unknown.
  int64_t RegistrationBrokerId() const;
  void MakeController();
  // replication_ once it is started, for the net threads (HA status): the
  // server is already serving while Start() creates it.
  std::atomic<ha::ReplicationManager*> replication_ready_{nullptr};
  // Slaves: the metadata copy from the master (spec/ha.md §5), run by the
  // `broker-slave-sync` thread 3 s after start and every 10 s.
  std::unique_ptr<SlaveSynchronize> slave_sync_;
  // Consumer offsets committed here while a slave, forwarded to the master
  // every second (owned by processors_).
  SlaveOffsetForwarder* offset_forwarder_ = nullptr;
  bool offset_forward_failing_ = false;  // `broker-slave-sync` only
  int64_t next_slave_sync_ms_ = 0;
  mutable Mutex master_mu_;
  std::string master_addr_ TH_GUARDED_BY(master_mu_);
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Scheduler> slave_scheduler_;  // slaves and controller mode
  std::vector<std::string> namesrv_addrs_;
  std::atomic<bool> registration_requested_{false};
  // When each periodic job last ran; `broker-sched` only.
  int64_t last_persist_ms_ = 0;
  int64_t last_scan_ms_ = 0;
  int64_t last_register_ms_ = 0;
  bool loaded_ = false;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace thruster::broker
