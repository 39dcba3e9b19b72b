#include "broker/broker.h"

#include <chrono>

#include "common/crc32.h"
#include "common/logging.h"
#include "remoting/register_broker_body.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace request_code = remoting::request_code;

constexpr int64_t kRegisterTimeoutMs = 24000;
constexpr int64_t kClientScanIntervalMs = 10000;

}  // namespace

// The `broker-sched` thread: once a second it samples the stats and runs
// whatever periodic job is due (offset persistence, client expiry, name-server
// registration); it is also woken for an early registration after a topic
// change.
class Broker::Scheduler : public ServiceThread {
 public:
  explicit Scheduler(Broker* broker)
      : ServiceThread("broker-sched"), broker_(broker) {}
  ~Scheduler() override { Stop(); }

 protected:
  void Run() override {
    while (!stopped()) {
      WaitForRunning(1000);
      if (stopped()) break;
      broker_->RunPeriodicJobs(broker_->clock_->NowMs());
    }
  }

 private:
  Broker* broker_;
};

Broker::Broker(BrokerConfig config, store::MessageStoreConfig store_config,
               store::io::FileSystem* fs, const Clock* clock)
    : config_(std::move(config)),
      store_config_(std::move(store_config)),
      fs_(fs),
      clock_(clock) {}

Broker::~Broker() { Shutdown(); }

Status Broker::Start() {
  if (started_) return Status::InvalidArgument("broker already started");
  started_ = true;
  start_time_ms_ = clock_->NowMs();

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
  Status s = topics_->Load();
  if (s.ok()) s = offsets_->Load();
  if (!s.ok()) {
    store_->Shutdown();
    return s;
  }

  hold_ = std::make_unique<PullRequestHoldService>(
      [this](HeldPull p) {
        ProcessPull(std::move(p.request), std::move(p.responder), false);
      },
      [this](std::string_view topic, int32_t queue_id) {
        return store_->GetMaxOffsetInQueue(topic, queue_id);
      },
      clock_);
  store_->SetMessageArrivingListener(
      [this](std::string_view topic, int32_t queue_id, int64_t next_offset,
             int64_t tags_code, int64_t) {
        hold_->NotifyMessageArriving(topic, queue_id, next_offset, tags_code);
      });
  if (s = store_->Start(); !s.ok()) {
    store_->Shutdown();
    return s;
  }
  hold_->Start();

  namesrv_addrs_ = config_.NameServerAddresses();
  if (namesrv_addrs_.empty()) {
    namesrv::NameServerOptions ns_options;
    ns_options.bind_address = config_.bind_address;
    ns_options.port = static_cast<uint16_t>(config_.namesrv_listen_port);
    ns_options.io_threads = 1;
    ns_options.clock = clock_;
    namesrv_ = std::make_unique<namesrv::NameServer>(ns_options);
    if (s = namesrv_->Start(); !s.ok()) {
      Shutdown();
      return Status::IOError("embedded name server on port " +
                             std::to_string(config_.namesrv_listen_port) +
                             ": " + s.ToString());
    }
    TH_LOG(broker, kInfo, "embedded name server listening on {}:{}",
           config_.bind_address, namesrv_->port());
  }

  remoting::RemotingServerOptions options;
  options.bind_address = config_.bind_address;
  options.port = static_cast<uint16_t>(config_.listen_port);
  options.io_threads = config_.io_threads;
  options.busy_poll_us = config_.net_busy_poll_us;
  server_ = std::make_unique<remoting::RemotingServer>(options);
  RegisterProcessors();
  server_->SetCloseListener(
      [this](const std::shared_ptr<remoting::Connection>& c) {
        OnConnectionClosed(c);
      });
  if (s = server_->Start(); !s.ok()) {
    Shutdown();
    return Status::IOError("broker port " +
                           std::to_string(config_.listen_port) + ": " +
                           s.ToString());
  }
  broker_addr_ = config_.broker_ip1 + ":" + std::to_string(server_->port());
  Result<store::HostAddress> host = store::HostAddress::Parse(broker_addr_);
  if (!host.ok()) {
    Shutdown();
    return Status::InvalidArgument("brokerIP1 " + config_.broker_ip1 +
                                   " is not an IP address");
  }
  store_host_ = *host;
  uniq_keys_ = std::make_unique<UniqKeyGenerator>(store_host_);

  client_ = std::make_unique<remoting::RemotingClient>();
  if (s = client_->Start(); !s.ok()) {
    Shutdown();
    return s;
  }
  RegisterAllNameServers()
      .IgnoreError();  // logged; retried every registerNameServerPeriod
  scheduler_ = std::make_unique<Scheduler>(this);
  scheduler_->Start();
  TH_LOG(
      broker, kInfo,
      "broker {} ({} / id {}) listening on {}:{}, advertised as {}, store {}",
      config_.broker_name, config_.broker_cluster_name, config_.broker_id,
      config_.bind_address, server_->port(), broker_addr_,
      store_config_.store_path_root_dir);
  return Status::OK();
}

void Broker::Shutdown() {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  if (scheduler_) scheduler_->Stop();
  if (server_) server_->Stop();
  if (hold_) hold_->Stop();
  if (client_) {
    for (const std::string& addr : namesrv_addrs_) {
      RemotingCommand req =
          RemotingCommand::CreateRequest(request_code::kUnregisterBroker);
      req.SetExt("brokerName", config_.broker_name);
      req.SetExt("brokerAddr", broker_addr_);
      req.SetExt("clusterName", config_.broker_cluster_name);
      req.SetExt("brokerId", config_.broker_id);
      Result<RemotingCommand> resp = client_->InvokeSync(
          addr, std::move(req), std::chrono::milliseconds(3000));
      if (!resp.ok())
        TH_LOG(broker, kWarn, "unregister from {} failed: {}", addr,
               resp.status().ToString());
    }
    client_->Stop();
  }
  if (namesrv_) namesrv_->Stop();
  if (offsets_) offsets_->Persist(true).IgnoreError();  // logged by Persist
  if (topics_) topics_->Persist().IgnoreError();        // logged by Persist
  if (store_) store_->Shutdown();
  TH_LOG(broker, kInfo, "broker {} stopped", config_.broker_name);
}

Status Broker::RegisterAllNameServers() {
  remoting::RegisterBrokerBody body;
  body.data_version = topics_->data_version();
  body.topic_configs = topics_->All();
  if (namesrv_) {
    namesrv::RegisterBrokerRequest req;
    req.cluster_name = config_.broker_cluster_name;
    req.broker_addr = broker_addr_;
    req.broker_name = config_.broker_name;
    req.broker_id = config_.broker_id;
    req.ha_server_addr = config_.broker_ip1 + ":" + std::to_string(port() + 1);
    req.body = std::move(body);
    Result<namesrv::RegisterBrokerResult> r =
        namesrv_->route_info().RegisterBroker(req);
    if (!r.ok())
      TH_LOG(broker, kWarn,
             "registration with the embedded name server failed: {}",
             r.status().ToString());
    return r.status();
  }
  const std::string encoded = body.EncodeJson();
  Status first_error;
  for (const std::string& addr : namesrv_addrs_) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(request_code::kRegisterBroker);
    req.SetExt("brokerName", config_.broker_name);
    req.SetExt("brokerAddr", broker_addr_);
    req.SetExt("clusterName", config_.broker_cluster_name);
    req.SetExt("haServerAddr",
               config_.broker_ip1 + ":" + std::to_string(port() + 1));
    req.SetExt("brokerId", config_.broker_id);
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
    }
  }
  return first_error;
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
  if (now_ms - last_persist_ms_ >= config_.flush_consumer_offset_interval) {
    last_persist_ms_ = now_ms;
    offsets_->Persist()
        .IgnoreError();  // logged by Persist; retried next interval
  }
  if (now_ms - last_scan_ms_ >= kClientScanIntervalMs) {
    last_scan_ms_ = now_ms;
    NotifyConsumerIdsChanged(
        clients_.ScanExpired(now_ms, config_.channel_expired_timeout));
  }
  const bool requested =
      registration_requested_.exchange(false, std::memory_order_acq_rel);
  if (requested ||
      now_ms - last_register_ms_ >= config_.register_name_server_period) {
    last_register_ms_ = now_ms;
    RegisterAllNameServers().IgnoreError();  // logged; retried next period
  }
}

void Broker::OnConnectionClosed(
    const std::shared_ptr<remoting::Connection>& conn) {
  NotifyConsumerIdsChanged(clients_.OnConnectionClosed(conn->id()));
}

void Broker::NotifyConsumerIdsChanged(const std::vector<std::string>& groups) {
  for (const std::string& group : groups) {
    if (!clients_.IsClustering(group)) continue;
    for (const auto& conn : clients_.ConsumerConnections(group)) {
      RemotingCommand req = RemotingCommand::CreateRequest(
          request_code::kNotifyConsumerIdsChanged);
      req.SetExt("consumerGroup", group);
      Status s = conn->InvokeOneway(std::move(req));
      if (!s.ok())
        TH_LOG(broker, kDebug, "notify {} of group {}: {}",
               conn->remote_address(), group, s.ToString());
    }
  }
}

void Broker::RegisterProcessors() {
  auto reg = [this](int32_t code, void (Broker::*fn)(Req, Responder)) {
    server_->RegisterProcessor(code, [this, fn](Req req, Responder r) {
      (this->*fn)(std::move(req), std::move(r));
    });
  };
  reg(request_code::kSendMessage, &Broker::HandleSend);
  reg(request_code::kSendMessageV2, &Broker::HandleSend);
  reg(request_code::kSendBatchMessage, &Broker::HandleSend);
  reg(request_code::kConsumerSendMsgBack, &Broker::HandleConsumerSendMsgBack);
  reg(request_code::kPullMessage, &Broker::HandlePull);
  reg(request_code::kLitePullMessage, &Broker::HandlePull);
  reg(request_code::kHeartBeat, &Broker::HandleHeartbeat);
  reg(request_code::kUnregisterClient, &Broker::HandleUnregisterClient);
  reg(request_code::kGetConsumerListByGroup, &Broker::HandleGetConsumerList);
  reg(request_code::kQueryConsumerOffset, &Broker::HandleQueryConsumerOffset);
  reg(request_code::kUpdateConsumerOffset, &Broker::HandleUpdateConsumerOffset);
  reg(request_code::kGetMaxOffset, &Broker::HandleGetMaxOffset);
  reg(request_code::kGetMinOffset, &Broker::HandleGetMinOffset);
  reg(request_code::kSearchOffsetByTimestamp,
      &Broker::HandleSearchOffsetByTimestamp);
  reg(request_code::kGetEarliestMsgStoretime,
      &Broker::HandleGetEarliestMsgStoretime);
  reg(request_code::kQueryMessage, &Broker::HandleQueryMessage);
  reg(request_code::kViewMessageById, &Broker::HandleViewMessageById);
  reg(request_code::kLockBatchMq, &Broker::HandleLockBatchMq);
  reg(request_code::kUnlockBatchMq, &Broker::HandleUnlockBatchMq);
  reg(request_code::kUpdateAndCreateTopic, &Broker::HandleUpdateAndCreateTopic);
  reg(request_code::kDeleteTopicInBroker, &Broker::HandleDeleteTopic);
  reg(request_code::kGetTopicConfig, &Broker::HandleGetTopicConfig);
  reg(request_code::kGetAllTopicConfig, &Broker::HandleGetAllTopicConfig);
  reg(request_code::kGetBrokerRuntimeInfo, &Broker::HandleGetBrokerRuntimeInfo);
  reg(request_code::kGetConsumeStats, &Broker::HandleGetConsumeStats);
  reg(request_code::kGetTopicStatsInfo, &Broker::HandleGetTopicStatsInfo);
  reg(request_code::kGetConsumerConnectionList,
      &Broker::HandleGetConsumerConnectionList);
  reg(request_code::kQueryTopicConsumeByWho,
      &Broker::HandleQueryTopicConsumeByWho);
}

}  // namespace thruster::broker
