#include "broker/broker.h"

#include <chrono>

#include "broker/acl/acl_config_processor.h"
#include "broker/admin_broker_processor.h"
#include "broker/broker_config_processor.h"
#include "broker/check_client_config_processor.h"
#include "broker/client_manage_processor.h"
#include "broker/consumer_manage_processor.h"
#include "broker/consumer_read_floor.h"
#include "broker/end_transaction_processor.h"
#include "broker/fetch_journal.h"
#include "broker/ha_status_processor.h"
#include "broker/message_journey.h"
#include "broker/message_journey_processor.h"
#include "broker/delay_offset_processor.h"
#include "broker/pop_ack_processor.h"
#include "broker/pop_message_processor.h"
#include "broker/pull_message_processor.h"
#include "broker/query_message_processor.h"
#include "broker/recall_message_processor.h"
#include "broker/reset_offset_processor.h"
#include "broker/reply_message_processor.h"
#include "broker/send_message_processor.h"
#include "broker/slave_offset_forwarder.h"
#include "broker/subscription_group_processor.h"
#include "common/crc32.h"
#include "common/logging.h"
#include "ha/etcd_controller.h"
#include "remoting/pop_protocol.h"
#include "remoting/register_broker_body.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace request_code = remoting::request_code;

constexpr int64_t kRegisterTimeoutMs = 24000;
constexpr int64_t kClientScanIntervalMs = 10000;
// RocketMQ 4.x's SlaveSynchronize schedule.
constexpr int64_t kSlaveSyncFirstDelayMs = 3000;
constexpr int64_t kSlaveSyncPeriodMs = 10000;
// RocketMQ creates SCHEDULE_TOPIC_XXXX with 18 queues, one per default level.
constexpr int32_t kScheduleTopicQueueNums = 18;

}  // namespace

// The broker's periodic threads: once a second each runs its job with the
// time. `broker-sched` samples the stats and runs whatever periodic job is due
// (offset persistence, client expiry, name-server registration); it is also
// woken for an early registration after a topic change or a role change.
// `broker-slave-sync` runs a slave's calls to its master (the offset forward,
// the metadata copy): a paused master holds those calls until they time out,
// and that must not hold back the registration that tells clients who the
// master is now.
class Broker::Scheduler : public ServiceThread {
 public:
  Scheduler(Broker* broker, std::string name, void (Broker::*job)(int64_t))
      : ServiceThread(std::move(name)), broker_(broker), job_(job) {}
  ~Scheduler() override { Stop(); }

 protected:
  void Run() override {
    while (!stopped()) {
      WaitForRunning(1000);
      if (stopped()) break;
      (broker_->*job_)(broker_->clock_->NowMs());
    }
  }

 private:
  Broker* broker_;
  void (Broker::*job_)(int64_t);
};

Broker::Broker(BrokerConfig config, store::MessageStoreConfig store_config,
               store::io::FileSystem* fs, const Clock* clock)
    : config_(std::move(config)),
      store_config_(std::move(store_config)),
      fs_(fs),
      clock_(clock) {
  // Masters register as brokerId 0 whatever the file says (spec/ha.md §1).
  if (store_config_.broker_role != store::BrokerRole::kSlave)
    config_.broker_id = 0;
}

Broker::~Broker() { Shutdown(); }

void Broker::set_namesrv_addr(std::string addr) {
  config_.namesrv_addr = std::move(addr);
}

Status Broker::Load() {
  if (loaded_) return Status::OK();
  store_ = std::make_unique<store::MessageStore>(fs_, store_config_, clock_);
  if (Status s = store_->Load(); !s.ok()) {
    store_.reset();
    return s;
  }
  const std::string config_dir = store_config_.ConfigDir();
  topics_ = std::make_unique<TopicConfigManager>(
      fs_, config_dir,
      TopicConfigManagerOptions{
          config_.broker_cluster_name, config_.broker_name,
          config_.auto_create_topic_enable, config_.default_topic_queue_nums},
      clock_);
  offsets_ = std::make_unique<ConsumerOffsetManager>(fs_, config_dir);
  groups_ = std::make_unique<SubscriptionGroupManager>(
      fs_, config_dir, config_.auto_create_subscription_group,
      config_.retry_max_times, clock_);
  Status s = topics_->Load();
  if (s.ok()) s = offsets_->Load();
  if (s.ok()) s = groups_->Load();
  if (!s.ok()) {
    store_->Shutdown();
    store_.reset();
    topics_.reset();
    offsets_.reset();
    groups_.reset();
    return s;
  }
  loaded_ = true;
  return Status::OK();
}

Status Broker::Start() {
  if (started_) return Status::InvalidArgument("broker already started");
  if (store_config_.broker_role == store::BrokerRole::kSlave &&
      config_.broker_id <= 0 && !config_.enable_controller_mode)
    return Status::InvalidArgument(
        "brokerRole SLAVE needs brokerId > 0 (brokerId " +
        std::to_string(config_.broker_id) + ")");
  TH_RETURN_IF_ERROR(Load());
  started_ = true;
  // Controller mode: no write is acknowledged until the election says this
  // broker is the master (spec/ha.md §7.3 step 8).
  if (config_.enable_controller_mode) store_->set_write_deadline(0);
  const int64_t start_time_ms = clock_->NowMs();

  // The port is known once the server is bound; the IP now.
  Result<message::HostAddress> host =
      message::HostAddress::Parse(config_.broker_ip1 + ":0");
  if (!host.ok()) {
    Shutdown();
    return Status::InvalidArgument("brokerIP1 " + config_.broker_ip1 +
                                   " is not an IP address");
  }
  store_host_ = *host;
  runtime_config_ =
      std::make_unique<RuntimeConfig>(config_, store_config_, start_time_ms);
  context_ = std::make_unique<BrokerContext>(
      BrokerContext{config_, *clock_, store_host_,
                    [this] { RequestRegistration(); }, start_time_ms});

  hold_ = std::make_unique<PullRequestHoldService>(
      [this](HeldPull p) { pull_processor_->ProcessHeld(std::move(p)); },
      [this](std::string_view topic, int32_t queue_id) {
        return store_->GetMaxOffsetInQueue(topic, queue_id);
      },
      clock_);
  pop_hold_ = std::make_unique<PullRequestHoldService>(
      [this](HeldPull p) { pop_processor_->ProcessHeld(std::move(p)); },
      [this](std::string_view topic, int32_t queue_id) {
        return QueuesEnd(*store_, *topics_, topic, queue_id);
      },
      clock_, "pop-hold");
  schedule_ = std::make_unique<ScheduleMessageService>(
      *store_, fs_, store_config_.ConfigDir(), clock_);
  if (Status s = schedule_->Load(); !s.ok()) {
    Shutdown();
    return s;
  }
  if (store_config_.timer_wheel_enable) {
    timer_ = std::make_unique<TimerMessageService>(*store_, fs_, clock_);
    if (Status s = timer_->Load(); !s.ok()) {
      Shutdown();
      return s;
    }
  }
  store_->SetMessageArrivingListener(
      [this](std::string_view topic, int32_t queue_id, int64_t next_offset,
             int64_t tags_code, int64_t) {
        hold_->NotifyMessageArriving(topic, queue_id, next_offset, tags_code);
        pop_hold_->NotifyMessageArriving(topic, queue_id, next_offset,
                                         tags_code);
        pop_hold_->NotifyMessageArriving(topic, -1, INT64_MAX, tags_code);
        // A parked message's tagsCode is its delivery time.
        if (topic == store::kScheduleTopic) schedule_->NotifyParked(tags_code);
        if (timer_ && topic == kTimerTopic) timer_->Notify();
      });
  // commitLogCacheKeepMb=-1: keep cached what online groups still have to
  // read. offsets_ and clients_ outlive the store's flush thread.
  store_->SetReaderFloorSource([this] {
    return LowestPhysOffsetToRead(*store_, *offsets_,
                                  [this](std::string_view group) {
                                    return !clients_.ConsumerIds(group).empty();
                                  });
  });
  if (Status s = store_->Start(); !s.ok()) {
    Shutdown();
    return s;
  }
  topics_
      ->FindOrCreate(
          store::kScheduleTopic,
          std::max(kScheduleTopicQueueNums, schedule_->levels().max_level()),
          remoting::kPermRead | remoting::kPermWrite)
      .status()
      .IgnoreError();  // only describes the queues; delivery does not need it
  // Delay-level and timer delivery write; a slave only copies (spec/ha.md §3.3).
  if (store_config_.broker_role != store::BrokerRole::kSlave) {
    schedule_->Start();
    if (timer_) {
      topics_
          ->FindOrCreate(kTimerTopic, 1,
                         remoting::kPermRead | remoting::kPermWrite)
          .status()
          .IgnoreError();  // only describes the queue; the timer store reads it
      timer_->Start();
    }
  }

  if (config_.acl_enable) {
    acl::AclOptions acl_options;
    acl_options.file_path = config_.acl_file.empty()
                                ? acl::DefaultAclFilePath("")
                                : config_.acl_file;
    acl_ = std::make_unique<acl::PlainAccessValidator>(acl_options, clock_);
    if (Status s = acl_->Load(); !s.ok()) {
      Shutdown();
      return Status::InvalidArgument("aclEnable: " + s.ToString());
    }
  }

  if (config_.metrics_exporter_type == "PROM") {
    metrics_ = std::make_unique<metrics::BrokerMetricsExporter>(
        metrics::BrokerMetricsExporter::Sources{
            config_, *store_, *topics_, *offsets_, *groups_, *clock_});
    if (Status s = metrics_->Start(config_.metrics_prom_exporter_host,
                                   config_.metrics_prom_exporter_port);
        !s.ok()) {
      Shutdown();
      return Status::IOError("metricsPromExporterPort " +
                             std::to_string(config_.metrics_prom_exporter_port) +
                             ": " + s.ToString());
    }
    stats_.set_metrics(&metrics_->counters());
  }
  if (config_.message_journey_enable) {
    fetch_journal_ = std::make_unique<FetchJournal>(
        [this](uint64_t id) { return clients_.ClientIdOfConnection(id); });
    stats_.set_fetch_journal(fetch_journal_.get());
  }

  remoting::RemotingServerOptions options;
  options.bind_address = config_.bind_address;
  options.port = static_cast<uint16_t>(config_.listen_port);
  options.io_threads = config_.io_threads;
  options.busy_poll_us = config_.net_busy_poll_us;
  options.connection.idle_timeout =
      std::chrono::seconds(config_.server_channel_max_idle_time_seconds);
  options.connection.max_pending_write_bytes =
      static_cast<size_t>(config_.server_channel_max_pending_write_bytes);
  // A client that asks for more than it reads at once is served at its pace:
  // its requests wait in its socket while a quarter of the bound is queued for
  // it (see ConnectionOptions::pause_reads_above_bytes).
  options.connection.pause_reads_above_bytes =
      options.connection.max_pending_write_bytes / 4;
  options.tls = config_.tls.server;
  server_ = std::make_unique<remoting::RemotingServer>(options);
  if (config_.vip_channel_enabled) {
    // RocketMQ's VIP ("fast") server: listenPort - 2, or ephemeral when the
    // main port is (tests).
    remoting::RemotingServerOptions vip = options;
    vip.port = static_cast<uint16_t>(
        config_.listen_port > 2 ? config_.listen_port - 2 : 0);
    vip.io_threads = 1;
    vip_server_ = std::make_unique<remoting::RemotingServer>(vip);
  }
  RegisterProcessors();
  if (acl_) {
    // One check before every processor (spec/acl.md §4.2).
    auto admit = [v = acl_.get()](
                     const std::shared_ptr<remoting::Connection>& c,
                     const RemotingCommand& req) { return v->Admit(c, req); };
    server_->SetRequestHook(admit);
    if (vip_server_) vip_server_->SetRequestHook(admit);
    acl_watch_ = std::make_unique<acl::AclWatchService>(acl_.get());
    acl_watch_->Start();
  }
  hold_->Start();
  pop_hold_->Start();
  if (config_.broker_id == 0) pop_->Start();  // revive runs on masters only
  auto on_close = [this](const std::shared_ptr<remoting::Connection>& c) {
    clients_.NotifyConsumerIdsChanged(clients_.OnConnectionClosed(c->id()));
  };
  server_->SetCloseListener(on_close);
  if (Status s = server_->Start(); !s.ok()) {
    Shutdown();
    return Status::IOError("broker port " +
                           std::to_string(config_.listen_port) + ": " +
                           s.ToString());
  }
  if (vip_server_) {
    vip_server_->SetCloseListener(on_close);
    // Unlike RocketMQ, a taken VIP port does not stop the broker: only old
    // clients and 4.9.8 slaves use it, the main port serves everything.
    if (Status s = vip_server_->Start(); !s.ok()) {
      TH_LOG(broker, kWarn,
             "VIP channel (listenPort - 2) not opened, serving on {} only: {}",
             config_.listen_port, s.ToString());
      vip_server_.reset();
    } else {
      TH_LOG(broker, kInfo, "VIP channel listening on {}:{}",
             config_.bind_address, vip_server_->port());
    }
  }
  if (config_.tls.server.mode != remoting::TlsMode::kDisabled) {
    tls_watch_ = std::make_unique<remoting::TlsFileWatchService>(
        server_.get(), config_.tls.server);
    tls_watch_->Start();
  }
  store_host_.port = server_->port();
  broker_addr_ = config_.broker_ip1 + ":" + std::to_string(server_->port());

  // Replication: the HA port is haListenPort, else listenPort + 1 (with an
  // ephemeral listenPort, an ephemeral HA port).
  ha::HaServiceOptions ha_options;
  ha_options.bind_address = config_.bind_address;
  ha_options.port = static_cast<uint16_t>(
      store_config_.ha_listen_port != 0 ? store_config_.ha_listen_port
      : config_.listen_port != 0        ? config_.listen_port + 1
                                        : 0);
  // Controller mode: the election (etcd) drives BecomeMaster/BecomeSlave;
  // until then writes are fenced. brokerId stands in for the controller id
  // until the controller's hooks set etcd's replica id (MakeController).
  ha_options.controller_mode = config_.enable_controller_mode;
  ha_options.controller_id = config_.broker_id;
  replication_ = std::make_unique<ha::ReplicationManager>(
      store_.get(), ha_options, clock_);
  if (Status s = replication_->Start(store_config_.ha_master_address);
      !s.ok()) {
    Shutdown();
    return s;
  }
  replication_ready_.store(replication_.get(), std::memory_order_release);

  namesrv_addrs_ = config_.NameServerAddresses();
  remoting::RemotingClientOptions client_options;
  client_options.tls = config_.tls.client;
  client_ = std::make_unique<remoting::RemotingClient>(client_options);
  if (Status s = client_->Start(); !s.ok()) {
    Shutdown();
    return s;
  }
  if (config_.broker_id != 0 || config_.enable_controller_mode) {
    slave_sync_ = std::make_unique<SlaveSynchronize>(
        *client_, *topics_, *offsets_, *groups_, schedule_.get());
    next_slave_sync_ms_ = clock_->NowMs() + kSlaveSyncFirstDelayMs;
  }
  // Built before the scheduler reads it, started once RequestRegistration can
  // wake the scheduler.
  if (config_.enable_controller_mode) MakeController();
  RegisterAllNameServers()
      .IgnoreError();  // logged; retried every registerNameServerPeriod
  scheduler_ = std::make_unique<Scheduler>(this, "broker-sched",
                                           &Broker::RunPeriodicJobs);
  scheduler_->Start();
  if (slave_sync_ || offset_forwarder_) {
    slave_scheduler_ = std::make_unique<Scheduler>(this, "broker-slave-sync",
                                                   &Broker::RunSlaveJobs);
    slave_scheduler_->Start();
  }
  if (controller_) {
    // etcd may still be starting: wait a few lease periods for it.
    if (Status s = controller_->Start(
            std::max<int64_t>(10000, 3 * config_.controller_lease_ttl_ms));
        !s.ok()) {
      Shutdown();
      return Status::InvalidArgument("enableControllerMode: " + s.ToString());
    }
  }
  if (config_.broker_id == 0) transaction_check_->Start();  // masters only
  TH_LOG(
      broker, kInfo,
      "broker {} ({} / id {}) listening on {}:{}, advertised as {}, store {}",
      config_.broker_name, config_.broker_cluster_name, config_.broker_id,
      config_.bind_address, server_->port(), broker_addr_,
      store_config_.store_path_root_dir);
  return Status::OK();
}

void Broker::Shutdown() {
  if (!loaded_ || shut_down_) return;
  shut_down_ = true;
  const int64_t registered_id = RegistrationBrokerId();
  if (controller_) controller_->Stop();  // a master steps down first
  if (metrics_) metrics_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (slave_scheduler_) slave_scheduler_->Stop();
  if (acl_watch_) acl_watch_->Stop();
  if (tls_watch_) tls_watch_->Stop();
  if (server_) server_->Stop();
  if (vip_server_) vip_server_->Stop();
  if (hold_) hold_->Stop();
  if (pop_hold_) pop_hold_->Stop();
  if (pop_) pop_->Stop();
  if (transaction_check_) transaction_check_->Stop();
  if (schedule_) schedule_->Stop();  // saves delayOffset.json
  if (timer_) timer_->Stop();        // writes config/timercheck
  if (replication_) replication_->Shutdown();
  if (client_) {
    for (const std::string& addr : namesrv_addrs_) {
      RemotingCommand req =
          RemotingCommand::CreateRequest(request_code::kUnregisterBroker);
      req.SetExt("brokerName", config_.broker_name);
      req.SetExt("brokerAddr", broker_addr_);
      req.SetExt("clusterName", config_.broker_cluster_name);
      req.SetExt("brokerId", registered_id);
      Result<RemotingCommand> resp = client_->InvokeSync(
          addr, std::move(req), std::chrono::milliseconds(3000));
      if (!resp.ok())
        TH_LOG(broker, kWarn, "unregister from {} failed: {}", addr,
               resp.status().ToString());
    }
    client_->Stop();
  }
  if (offsets_) offsets_->Persist(true).IgnoreError();  // logged by Persist
  if (topics_) topics_->Persist().IgnoreError();        // logged by Persist
  if (groups_) groups_->Persist().IgnoreError();        // logged by Persist
  if (store_) store_->Shutdown();
  TH_LOG(broker, kInfo, "broker {} stopped", config_.broker_name);
}

Status Broker::RegisterAllNameServers() {
  const int64_t broker_id = RegistrationBrokerId();
  if (broker_id < 0) return Status::OK();  // fenced: the master is unknown
  remoting::RegisterBrokerBody body;
  body.data_version = topics_->data_version();
  body.topic_configs = topics_->All();
  const std::string encoded = body.EncodeJson();
  Status first_error;
  for (const std::string& addr : namesrv_addrs_) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kRegisterBroker);
    req.SetExt("brokerName", config_.broker_name);
    req.SetExt("brokerAddr", broker_addr_);
    req.SetExt("clusterName", config_.broker_cluster_name);
    req.SetExt("haServerAddr", ha_server_addr());
    req.SetExt("brokerId", broker_id);
    req.SetExtBool("compressed", false);
    req.SetExt("bodyCrc32", static_cast<int64_t>(Crc32R(encoded)));
    req.set_body(std::string_view(encoded));
    Result<RemotingCommand> resp = client_->InvokeSync(
        addr, std::move(req), std::chrono::milliseconds(kRegisterTimeoutMs));
    Status s = resp.status();
    if (resp.ok() && resp->code() != remoting::response_code::kSuccess) {
      s = Status::IOError("name server answered code " +
                          std::to_string(resp->code()) + ": " + resp->remark());
    }
    if (!s.ok()) {
      TH_LOG(broker, kWarn, "registration with name server {} failed: {}", addr,
             s.ToString());
      if (first_error.ok()) first_error = s;
    } else if (broker_id != 0) {
      // A slave learns its master from the answer (spec/ha.md §1).
      OnMasterAddresses(std::string(resp->ExtOr("masterAddr", "")),
                        std::string(resp->ExtOr("haServerAddr", "")));
    }
  }
  return first_error;
}

std::string Broker::ha_server_addr() const {
  const std::string& ip =
      config_.broker_ip2.empty() ? config_.broker_ip1 : config_.broker_ip2;
  return ip + ":" +
         std::to_string(replication_ ? replication_->ha_port() : port() + 1);
}

std::string Broker::master_addr() const {
  MutexLock lock(&master_mu_);
  return master_addr_;
}

void Broker::OnMasterAddresses(std::string master_addr, std::string ha_addr) {
  {
    MutexLock lock(&master_mu_);
    master_addr_ = std::move(master_addr);
  }
  if (replication_) replication_->OnMasterHaAddress(std::move(ha_addr));
}

void Broker::RequestRegistration() {
  registration_requested_.store(true, std::memory_order_release);
  if (scheduler_) scheduler_->Wakeup();
}

void Broker::RunPeriodicJobs(int64_t now_ms) {
  stats_.Sample(now_ms);
  // Each job runs once its interval has passed since it last ran (registration
  // also when requested).
  if (last_persist_ms_ == 0)
    last_persist_ms_ = last_scan_ms_ = last_register_ms_ = now_ms;
  if (now_ms - last_persist_ms_ >=
      runtime_config_->flush_consumer_offset_interval()) {
    last_persist_ms_ = now_ms;
    offsets_->Persist()
        .IgnoreError();  // logged by Persist; retried next interval
  }
  if (now_ms - last_scan_ms_ >= kClientScanIntervalMs) {
    last_scan_ms_ = now_ms;
    clients_.NotifyConsumerIdsChanged(clients_.ScanExpired(
        now_ms, runtime_config_->channel_expired_timeout()));
  }
  const bool requested =
      registration_requested_.exchange(false, std::memory_order_acq_rel);
  if (requested || now_ms - last_register_ms_ >=
                       runtime_config_->register_name_server_period()) {
    last_register_ms_ = now_ms;
    RegisterAllNameServers().IgnoreError();  // logged; retried next period
  }
}

void Broker::RunSlaveJobs(int64_t now_ms) {
  // Offsets committed here while a slave go to the master before the sync
  // copies the master's back (slave_offset_forwarder.h).
  if (offset_forwarder_ && offset_forwarder_->pending() > 0) {
    const std::string master = master_addr();
    if (master != broker_addr_) {
      Status s = offset_forwarder_->Forward(*client_, master);
      if (!s.ok() && !offset_forward_failing_)
        TH_LOG(broker, kWarn, "{} (retried every second)", s.ToString());
      offset_forward_failing_ = !s.ok();
    }
  }
  if (slave_sync_ && RegistrationBrokerId() > 0 &&
      now_ms >= next_slave_sync_ms_) {
    next_slave_sync_ms_ = now_ms + kSlaveSyncPeriodMs;
    slave_sync_->SyncAll(master_addr(), broker_addr_)
        .IgnoreError();  // logged; retried next period
  }
}

void Broker::RegisterProcessor(std::initializer_list<int32_t> codes,
                               std::unique_ptr<RequestProcessor> processor) {
  RequestProcessor* p = processor.get();
  processors_.push_back(std::move(processor));
  for (int32_t code : codes) {
    local_table_[code] = p;
    remoting::RequestHandler handler;
    if (metrics_) {
      handler = [p, m = &metrics_->counters(), code](
                    RemotingCommand&& req, remoting::Responder&& r) {
        r.Observe(m, code, metrics::BrokerMetrics::NowNs());
        p->ProcessRequest(std::move(req), std::move(r));
      };
    } else {
      handler = [p](RemotingCommand&& req, remoting::Responder&& r) {
        p->ProcessRequest(std::move(req), std::move(r));
      };
    }
    // RocketMQ registers the pulls on its main server only.
    if (vip_server_ && code != request_code::kPullMessage &&
        code != request_code::kLitePullMessage)
      vip_server_->RegisterProcessor(code, handler);
    server_->RegisterProcessor(code, std::move(handler));
  }
}

// The request-code table: every code the broker serves, and who serves it (as
// RocketMQ 4.9's BrokerController.registerProcessor). Codes not listed are
// answered REQUEST_CODE_NOT_SUPPORTED by the server.
void Broker::RegisterProcessors() {
  namespace code = request_code;
  const BrokerContext& ctx = *context_;
  RegisterProcessor({code::kSendMessage, code::kSendMessageV2,
                     code::kSendBatchMessage, code::kConsumerSendMsgBack},
                    std::make_unique<SendMessageProcessor>(
                        ctx, *store_, *topics_, stats_, groups_.get()));
  auto pull = std::make_unique<PullMessageProcessor>(
      ctx, *store_, *topics_, *offsets_, clients_, stats_, *hold_,
      groups_.get());
  pull_processor_ = pull.get();
  RegisterProcessor({code::kPullMessage, code::kLitePullMessage},
                    std::move(pull));
  pop_ = std::make_unique<PopService>(ctx, *store_, *topics_, *offsets_,
                                      groups_.get());
  if (Status s = pop_->Load(); !s.ok()) {
    TH_LOG(broker, kError, "pop: revive topic not loaded: {}", s.ToString());
  }
  auto pop = std::make_unique<PopMessageProcessor>(
      ctx, *store_, *topics_, groups_.get(), *pop_, stats_, *pop_hold_);
  pop_processor_ = pop.get();
  RegisterProcessor({remoting::request_code::kPopMessage}, std::move(pop));
  RegisterProcessor({remoting::request_code::kAckMessage,
                     remoting::request_code::kBatchAckMessage,
                     remoting::request_code::kChangeMessageInvisibleTime},
                    std::make_unique<PopAckProcessor>(ctx, *store_, *topics_,
                                                      *pop_));
  RegisterProcessor({code::kQueryMessage, code::kViewMessageById},
                    std::make_unique<QueryMessageProcessor>(ctx, *store_));
  RegisterProcessor({code::kHeartBeat, code::kUnregisterClient},
                    std::make_unique<ClientManageProcessor>(
                        ctx, clients_, *topics_, groups_.get()));
  {
    auto forwarder = std::make_unique<SlaveOffsetForwarder>(
        std::make_unique<ConsumerManageProcessor>(ctx, *store_, clients_,
                                                  *offsets_),
        [this] { return store_->broker_role() == store::BrokerRole::kSlave; });
    offset_forwarder_ = forwarder.get();
    RegisterProcessor({code::kGetConsumerListByGroup,
                       code::kQueryConsumerOffset, code::kUpdateConsumerOffset},
                      std::move(forwarder));
  }
  RegisterProcessor(
      {code::kUpdateAndCreateTopic, code::kDeleteTopicInBroker,
       code::kGetTopicConfig, code::kGetAllTopicConfig, code::kGetMaxOffset,
       code::kGetMinOffset, code::kSearchOffsetByTimestamp,
       code::kGetEarliestMsgStoretime, code::kLockBatchMq, code::kUnlockBatchMq,
       code::kGetBrokerRuntimeInfo, code::kGetConsumeStats,
       code::kGetTopicStatsInfo, code::kGetConsumerConnectionList,
       code::kQueryTopicConsumeByWho, code::kGetProducerConnectionList,
       code::kCleanExpiredConsumequeue},
      [&] {
        auto admin = std::make_unique<AdminBrokerProcessor>(
            ctx, *store_, *topics_, *offsets_, clients_, locks_, stats_,
            *hold_);
        admin->set_schedule(schedule_.get());
        return admin;
      }());
  RegisterProcessor(
      {code::kUpdateAndCreateSubscriptionGroup,
       code::kGetAllSubscriptionGroupConfig, code::kDeleteSubscriptionGroup},
      std::make_unique<SubscriptionGroupProcessor>(*groups_, *offsets_));
  RegisterProcessor(
      {code::kGetBrokerConfig, code::kUpdateBrokerConfig},
      std::make_unique<BrokerConfigProcessor>(ctx, *runtime_config_));
  RegisterProcessor({code::kInvokeBrokerToResetOffset},
                    std::make_unique<ResetOffsetProcessor>(
                        ctx, *store_, *topics_, *offsets_, clients_));
  transactions_ = std::make_unique<TransactionalMessageService>(
      ctx, *store_, *topics_, *offsets_,
      [this](std::string_view group, RemotingCommand req) {
        std::shared_ptr<remoting::Connection> c =
            clients_.ProducerConnection(group);
        if (!c) {
          TransactionCheckRelay relay;
          {
            MutexLock lock(&relay_mu_);
            relay = transaction_check_relay_;
          }
          if (relay) return relay(group, std::move(req));
          return Status::NotFound("no live producer of group " +
                                  std::string(group));
        }
        return c->InvokeOneway(std::move(req));
      },
      TransactionCheckOptions{config_.transaction_timeout,
                              config_.transaction_check_max});
  transaction_check_ = std::make_unique<TransactionalMessageCheckService>(
      *transactions_, *clock_, config_.transaction_check_interval);
  transactions_->set_on_queued([this] { transaction_check_->Wakeup(); });
  RegisterProcessor({code::kSendReplyMessage, code::kSendReplyMessageV2},
                    std::make_unique<ReplyMessageProcessor>(
                        ctx, *store_, *topics_, clients_, stats_));
  RegisterProcessor({code::kCheckClientConfig},
                    std::make_unique<CheckClientConfigProcessor>(ctx));
  RegisterProcessor(
      {code::kEndTransaction},
      std::make_unique<EndTransactionProcessor>(ctx, *store_, *transactions_,
                                                config_.transaction_timeout));
  if (acl_) {
    RegisterProcessor(
        {code::kUpdateAndCreateAclConfig, code::kDeleteAclConfig,
         code::kGetBrokerClusterAclInfo, code::kUpdateGlobalWhiteAddrsConfig},
        std::make_unique<acl::AclConfigProcessor>(ctx, *acl_));
  }
  RegisterProcessor(
      {code::kGetBrokerHaStatus},
      std::make_unique<HaStatusProcessor>(
          *store_,
          [this] { return replication_ready_.load(std::memory_order_acquire); },
          store_config_.ha_max_gap_not_in_sync));
  RegisterProcessor(
      {code::kRecallMessage},
      std::make_unique<RecallMessageProcessor>(ctx, *store_, *topics_));
  RegisterProcessor({code::kGetAllDelayOffset},
                    std::make_unique<DelayOffsetProcessor>(*schedule_));
  journey_ = std::make_unique<MessageJourney>(ctx, *store_, *topics_, *offsets_,
                                              clients_, fetch_journal_.get());
  RegisterProcessor({code::kTraceMessage},
                    std::make_unique<MessageJourneyProcessor>(*journey_));
}

void Broker::ProcessLocally(RemotingCommand request,
                            remoting::Responder responder) const {
  auto it = local_table_.find(request.code());
  if (it == local_table_.end()) {
    responder.Send(request.CreateResponse(
        remoting::response_code::kRequestCodeNotSupported,
        "request code " + std::to_string(request.code()) + " not supported"));
    return;
  }
  it->second->ProcessRequest(std::move(request), std::move(responder));
}

void Broker::set_transaction_check_relay(TransactionCheckRelay relay) {
  MutexLock lock(&relay_mu_);
  transaction_check_relay_ = std::move(relay);
}

int64_t Broker::RegistrationBrokerId() const {
  return controller_ ? controller_->registration_id() : config_.broker_id;
}

void Broker::MakeController() {
  ha::EtcdControllerOptions o;
  o.endpoints = config_.etcd_endpoints;
  o.cluster_name = config_.broker_cluster_name;
  o.broker_name = config_.broker_name;
  o.store_root = store_config_.store_path_root_dir;
  o.broker_addr = broker_addr_;
  o.ha_addr = ha_server_addr();
  o.lease_ttl_ms = config_.controller_lease_ttl_ms;
  o.election_priority = config_.broker_election_priority;
  o.elect_unclean = config_.enable_elect_unclean_master;
  // The master role an elected replica takes: the configured one, SYNC_MASTER
  // when the file says SLAVE.
  const store::BrokerRole master_role =
      store_config_.broker_role == store::BrokerRole::kSlave
          ? store::BrokerRole::kSyncMaster
          : store_config_.broker_role;
  ha::EtcdController::Hooks hooks;
  hooks.status = [this] {
    ha::ReplicaStatus st;
    // The last epoch in the store's epoch file (spec/ha.md §7.3's heartbeat
    // `epoch`): what the replica has data of, not only what it acted on.
    st.epoch = replication_->last_epoch();
    st.max_offset = store_->GetMaxPhyOffset();
    st.confirm_offset = store_->commit_log().GetConfirmOffset();
    return st;
  };
  hooks.become_master = [this, master_role](int64_t epoch) {
    replication_->set_controller_id(controller_->replica_id());
    const bool was_slave =
        store_->broker_role() == store::BrokerRole::kSlave;
    TH_RETURN_IF_ERROR(replication_->BecomeMaster(epoch, master_role));
    if (was_slave) {
      // Writes are still fenced: continue every queue where the replicated
      // bytes end (RocketMQ's recoverTopicQueueTable on changeToMaster).
      TH_RETURN_IF_ERROR(store_->commit_log().FlushAll());
      if (!store_->WaitForDispatch(10000))
        return Status::Timeout("dispatch did not catch up with the CommitLog");
      for (const remoting::TopicConfig& t : topics_->All()) {
        const int32_t n = std::max(t.read_queue_nums, t.write_queue_nums);
        for (int32_t q = 0; q < n; ++q)
          store_->commit_log().SetQueueOffset(
              t.topic_name, q,
              store::QueueOffset{store_->GetMaxOffsetInQueue(t.topic_name, q)});
      }
    }
    return Status::OK();
  };
  hooks.become_slave = [this](int64_t epoch, const std::string& master_addr,
                              const std::string& master_ha_addr) {
    replication_->set_controller_id(controller_->replica_id());
    TH_RETURN_IF_ERROR(replication_->BecomeSlave(epoch, master_ha_addr));
    MutexLock lock(&master_mu_);
    master_addr_ = master_addr;
    return Status::OK();
  };
  hooks.set_write_deadline = [this](int64_t deadline_ms) {
    store_->set_write_deadline(deadline_ms);
  };
  hooks.on_role_change = [this] { RequestRegistration(); };
  // The in-sync set the HA connections keep (spec/ha.md §7.7), recorded in
  // etcd by the controller while this replica is the master.
  hooks.sync_state_set = [this] { return replication_->LocalSyncStateSet(); };
  hooks.sync_state_set_recorded = [this](const std::set<int64_t>& members) {
    replication_->OnSyncStateSetRecorded(members);
  };
  controller_ =
      std::make_unique<ha::EtcdController>(std::move(o), std::move(hooks));
  if (ha::SyncStateSet* set = replication_->service().sync_state_set())
    set->set_on_local_change(
        [ctrl = controller_.get()] { ctrl->Wakeup(); });
}

}  // namespace thruster::broker
