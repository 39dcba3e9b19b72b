#include "client/producer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "common/logging.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "remoting/recall_handle.h"

namespace thruster::client {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;

namespace {

constexpr std::string_view kDefaultTopic = "TBW102";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The client's IPv4 address (a.b.c.d as 0xaabbccdd) as the host UNIQ_KEYs
// start with.
message::HostAddress UniqKeyHost(uint32_t ipv4) {
  return message::HostAddress::V4(
      static_cast<uint8_t>(ipv4 >> 24), static_cast<uint8_t>(ipv4 >> 16),
      static_cast<uint8_t>(ipv4 >> 8), static_cast<uint8_t>(ipv4), 0);
}

}  // namespace

std::string_view SendStatusName(SendStatus s) {
  switch (s) {
    case SendStatus::kSendOk:
      return "SEND_OK";
    case SendStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "UNKNOWN";
}

bool IsRetryableSendCode(int32_t code) {
  switch (code) {
    case rc::kSystemError:
    case rc::kSystemBusy:
    case rc::kServiceNotAvailable:
    case rc::kNoPermission:
    case rc::kTopicNotExist:
    case rc::kNoBuyerId:
    case rc::kNotInCurrentUnit:
    case rc::kGoAway:
      return true;
    default:
      return false;
  }
}

Producer::Producer(ClientInstance* client, ProducerOptions options)
    : client_(client),
      options_(std::move(options)),
      uniq_(UniqKeyHost(client->client_ip())),
      resume_slots_(std::max(1, options_.max_in_flight / 8)),
      refresher_(this) {
  client_->RegisterProducerGroup(options_.group);
  refresher_.Start();
}

Producer::~Producer() {
  Flush();
  refresher_.Stop();
}

void Producer::RouteRefresher::Run() {
  while (!stopped()) {
    WaitForRunning(1000);
    if (stopped()) break;
    owner_->RefreshRoutes();
  }
}

void Producer::RefreshRoutes() {
  std::vector<std::string> due;
  int64_t now = NowMs();
  {
    MutexLock lock(&mu_);
    for (const auto& [topic, info] : publish_) {
      int64_t limit =
          info->from_default_topic ? 1000 : options_.route_refresh_ms;
      if (now - info->fetched_ms >= limit) due.push_back(topic);
    }
  }
  for (const auto& topic : due) {
    // On failure the old route stays in use while the name server is away.
    auto r = LoadPublishInfo(topic);
    if (!r.ok())
      TH_LOG(client, kDebug, "refresh route of {}: {}", topic,
             r.status().ToString());
  }
}

Result<std::shared_ptr<const Producer::PublishInfo>> Producer::LoadPublishInfo(
    const std::string& topic) {
  auto route = client_->FetchTopicRoute(topic);
  bool from_default = false;
  if (!route.ok() && route.status().IsNotFound()) {
    // §6.2: send through the brokers that may auto-create the topic.
    auto def = client_->FetchTopicRoute(kDefaultTopic);
    if (!def.ok()) return route.status();
    route = std::move(def);
    from_default = true;
  }
  if (!route.ok()) return route.status();
  auto info = std::make_shared<PublishInfo>();
  info->fetched_ms = NowMs();
  info->from_default_topic = from_default;
  std::vector<remoting::QueueData> qds = route->queue_datas;
  std::sort(qds.begin(), qds.end(), [](const auto& a, const auto& b) {
    return a.broker_name < b.broker_name;
  });
  for (const auto& qd : qds) {
    if ((qd.perm & remoting::kPermWrite) == 0) continue;
    if (from_default && (qd.perm & remoting::kPermInherit) == 0) continue;
    std::string addr;
    for (const auto& bd : route->broker_datas) {
      if (bd.broker_name != qd.broker_name) continue;
      auto it = bd.broker_addrs.find(0);
      if (it != bd.broker_addrs.end()) addr = it->second;
    }
    if (addr.empty()) continue;
    int n = qd.write_queue_nums;
    if (from_default)
      n = std::min(
          n, std::min(options_.default_topic_queue_nums, qd.read_queue_nums));
    for (int q = 0; q < n; ++q) {
      info->queues.push_back(MessageQueue{topic, qd.broker_name, q});
      info->addrs.push_back(addr);
    }
  }
  if (info->queues.empty()) {
    return Status::NotFound(
        from_default ? fmt::format("topic {} does not exist and no broker may "
                                   "auto-create it",
                                   topic)
                     : fmt::format("topic {} has no writable queue", topic));
  }
  MutexLock lock(&mu_);
  auto& slot = publish_[topic];
  if (slot != nullptr) {
    info->send_which_queue.store(
        slot->send_which_queue.load(std::memory_order_relaxed),
        std::memory_order_relaxed);
  }
  slot = std::move(info);
  return slot;
}

Result<std::shared_ptr<const Producer::PublishInfo>> Producer::GetPublishInfo(
    const std::string& topic, bool may_block) {
  {
    MutexLock lock(&mu_);
    auto it = publish_.find(topic);
    if (it != publish_.end()) return it->second;
  }
  if (!may_block) {
    return Status::NotFound(
        fmt::format("route of topic {} is not loaded yet", topic));
  }
  return LoadPublishInfo(topic);
}

Result<std::vector<MessageQueue>> Producer::FetchPublishQueues(
    const std::string& topic) {
  TH_ASSIGN_OR_RETURN(auto info, LoadPublishInfo(topic));
  return info->queues;
}

Result<Producer::Target> Producer::SelectQueue(const Message& msg,
                                               const std::string& avoid_broker,
                                               bool may_block) {
  TH_ASSIGN_OR_RETURN(auto info, GetPublishInfo(msg.topic, may_block));
  size_t n = info->queues.size();
  if (msg.queue_id >= 0) {
    for (size_t i = 0; i < n; ++i) {
      if (info->queues[i].queue_id == msg.queue_id)
        return Target{info->queues[i], info->addrs[i]};
    }
    return Status::InvalidArgument(fmt::format(
        "topic {} has no writable queue {}", msg.topic, msg.queue_id));
  }
  uint32_t start =
      info->send_which_queue.fetch_add(1, std::memory_order_relaxed);
  if (!avoid_broker.empty()) {
    for (size_t i = 0; i < n; ++i) {
      size_t k = (start + i) % n;
      if (info->queues[k].broker_name != avoid_broker)
        return Target{info->queues[k], info->addrs[k]};
    }
  }
  size_t k = start % n;
  return Target{info->queues[k], info->addrs[k]};
}

RemotingCommand Producer::BuildRequest(const Message& msg, const Target& target,
                                       const char* uniq_key) {
  std::string props;
  props.reserve(64 + msg.tags.size() + msg.keys.size());
  message::AppendProperty(&props, message::prop::kUniqKey,
                          std::string_view(uniq_key, message::kUniqKeyLength));
  message::AppendProperty(&props, message::prop::kWait, "true");
  message::AppendProperty(&props, message::prop::kTags, msg.tags);
  message::AppendProperty(&props, message::prop::kKeys, msg.keys);
  for (const auto& [k, v] : msg.properties)
    message::AppendProperty(&props, k, v);

  RemotingCommand req =
      ClientInstance::NewRequest(remoting::request_code::kSendMessageV2);
  req.SetExt("a", options_.group);
  req.SetExt("b", msg.topic);
  req.SetExt("c", std::string(kDefaultTopic));
  req.SetExt("d", static_cast<int32_t>(options_.default_topic_queue_nums));
  req.SetExt("e", target.queue.queue_id);
  req.SetExt("f", msg.sys_flag);
  req.SetExt("g", NowMs());
  req.SetExt("h", msg.flag);
  req.SetExt("i", std::move(props));
  // j (reconsumeTimes), k (unitMode) and m (batch) are optional and their
  // defaults are what we mean; leaving them out keeps the header short for
  // both sides' JSON codec.
  if (msg.body_owner) {
    req.AddBodySegment(msg.body, msg.body_owner);
  } else {
    req.set_body(msg.body);
  }
  return req;
}

Result<SendResult> Producer::ParseResponse(const RemotingCommand& resp,
                                           const Target& target,
                                           std::string uniq_key) {
  SendResult r;
  switch (resp.code()) {
    case rc::kSuccess:
      r.status = SendStatus::kSendOk;
      break;
    case rc::kFlushDiskTimeout:
      r.status = SendStatus::kFlushDiskTimeout;
      break;
    case rc::kFlushSlaveTimeout:
      r.status = SendStatus::kFlushSlaveTimeout;
      break;
    case rc::kSlaveNotAvailable:
      r.status = SendStatus::kSlaveNotAvailable;
      break;
    default:
      return StatusFromResponse(
          resp,
          fmt::format("send to {} ({})", target.queue.ToString(), target.addr));
  }
  auto offset_id = resp.RequireExt("msgId");
  auto queue_id = resp.RequireExtInt32("queueId");
  auto queue_offset = resp.RequireExtInt64("queueOffset");
  if (!offset_id.ok() || !queue_id.ok() || !queue_offset.ok()) {
    return Status::Corruption(fmt::format(
        "send response from {} lacks msgId/queueId/queueOffset", target.addr));
  }
  r.msg_id = std::move(uniq_key);
  r.offset_msg_id = std::string(*offset_id);
  r.queue = target.queue;
  r.queue.queue_id = *queue_id;
  r.queue_offset = *queue_offset;
  if (auto handle = resp.FindExt("recallHandle"))
    r.recall_handle = std::string(*handle);
  return r;
}

Result<std::string> Producer::RecallMessage(const std::string& topic,
                                            const std::string& recall_handle) {
  Result<remoting::RecallHandle> h =
      remoting::DecodeRecallHandle(recall_handle);
  if (!h.ok()) return h.status();
  Result<std::string> addr = client_->FindBrokerMaster(h->broker_name);
  if (!addr.ok()) {
    // Not seen yet: the topic's route names the brokers that serve it.
    TH_RETURN_IF_ERROR(client_->FetchTopicRoute(topic).status());
    addr = client_->FindBrokerMaster(h->broker_name);
    if (!addr.ok()) return addr.status();
  }
  RemotingCommand req =
      ClientInstance::NewRequest(remoting::request_code::kRecallMessage);
  req.SetExt("producerGroup", options_.group);
  req.SetExt("topic", topic);
  req.SetExt("recallHandle", recall_handle);
  req.SetExt("brokerName", h->broker_name);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(*addr, std::move(req)));
  if (resp.code() != rc::kSuccess)
    return StatusFromResponse(resp,
                              fmt::format("recall in {} at {}", topic, *addr));
  return std::string(resp.ExtOr("msgId", ""));
}

Result<SendResult> Producer::Send(const Message& msg) {
  std::string last_broker;
  Status last = Status::IOError("not sent");
  for (int attempt = 0; attempt <= options_.retry_times; ++attempt) {
    auto target = SelectQueue(msg, last_broker);
    if (!target.ok()) return target.status();
    char key[message::kUniqKeyLength];
    uniq_.Next(NowMs(), key);
    RemotingCommand req = BuildRequest(msg, *target, key);
    auto resp = client_->remoting().InvokeSync(target->addr, std::move(req),
                                               options_.send_timeout);
    if (!resp.ok()) {
      last = Status(
          resp.status().code() == Status::Code::kTimeout
              ? Status::Timeout(fmt::format("send to {}: {}", target->addr,
                                            resp.status().message()))
              : Status::IOError(fmt::format("broker {} unreachable: {}",
                                            target->addr,
                                            resp.status().message())));
      last_broker = target->queue.broker_name;
      continue;
    }
    auto r = ParseResponse(*resp, *target,
                           std::string(key, message::kUniqKeyLength));
    if (r.ok() || !IsRetryableSendCode(resp->code())) return r;
    last = r.status();
    last_broker = target->queue.broker_name;
  }
  return last;
}

void Producer::AcquireSlot() {
  MutexLock lock(&window_mu_);
  if (in_flight_ >= options_.max_in_flight) {
    ++waiters_;
    while (in_flight_ > options_.max_in_flight - resume_slots_) {
      window_cv_.Wait(&window_mu_);
    }
    --waiters_;
  }
  ++in_flight_;
}

void Producer::ReleaseSlot() {
  // Notified under the lock: once Flush() sees the last release, this
  // callback no longer touches the producer, which may then be destroyed.
  MutexLock lock(&window_mu_);
  --in_flight_;
  // A blocked sender is woken only once resume_slots_ are free (Flush() once
  // nothing is in flight), so a deep window refills in bursts instead of one
  // thread switch per answer.
  if (waiters_ > 0 && (in_flight_ == options_.max_in_flight - resume_slots_ ||
                       in_flight_ == 0)) {
    window_cv_.SignalAll();
  }
}

Status Producer::SendAsync(const Message& msg, SendCallback cb) {
  return SendAsyncImpl(msg, std::move(cb), /*may_block=*/true);
}

Status Producer::TrySendAsync(const Message& msg, SendCallback cb) {
  return SendAsyncImpl(msg, std::move(cb), /*may_block=*/false);
}

Status Producer::SendAsyncImpl(const Message& msg, SendCallback cb,
                               bool may_block) {
  auto target = SelectQueue(msg, {}, may_block);
  if (!target.ok()) return target.status();
  if (may_block) {
    AcquireSlot();
  } else {
    MutexLock lock(&window_mu_);
    ++in_flight_;
  }
  char key[message::kUniqKeyLength];
  uniq_.Next(NowMs(), key);
  RemotingCommand req = BuildRequest(msg, *target, key);
  const std::string addr = target->addr;  // the callback takes *target
  client_->remoting().InvokeAsync(
      addr, std::move(req), options_.send_timeout,
      [this, t = std::move(*target), k = std::to_array(key),
       cb = std::move(cb)](Result<RemotingCommand> resp) mutable {
        if (!resp.ok()) {
          cb(resp.status().code() == Status::Code::kTimeout
                 ? Status::Timeout(fmt::format("send to {}: {}", t.addr,
                                               resp.status().message()))
                 : Status::IOError(fmt::format("broker {} unreachable: {}",
                                               t.addr,
                                               resp.status().message())));
        } else {
          cb(ParseResponse(*resp, t, std::string(k.data(), k.size())));
        }
        ReleaseSlot();
      });
  return Status::OK();
}

void Producer::Flush() {
  MutexLock lock(&window_mu_);
  ++waiters_;
  while (in_flight_ != 0) window_cv_.Wait(&window_mu_);
  --waiters_;
}

}  // namespace thruster::client
