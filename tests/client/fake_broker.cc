#include "tests/client/fake_broker.h"

#include <fmt/format.h>

#include <chrono>

#include "common/check.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "remoting/codes.h"
#include "tests/support/in_process.h"

namespace thruster::client::testing {

using remoting::RemotingCommand;
using remoting::Responder;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

namespace {

remoting::RemotingServerOptions ServerOnLoopback() {
  remoting::RemotingServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  return o;
}

}  // namespace

FakeBroker::FakeBroker()
    : namesrv_(thruster::testing::LoopbackNameServerOptions()),
      server_(ServerOnLoopback()) {
  server_.RegisterProcessor(req_code::kSendMessageV2,
                            [this](RemotingCommand req, Responder r) {
                              HandleSend(std::move(req), std::move(r));
                            });
  server_.RegisterProcessor(req_code::kPullMessage,
                            [this](RemotingCommand req, Responder r) {
                              HandlePull(std::move(req), std::move(r));
                            });
  for (int32_t code :
       {req_code::kQueryConsumerOffset, req_code::kUpdateConsumerOffset,
        req_code::kGetMaxOffset, req_code::kGetMinOffset}) {
    server_.RegisterProcessor(code, [this](RemotingCommand req, Responder r) {
      HandleOffset(std::move(req), std::move(r));
    });
  }
  server_.RegisterProcessor(req_code::kHeartBeat,
                            [](RemotingCommand req, Responder r) {
                              r.Send(req.CreateResponse(rc::kSuccess));
                            });
  server_.RegisterProcessor(req_code::kUnregisterClient,
                            [](RemotingCommand req, Responder r) {
                              r.Send(req.CreateResponse(rc::kSuccess));
                            });
}

FakeBroker::~FakeBroker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (delay_thread_.joinable()) delay_thread_.join();
  server_.Stop();
  namesrv_.Stop();
}

void FakeBroker::AddTopic(const std::string& topic, int32_t queues) {
  topics_[topic] = queues;
}

Status FakeBroker::Start() {
  TH_RETURN_IF_ERROR(namesrv_.Start());
  TH_RETURN_IF_ERROR(server_.Start());
  namesrv::RegisterBrokerRequest reg;
  reg.cluster_name = "DefaultCluster";
  reg.broker_name = "broker-a";
  reg.broker_addr = broker_addr();
  reg.ha_server_addr = broker_addr();
  reg.body.data_version.counter = 1;
  // The broker registers its cluster-name topic too, like RocketMQ's (and a
  // first registration must carry more than one topic, §3.5.1 step 4).
  std::map<std::string, int32_t> topics = topics_;
  topics.emplace(reg.cluster_name, 16);
  for (const auto& [name, n] : topics) {
    remoting::TopicConfig tc;
    tc.topic_name = name;
    tc.read_queue_nums = n;
    tc.write_queue_nums = n;
    reg.body.topic_configs.push_back(tc);
  }
  TH_RETURN_IF_ERROR(namesrv_.route_info().RegisterBroker(reg).status());
  if (send_delay_ms_ > 0) delay_thread_ = std::thread([this] { DelayLoop(); });
  return Status::OK();
}

std::string FakeBroker::namesrv_addr() const {
  return fmt::format("127.0.0.1:{}", namesrv_.port());
}

std::string FakeBroker::broker_addr() const {
  return fmt::format("127.0.0.1:{}", server_.port());
}

std::map<std::string, std::string, std::less<>> FakeBroker::last_send_header() {
  std::lock_guard lock(mu_);
  return last_header_;
}

void FakeBroker::HandleSend(RemotingCommand req, Responder r) {
  sends_.fetch_add(1);
  if (send_delay_ms_ > 0) {
    int now = outstanding_.fetch_add(1) + 1;
    int prev = max_outstanding_.load();
    while (now > prev && !max_outstanding_.compare_exchange_weak(prev, now)) {
    }
    std::lock_guard lock(mu_);
    delayed_.emplace_back(std::move(req), std::move(r));
    cv_.notify_all();
    return;
  }
  std::string topic(req.ExtOr("b", ""));
  int32_t queue_id = req.ExtInt32Or("e", 0);
  if (topics_.count(topic) == 0) {
    r.Send(req.CreateResponse(rc::kTopicNotExist, "topic not exist"));
    return;
  }
  auto store_host = message::HostAddress::Parse(broker_addr());
  TH_CHECK(store_host.ok(), "broker address");
  message::MessageToStore m;
  m.topic = topic;
  m.queue_id = queue_id;
  m.flag = req.ExtInt32Or("h", 0);
  m.sys_flag = req.ExtInt32Or("f", 0);
  m.body = req.body();
  std::string props(req.ExtOr("i", ""));
  m.properties = props;
  m.born_timestamp = req.ExtInt64Or("g", 0);
  m.born_host = *store_host;
  m.store_host = *store_host;
  std::string record;
  auto size = message::EncodeRecord(m, 4 << 20, &record);
  TH_CHECK(size.ok(), "encode: {}", size.status().ToString());
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  {
    std::lock_guard lock(mu_);
    last_header_ = {req.ext_fields().begin(), req.ext_fields().end()};
    Queue& q = queues_[{topic, queue_id}];
    int64_t queue_offset = static_cast<int64_t>(q.records.size());
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    message::PatchInLockFields(reinterpret_cast<std::byte*>(record.data()),
                               queue_offset, phys_, now);
    resp.SetExt("msgId", message::CreateMessageId(*store_host, phys_));
    resp.SetExt("queueId", queue_id);
    resp.SetExt("queueOffset", queue_offset);
    phys_ += static_cast<int64_t>(record.size());
    q.records.push_back(std::move(record));
  }
  resp.SetExt("MSG_REGION", "DefaultRegion");
  resp.SetExt("TRACE_ON", "true");
  r.Send(std::move(resp));
}

void FakeBroker::DelayLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait(lock, [&] { return stop_ || !delayed_.empty(); });
    if (stop_) break;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(send_delay_ms_));
    lock.lock();
    auto batch = std::move(delayed_);
    delayed_.clear();
    lock.unlock();
    for (auto& [req, r] : batch) {
      RemotingCommand resp = req.CreateResponse(rc::kSuccess);
      resp.SetExt("msgId", "7F00000100002A9F0000000000000000");
      resp.SetExt("queueId", req.ExtInt32Or("e", 0));
      resp.SetExt("queueOffset", int64_t{0});
      outstanding_.fetch_sub(1);
      r.Send(std::move(resp));
    }
    lock.lock();
  }
}

void FakeBroker::HandlePull(RemotingCommand req, Responder r) {
  std::string topic(req.ExtOr("topic", ""));
  int32_t queue_id = req.ExtInt32Or("queueId", 0);
  int64_t offset = req.ExtInt64Or("queueOffset", 0);
  int32_t max = req.ExtInt32Or("maxMsgNums", 32);
  if (topics_.count(topic) == 0) {
    r.Send(req.CreateResponse(rc::kTopicNotExist, "topic not exist"));
    return;
  }
  std::lock_guard lock(mu_);
  Queue& q = queues_[{topic, queue_id}];
  auto size = static_cast<int64_t>(q.records.size());
  RemotingCommand resp;
  int64_t next = offset;
  if (offset == size) {
    resp = req.CreateResponse(rc::kPullNotFound, "OFFSET_OVERFLOW_ONE");
  } else if (offset > size || offset < 0) {
    resp = req.CreateResponse(rc::kPullOffsetMoved, "OFFSET_OVERFLOW_BADLY");
    next = size;
  } else {
    resp = req.CreateResponse(rc::kSuccess, "FOUND");
    std::string body;
    while (next < size && next - offset < max)
      body += q.records[static_cast<size_t>(next++)];
    resp.set_body(std::string_view(body));
  }
  resp.SetExt("nextBeginOffset", next);
  resp.SetExt("minOffset", int64_t{0});
  resp.SetExt("maxOffset", size);
  resp.SetExt("suggestWhichBrokerId", int64_t{0});
  r.Send(std::move(resp));
}

void FakeBroker::HandleOffset(RemotingCommand req, Responder r) {
  std::string topic(req.ExtOr("topic", ""));
  int32_t queue_id = req.ExtInt32Or("queueId", 0);
  std::string key =
      fmt::format("{}@{}@{}", req.ExtOr("consumerGroup", ""), topic, queue_id);
  std::lock_guard lock(mu_);
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  switch (req.code()) {
    case req_code::kQueryConsumerOffset: {
      auto it = offsets_.find(key);
      if (it == offsets_.end()) {
        resp = req.CreateResponse(rc::kQueryNotFound, "Not found");
      } else {
        resp.SetExt("offset", it->second);
      }
      break;
    }
    case req_code::kUpdateConsumerOffset:
      offsets_[key] = req.ExtInt64Or("commitOffset", 0);
      break;
    case req_code::kGetMaxOffset:
      resp.SetExt("offset", static_cast<int64_t>(
                                queues_[{topic, queue_id}].records.size()));
      break;
    default:
      resp.SetExt("offset", int64_t{0});
  }
  r.Send(std::move(resp));
}

}  // namespace thruster::client::testing
