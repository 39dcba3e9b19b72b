#include "client/client_instance.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/acl_signature.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::client {

namespace json = remoting::json;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;

namespace {

// Signs every request when both keys are given (ACL), else nothing.
std::function<void(remoting::RemotingCommand&)> SigningHook(
    std::string access_key, std::string secret_key) {
  if (access_key.empty() || secret_key.empty()) return {};
  return [ak = std::move(access_key),
          sk = std::move(secret_key)](remoting::RemotingCommand& req) {
    remoting::SignRequest(req, ak, sk);
  };
}

uint32_t LocalIpv4() {
  uint32_t ip = 0x7F000001;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return ip;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    uint32_t v =
        ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    if ((v >> 24) == 127) continue;
    ip = v;
    break;
  }
  freeifaddrs(list);
  return ip;
}

std::vector<std::string> SplitAddrs(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(';', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string ResponseCodeName(int32_t code) {
  switch (code) {
    case rc::kSuccess:
      return "SUCCESS";
    case rc::kSystemError:
      return "SYSTEM_ERROR";
    case rc::kSystemBusy:
      return "SYSTEM_BUSY";
    case rc::kRequestCodeNotSupported:
      return "REQUEST_CODE_NOT_SUPPORTED";
    case rc::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case rc::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
    case rc::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case rc::kMessageIllegal:
      return "MESSAGE_ILLEGAL";
    case rc::kServiceNotAvailable:
      return "SERVICE_NOT_AVAILABLE";
    case rc::kNoPermission:
      return "NO_PERMISSION";
    case rc::kTopicNotExist:
      return "TOPIC_NOT_EXIST";
    case rc::kTopicExistAlready:
      return "TOPIC_EXIST_ALREADY";
    case rc::kPullNotFound:
      return "PULL_NOT_FOUND";
    case rc::kPullRetryImmediately:
      return "PULL_RETRY_IMMEDIATELY";
    case rc::kPullOffsetMoved:
      return "PULL_OFFSET_MOVED";
    case rc::kQueryNotFound:
      return "QUERY_NOT_FOUND";
    case rc::kSubscriptionParseFailed:
      return "SUBSCRIPTION_PARSE_FAILED";
    case rc::kSubscriptionNotExist:
      return "SUBSCRIPTION_NOT_EXIST";
    case rc::kSubscriptionNotLatest:
      return "SUBSCRIPTION_NOT_LATEST";
    case rc::kSubscriptionGroupNotExist:
      return "SUBSCRIPTION_GROUP_NOT_EXIST";
    case rc::kInvalidParameter:
      return "INVALID_PARAMETER";
    case rc::kConsumerNotOnline:
      return "CONSUMER_NOT_ONLINE";
    case rc::kNoMessage:
      return "NO_MESSAGE";
    case rc::kFlowControl:
      return "FLOW_CONTROL";
    case rc::kIllegalOperation:
      return "ILLEGAL_OPERATION";
    case rc::kGoAway:
      return "GO_AWAY";
    default:
      return fmt::format("CODE_{}", code);
  }
}

Status StatusFromResponse(const RemotingCommand& response,
                          std::string_view context) {
  int32_t code = response.code();
  if (code == rc::kSuccess) return Status::OK();
  std::string msg =
      response.remark().empty()
          ? fmt::format("{}: {} ({})", context, ResponseCodeName(code), code)
          : fmt::format("{}: {} ({}): {}", context, ResponseCodeName(code),
                        code, response.remark());
  switch (code) {
    case rc::kTopicNotExist:
    case rc::kQueryNotFound:
    case rc::kConsumerNotOnline:
      return Status::NotFound(msg);
    case rc::kSystemBusy:
      return Status::Busy(msg);
    default:
      return Status::IOError(msg);
  }
}

ClientInstance::ClientInstance(ClientOptions options)
    : options_(std::move(options)),
      namesrv_addrs_(SplitAddrs(options_.namesrv_addr)),
      client_ip_(LocalIpv4()),
      remoting_(remoting::RemotingClientOptions{
          .io_threads = std::max(1, options_.io_threads),
          .connect_timeout = options_.timeout,
          .connection = {},
          .rpc_hook = SigningHook(options_.access_key, options_.secret_key),
          .tls = options_.tls}),
      heartbeat_(this, options_.heartbeat_interval_ms) {
  client_id_ = fmt::format("{}.{}.{}.{}@{}#{}", client_ip_ >> 24,
                           (client_ip_ >> 16) & 0xFF, (client_ip_ >> 8) & 0xFF,
                           client_ip_ & 0xFF, getpid(), options_.instance_name);
  remoting_.RegisterProcessor(
      remoting::request_code::kCheckTransactionState,
      [this](remoting::RemotingCommand req, remoting::Responder r) {
        OnCheckTransactionState(req, r);
      });
}

void ClientInstance::SetTransactionCheckHandler(
    const std::string& group, TransactionCheckHandler handler) {
  MutexLock lock(&mu_);
  if (handler) {
    check_handlers_[group] = std::move(handler);
  } else {
    check_handlers_.erase(group);
  }
}

void ClientInstance::OnCheckTransactionState(
    const remoting::RemotingCommand& check,
    const remoting::Responder& responder) {
  message::RecordCheck rec = message::CheckRecord(check.body(), false);
  if (rec.status != message::RecordStatus::kOk) return;  // nothing to answer
  const std::string group(
      message::FindProperty(rec.record.properties, "PGROUP").value_or(""));
  TransactionCheckHandler handler;
  {
    MutexLock lock(&mu_);
    auto it = check_handlers_.find(group);
    if (it == check_handlers_.end()) return;
    handler = it->second;
  }
  std::shared_ptr<remoting::Connection> conn = responder.connection();
  if (conn) handler(check, conn);
}

ClientInstance::~ClientInstance() { Stop(); }

Status ClientInstance::Start() {
  if (started_) return Status::OK();
  if (namesrv_addrs_.empty())
    return Status::InvalidArgument("no name server address given");
  for (const auto& a : namesrv_addrs_) {
    if (auto hp = remoting::SplitHostPort(a); !hp.ok())
      return Status::InvalidArgument(fmt::format(
          "bad name server address '{}': {}", a, hp.status().message()));
  }
  TH_RETURN_IF_ERROR(remoting_.Start());
  started_ = true;
  if (options_.heartbeat_interval_ms > 0) heartbeat_.Start();
  return Status::OK();
}

void ClientInstance::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  heartbeat_.Stop();
  std::vector<std::string> groups_p, groups_c;
  {
    MutexLock lock(&mu_);
    groups_p.assign(producer_groups_.begin(), producer_groups_.end());
    for (const auto& [g, c] : consumers_) groups_c.push_back(g);
  }
  if (!groups_p.empty() || !groups_c.empty()) {
    for (const auto& addr : KnownBrokerAddrs()) {
      auto unregister = [&](const char* field, const std::string& group) {
        RemotingCommand req =
            NewRequest(remoting::request_code::kUnregisterClient);
        req.SetExt("clientID", client_id_);
        req.SetExt(field, group);
        auto r = remoting_.InvokeSync(addr, std::move(req),
                                      std::chrono::milliseconds(1000));
        if (!r.ok())
          TH_LOG(client, kDebug, "unregister from {}: {}", addr,
                 r.status().ToString());
      };
      for (const auto& g : groups_p) unregister("producerGroup", g);
      for (const auto& g : groups_c) unregister("consumerGroup", g);
    }
  }
  remoting_.Stop();
}

RemotingCommand ClientInstance::NewRequest(int32_t code) {
  RemotingCommand req = RemotingCommand::CreateRequest(code);
  req.set_language(remoting::LanguageCode::kCpp);
  // The binary header (§1.4): Java brokers and name servers read it too and
  // answer in kind, and it costs both sides far less than JSON text.
  req.set_serialize_type(remoting::SerializeType::kRocketMq);
  return req;
}

Result<RemotingCommand> ClientInstance::InvokeNameServer(
    const RemotingCommand& request) {
  std::string errors;
  for (const auto& addr : namesrv_addrs_) {
    auto r = remoting_.InvokeSync(addr, request, options_.timeout);
    if (r.ok()) return r;
    if (!errors.empty()) errors += "; ";
    errors += fmt::format("{} ({})", addr, r.status().message());
  }
  return Status::IOError(fmt::format("name server unreachable: {}", errors));
}

Result<RemotingCommand> ClientInstance::InvokeBroker(const std::string& addr,
                                                     RemotingCommand request) {
  auto r = remoting_.InvokeSync(addr, std::move(request), options_.timeout);
  if (r.ok()) return r;
  if (r.status().code() == Status::Code::kTimeout) {
    return Status::Timeout(fmt::format("broker {} did not answer within {} ms",
                                       addr, options_.timeout.count()));
  }
  return Status::IOError(
      fmt::format("broker {} unreachable: {}", addr, r.status().message()));
}

Result<remoting::TopicRouteData> ClientInstance::FetchTopicRoute(
    std::string_view topic) {
  RemotingCommand req =
      NewRequest(remoting::request_code::kGetRouteinfoByTopic);
  req.SetExt("topic", std::string(topic));
  TH_ASSIGN_OR_RETURN(RemotingCommand resp, InvokeNameServer(req));
  if (resp.code() == rc::kTopicNotExist) {
    return Status::NotFound(fmt::format(
        "topic {} does not exist (the name server has no route for it)",
        topic));
  }
  TH_RETURN_IF_ERROR(
      StatusFromResponse(resp, fmt::format("route of topic {}", topic)));
  TH_ASSIGN_OR_RETURN(auto route,
                      remoting::TopicRouteData::Parse(resp.body_view()));
  RememberBrokers(route.broker_datas);
  return route;
}

Result<remoting::ClusterInfo> ClientInstance::FetchClusterInfo() {
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      InvokeNameServer(NewRequest(
                          remoting::request_code::kGetBrokerClusterInfo)));
  TH_RETURN_IF_ERROR(StatusFromResponse(resp, "cluster info"));
  TH_ASSIGN_OR_RETURN(auto info,
                      remoting::ClusterInfo::Parse(resp.body_view()));
  std::vector<remoting::BrokerData> brokers;
  for (const auto& [name, bd] : info.broker_addr_table) brokers.push_back(bd);
  RememberBrokers(brokers);
  return info;
}

Result<std::vector<std::string>> ClientInstance::FetchAllTopics() {
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      InvokeNameServer(
          NewRequest(remoting::request_code::kGetAllTopicListFromNameserver)));
  TH_RETURN_IF_ERROR(StatusFromResponse(resp, "topic list"));
  TH_ASSIGN_OR_RETURN(auto list, remoting::TopicList::Parse(resp.body_view()));
  return std::move(list.topic_list);
}

void ClientInstance::RememberBrokers(
    const std::vector<remoting::BrokerData>& brokers) {
  MutexLock lock(&mu_);
  for (const auto& bd : brokers) {
    auto it = bd.broker_addrs.find(0);
    if (it != bd.broker_addrs.end()) masters_[bd.broker_name] = it->second;
  }
}

Result<std::string> ClientInstance::FindBrokerMaster(
    std::string_view broker_name) {
  MutexLock lock(&mu_);
  auto it = masters_.find(broker_name);
  if (it == masters_.end())
    return Status::NotFound(
        fmt::format("no master address known for broker {}", broker_name));
  return it->second;
}

std::vector<std::string> ClientInstance::KnownBrokerAddrs() {
  MutexLock lock(&mu_);
  std::set<std::string> addrs;
  for (const auto& [name, addr] : masters_) addrs.insert(addr);
  return {addrs.begin(), addrs.end()};
}

void ClientInstance::RegisterProducerGroup(std::string group) {
  MutexLock lock(&mu_);
  producer_groups_.insert(std::move(group));
}

void ClientInstance::RegisterConsumer(ConsumerRegistration consumer) {
  MutexLock lock(&mu_);
  std::string name = consumer.group;
  consumers_[name] = std::move(consumer);
}

std::string ClientInstance::BuildHeartbeatBody() {
  json::Value hb = json::Value::Object();
  hb.Set("clientID", json::Value::String(client_id_));
  json::Value consumers = json::Value::Array();
  json::Value producers = json::Value::Array();
  {
    MutexLock lock(&mu_);
    for (const auto& [g, c] : consumers_) {
      json::Value cd = json::Value::Object();
      cd.Set("consumeFromWhere", json::Value::String(c.consume_from_where));
      cd.Set("consumeType", json::Value::String(c.consume_type));
      cd.Set("groupName", json::Value::String(g));
      cd.Set("messageModel", json::Value::String("CLUSTERING"));
      json::Value subs = json::Value::Array();
      for (const auto& t : c.topics) {
        json::Value s = json::Value::Object();
        s.Set("classFilterMode", json::Value::Bool(false));
        s.Set("codeSet", json::Value::Array());
        s.Set("expressionType", json::Value::String("TAG"));
        s.Set("subString", json::Value::String("*"));
        s.Set("subVersion", json::Value::Int(0));
        s.Set("tagsSet", json::Value::Array());
        s.Set("topic", json::Value::String(t));
        subs.Push(std::move(s));
      }
      cd.Set("subscriptionDataSet", std::move(subs));
      cd.Set("unitMode", json::Value::Bool(false));
      consumers.Push(std::move(cd));
    }
    for (const auto& g : producer_groups_) {
      json::Value pd = json::Value::Object();
      pd.Set("groupName", json::Value::String(g));
      producers.Push(std::move(pd));
    }
  }
  hb.Set("consumerDataSet", std::move(consumers));
  hb.Set("producerDataSet", std::move(producers));
  return json::Write(hb);
}

Status ClientInstance::SendHeartbeats() {
  std::string body = BuildHeartbeatBody();
  Status first;
  for (const auto& addr : KnownBrokerAddrs()) {
    RemotingCommand req = NewRequest(remoting::request_code::kHeartBeat);
    req.set_body(std::string_view(body));
    auto r = InvokeBroker(addr, std::move(req));
    Status s =
        r.ok() ? StatusFromResponse(*r, "heartbeat to " + addr) : r.status();
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

void ClientInstance::HeartbeatThread::Run() {
  while (!stopped()) {
    WaitForRunning(interval_ms_);
    if (stopped()) break;
    Status s = owner_->SendHeartbeats();
    if (!s.ok()) TH_LOG(client, kWarn, "heartbeat: {}", s.ToString());
  }
}

}  // namespace thruster::client
