// The apache.rocketmq.v2.MessagingService endpoint (spec/pop.md §9) and its
// server. Each RPC builds the remoting request RocketMQ's proxy sends in local
// mode and runs it through the broker's processors (Broker::ProcessLocally);
// the processor's answer, delivered to a sink responder now or later (a parked
// pop), completes the gRPC call. Only the callback API is used, so a long poll
// holds no thread.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apache/rocketmq/v2/service.grpc.pb.h"
#include "broker/acl/plain_access_validator.h"
#include "broker/client_manager.h"
#include "broker/runtime_config.h"
#include "broker/topic_config_manager.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/mutex.h"
#include "common/service_thread.h"
#include "message/commit_log_format.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "proxy/grpc_server.h"
#include "proxy/grpc_server_tls.h"
#include "proxy/proxy_util.h"
#include "remoting/codes.h"
#include "remoting/pop_protocol.h"
#include "remoting/pull_sys_flag.h"
#include "remoting/remoting_command.h"
#include "remoting/route_data.h"
#include "remoting/tls_file_watch_service.h"

namespace thruster::proxy {
namespace {

namespace v2 = apache::rocketmq::v2;
namespace acl = broker::acl;
using remoting::PopExtraInfo;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;

// The proxy's settings (spec/pop.md §10), RocketMQ's defaults.
constexpr int64_t kGrpcMinLongPollingMs = 5000;
constexpr int64_t kGrpcMaxLongPollingMs = 20000;
constexpr int32_t kGrpcReceiveBatchSize = 32;
constexpr int64_t kGrpcMinInvisibleMs = 10000;
constexpr int64_t kGrpcMaxInvisibleMs = 12LL * 3600 * 1000;
constexpr int32_t kGrpcMaxBodySize = 4 * 1024 * 1024;
constexpr size_t kGrpcMaxMessageGroupSize = 64;
constexpr int64_t kGrpcMaxDelayMs = 24LL * 3600 * 1000;
constexpr int64_t kGrpcMaxTransactionRecoverySec = 3600;
constexpr int64_t kGrpcTransactionDataExpireMs = 30000;
constexpr size_t kGrpcTransactionDataMaxNum = 15;
constexpr int32_t kGrpcRetryMaxTimes = 16;
// Where a message whose stream write failed becomes visible again.
constexpr int64_t kGrpcInvisibleWhenClearMs = 1000;
// gRPC clients have no remoting connection; their registrations in the
// ClientManager are keyed by ids from this range instead.
constexpr uint64_t kGrpcChannelIdBase = 1ULL << 62;

// Property names RocketMQ reserves (MessageConst's set): a user property may
// not use them, and they are not handed back as user properties.
const std::set<std::string, std::less<>>& ReservedPropertyNames() {
  static const auto* names = new std::set<std::string, std::less<>>{
      "TRACE_ON", "MSG_REGION", "KEYS", "TAGS", "WAIT", "DELAY",
      "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP",
      "MIN_OFFSET", "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID",
      "TRANSFER_FLAG", "CORRECTION_FLAG", "MQ2_FLAG", "RECONSUME_TIME",
      "UNIQ_KEY", "MAX_RECONSUME_TIMES", "CONSUME_START_TIME", "POP_CK",
      "POP_CK_OFFSET", "1ST_POP_TIME", "TRAN_PREPARED_QUEUE_OFFSET",
      "TRANSACTION_CHECK_TIMES", "CHECK_IMMUNITY_TIME_IN_SECONDS",
      "__SHARDINGKEY", "__BORNHOST", "TIMER_DELIVER_MS", "TIMER_DELAY_SEC",
      "TIMER_DELAY_MS", "TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS",
      "TIMER_ROLL_TIMES", "TIMER_DEL_UNIQKEY", "TRACE_CONTEXT", "CLUSTER",
      "INSTANCE_ID", "CORRELATION_ID", "REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME",
      "PUSH_REPLY_TIME", "MSG_TYPE", "DLQ_ORIGIN_TOPIC",
      "DLQ_ORIGIN_MESSAGE_ID", "__CRC32#", "INNER_NUM", "INNER_BASE",
      "bname", "TIMER_ENQUEUE_MS"};
  return *names;
}

constexpr std::string_view kPropShardingKey = "__SHARDINGKEY";
constexpr std::string_view kPropBornHost = "__BORNHOST";
constexpr std::string_view kPropTimerDeliverMs = "TIMER_DELIVER_MS";
constexpr std::string_view kPropTimerDelaySec = "TIMER_DELAY_SEC";
constexpr std::string_view kPropTranMsg = "TRAN_MSG";
constexpr std::string_view kPropProducerGroup = "PGROUP";
constexpr std::string_view kPropTraceContext = "TRACE_CONTEXT";
constexpr std::string_view kPropCheckImmunity =
    "CHECK_IMMUNITY_TIME_IN_SECONDS";

void SetGrpcStatus(v2::Status* status, v2::Code code,
                   std::string_view message) {
  status->set_code(code);
  status->set_message(std::string(message));
}

std::string ClientMetadata(const grpc::CallbackServerContext* ctx,
                           std::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

int64_t DurationMs(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

void SetDurationMs(google::protobuf::Duration* d, int64_t ms) {
  d->set_seconds(ms / 1000);
  d->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

void SetTimestampMs(google::protobuf::Timestamp* t, int64_t ms) {
  t->set_seconds(ms / 1000);
  t->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

int64_t TimestampMs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

std::string UpperHexMd5(std::span<const std::byte> data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1)
    return "";
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kDigits[md[i] >> 4];
    out += kDigits[md[i] & 0xF];
  }
  return out;
}

std::vector<std::string_view> GrpcSplit(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  size_t pos = 0;
  while (true) {
    const size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string_view::npos ? s.npos
                                                              : at - pos));
    if (at == std::string_view::npos) break;
    pos = at + 1;
  }
  return out;
}

std::optional<int64_t> GrpcParseInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

// A remoting answer's code as the proxy reports it for a send (§9.4).
v2::Code SendCode(int32_t code) {
  switch (code) {
    case rc::kSuccess:
      return v2::OK;
    case rc::kFlushDiskTimeout:
      return v2::MASTER_PERSISTENCE_TIMEOUT;
    case rc::kFlushSlaveTimeout:
      return v2::SLAVE_PERSISTENCE_TIMEOUT;
    case rc::kSlaveNotAvailable:
      return v2::HA_NOT_AVAILABLE;
    case rc::kTopicNotExist:
      return v2::TOPIC_NOT_FOUND;
    case rc::kNoPermission:
      return v2::FORBIDDEN;
    case rc::kMessageIllegal:
      return v2::BAD_REQUEST;
    default:
      return v2::INTERNAL_SERVER_ERROR;
  }
}

// "ip:port" or the bare host for the route's endpoints.
v2::AddressScheme SchemeOf(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return v2::IPv6;
  for (char c : host)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return v2::DOMAIN_NAME;
  return v2::IPv4;
}

// The message type a stored message's properties say it is (§9.14).
v2::MessageType TypeOfProperties(std::string_view props) {
  if (auto t = message::FindProperty(props, kPropTranMsg); t && *t == "true")
    return v2::TRANSACTION;
  if (message::FindProperty(props, message::prop::kDelay) ||
      message::FindProperty(props, kPropTimerDeliverMs) ||
      message::FindProperty(props, kPropTimerDelaySec) ||
      message::FindProperty(props, "TIMER_DELAY_MS"))
    return v2::DELAY;
  if (message::FindProperty(props, kPropShardingKey)) return v2::FIFO;
  return v2::NORMAL;
}

// What a gRPC client's `authorization` metadata names (spec/acl.md §10.2):
// "MQv2-HMAC-SHA1 Credential=<AK>, SignedHeaders=x-mq-date-time,
// Signature=<upper-case hex>". Fields left empty when absent or malformed.
struct GrpcCredential {
  std::string access_key;
  std::string signature_hex;
};

GrpcCredential ParseGrpcAuthorization(std::string_view value) {
  GrpcCredential out;
  const size_t space = value.find(' ');
  if (space == std::string_view::npos ||
      value.substr(0, space) != "MQv2-HMAC-SHA1")
    return out;
  for (std::string_view item : GrpcSplit(value.substr(space + 1), ',')) {
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, eq);
    const std::string_view val = item.substr(eq + 1);
    if (key == "Credential") out.access_key = std::string(val);
    if (key == "Signature") out.signature_hex = std::string(val);
  }
  return out;
}

// The client's hex signature as the Base64 the validator compares with (the
// proxy converts it so); empty when it is not hex.
std::string GrpcHexToBase64(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return "";
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<unsigned char> bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    bytes.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                bytes.data(), static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// The client IP of a gRPC peer ("ipv4:1.2.3.4:5", "ipv6:[::1]:5") in the
// form the ACL address rules match (no port, no brackets).
std::string GrpcPeerIp(std::string_view peer) {
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.starts_with("ipv6:")) {
    peer.remove_prefix(5);
    if (!peer.empty() && peer.front() == '[') {
      const size_t close = peer.find(']');
      std::string_view ip = peer.substr(1, close == std::string_view::npos
                                               ? std::string_view::npos
                                               : close - 1);
      if (ip.starts_with("::ffff:") && ip.find('.') != std::string_view::npos)
        ip.remove_prefix(7);
      return std::string(ip);
    }
  }
  return std::string(peer);
}

acl::AclResource GrpcAclTopic(std::string_view topic, uint8_t needed) {
  return {std::string(topic), needed};
}

acl::AclResource GrpcAclGroup(std::string_view group, uint8_t needed) {
  return {std::string(acl::kRetryGroupTopicPrefix) + std::string(group),
          needed};
}

}  // namespace

// The per-client state the proxy keeps: the settings a client sent on its
// Telemetry stream, its registration id, and the stream to reach it on.
class TelemetryCall;

class MessagingServiceImpl final : public v2::MessagingService::CallbackService {
 public:
  MessagingServiceImpl(broker::Broker& broker, uint16_t* grpc_port)
      : broker_(broker), grpc_port_(grpc_port) {}

  // --- RPCs ---------------------------------------------------------------
  grpc::ServerUnaryReactor* QueryRoute(grpc::CallbackServerContext* ctx,
                                       const v2::QueryRouteRequest* req,
                                       v2::QueryRouteResponse* resp) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const v2::HeartbeatRequest* req,
                                      v2::HeartbeatResponse* resp) override;
  grpc::ServerUnaryReactor* SendMessage(grpc::CallbackServerContext* ctx,
                                        const v2::SendMessageRequest* req,
                                        v2::SendMessageResponse* resp) override;
  grpc::ServerUnaryReactor* QueryAssignment(
      grpc::CallbackServerContext* ctx, const v2::QueryAssignmentRequest* req,
      v2::QueryAssignmentResponse* resp) override;
  grpc::ServerWriteReactor<v2::ReceiveMessageResponse>* ReceiveMessage(
      grpc::CallbackServerContext* ctx,
      const v2::ReceiveMessageRequest* req) override;
  grpc::ServerUnaryReactor* AckMessage(grpc::CallbackServerContext* ctx,
                                       const v2::AckMessageRequest* req,
                                       v2::AckMessageResponse* resp) override;
  grpc::ServerUnaryReactor* ChangeInvisibleDuration(
      grpc::CallbackServerContext* ctx,
      const v2::ChangeInvisibleDurationRequest* req,
      v2::ChangeInvisibleDurationResponse* resp) override;
  grpc::ServerUnaryReactor* ForwardMessageToDeadLetterQueue(
      grpc::CallbackServerContext* ctx,
      const v2::ForwardMessageToDeadLetterQueueRequest* req,
      v2::ForwardMessageToDeadLetterQueueResponse* resp) override;
  grpc::ServerUnaryReactor* EndTransaction(
      grpc::CallbackServerContext* ctx, const v2::EndTransactionRequest* req,
      v2::EndTransactionResponse* resp) override;
  grpc::ServerUnaryReactor* NotifyClientTermination(
      grpc::CallbackServerContext* ctx,
      const v2::NotifyClientTerminationRequest* req,
      v2::NotifyClientTerminationResponse* resp) override;
  grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand>*
  Telemetry(grpc::CallbackServerContext* ctx) override;
  // PullMessage and the offset RPCs are not served by RocketMQ 5.3's proxy
  // (§9.13); here they are the remoting PULL_MESSAGE and offset requests.
  grpc::ServerWriteReactor<v2::PullMessageResponse>* PullMessage(
      grpc::CallbackServerContext* ctx,
      const v2::PullMessageRequest* req) override;
  grpc::ServerUnaryReactor* UpdateOffset(grpc::CallbackServerContext* ctx,
                                         const v2::UpdateOffsetRequest* req,
                                         v2::UpdateOffsetResponse* resp) override;
  grpc::ServerUnaryReactor* GetOffset(grpc::CallbackServerContext* ctx,
                                      const v2::GetOffsetRequest* req,
                                      v2::GetOffsetResponse* resp) override;
  grpc::ServerUnaryReactor* QueryOffset(grpc::CallbackServerContext* ctx,
                                        const v2::QueryOffsetRequest* req,
                                        v2::QueryOffsetResponse* resp) override;
  // RECALL_MESSAGE with producerGroup = topic (§9.13).
  grpc::ServerUnaryReactor* RecallMessage(
      grpc::CallbackServerContext* ctx, const v2::RecallMessageRequest* req,
      v2::RecallMessageResponse* resp) override;
  grpc::ServerUnaryReactor* SyncLiteSubscription(
      grpc::CallbackServerContext* ctx, const v2::SyncLiteSubscriptionRequest*,
      v2::SyncLiteSubscriptionResponse*) override {
    return Unimplemented(ctx, "SyncLiteSubscription");
  }

  // --- used by the calls --------------------------------------------------
  // Runs `req` through the broker's processor for its code; `done` gets the
  // answer on whichever thread gives it.
  void Local(RemotingCommand req,
             std::function<void(RemotingCommand)> done) const {
    remoting::Responder responder(
        [done = std::move(done)](RemotingCommand resp) { done(std::move(resp)); },
        req);
    broker_.ProcessLocally(std::move(req), std::move(responder));
  }
  // A Telemetry settings command: stores and registers it; the merged
  // settings to answer with, or an error status for the stream.
  grpc::Status OnSettings(const std::string& client_id,
                          const std::string& remote,
                          const v2::Settings& settings,
                          const std::shared_ptr<TelemetryCall*>& link,
                          v2::Settings* merged);
  // The Telemetry stream of `client_id` closed.
  void OnTelemetryGone(const std::string& client_id,
                       const std::shared_ptr<TelemetryCall*>& link);
  // CHECK_TRANSACTION_STATE for producer group `group` (= a topic): relayed
  // to a gRPC producer of that topic as recover_orphaned_transaction_command.
  Status RelayTransactionCheck(std::string_view group, RemotingCommand req);
  // Gives every registered gRPC client's heartbeat time a refresh (called
  // from Heartbeat).
  v2::Code Register(const std::string& client_id, std::string_view group);
  const broker::BrokerConfig& config() const { return broker_.config(); }
  int64_t NowMs() const { return SystemClock::Default()->NowMs(); }
  // Writes the broker message `rec` (popped from `topic`) as a proto message.
  void BuildMessage(const message::DecodedRecord& rec, std::string_view topic,
                    const PopExtraInfo& handle, v2::Message* out) const;
  // Drops the settings and registrations of `client_id`; with `idle_before`,
  // only when its last heartbeat came before that time.
  void Unregister(const std::string& client_id,
                  std::optional<int64_t> idle_before = std::nullopt);
  // Drops every client whose last heartbeat (or settings) is older than
  // `timeout_ms` (channelExpiredTimeout, as the ClientManager expires its
  // registration); how many went.
  size_t ExpireIdleClients(int64_t now_ms, int64_t timeout_ms);
  // aclEnable (spec/acl.md §10.2): nullopt when the call may go on, else the
  // status to answer with: UNAUTHORIZED when authentication failed,
  // FORBIDDEN when a permission is missing.
  std::optional<std::pair<v2::Code, std::string>> CheckAcl(
      const grpc::CallbackServerContext* ctx,
      const std::vector<acl::AclResource>& needed, int32_t request_code);
  // CheckAcl for a unary call: true when it was refused (and finished).
  template <typename Response>
  bool RefuseUnary(grpc::CallbackServerContext* ctx,
                   grpc::ServerUnaryReactor* r, Response* resp,
                   const std::vector<acl::AclResource>& needed,
                   int32_t request_code) {
    std::optional<std::pair<v2::Code, std::string>> refused =
        CheckAcl(ctx, needed, request_code);
    if (!refused) return false;
    SetGrpcStatus(resp->mutable_status(), refused->first, refused->second);
    r->Finish(grpc::Status::OK);
    return true;
  }
  // The group's consumeMessageOrderly: its clients pop orderly (§7).
  bool OrderlyGroup(std::string_view group) const {
    std::optional<broker::SubscriptionGroupConfig> g =
        broker_.groups().Find(std::string(group));
    return g && g->consume_message_orderly;
  }
  // Makes popped messages that could not be handed out visible again soon.
  void ReleaseHandles(const std::string& group, const std::string& topic,
                      const std::vector<PopExtraInfo>& handles) const;

 private:
  struct ClientState {
    v2::ClientType type = v2::CLIENT_TYPE_UNSPECIFIED;
    std::vector<std::string> topics;  // a producer's topics
    std::string group;                // a consumer's group
    std::vector<broker::SubscriptionData> subscriptions;
    bool push = false;
    std::string remote;
    uint64_t channel_id = 0;
    int64_t last_heartbeat_ms = 0;  // settings or heartbeat
    std::weak_ptr<TelemetryCall*> telemetry;
  };
  struct TransactionData {
    int64_t tran_state_table_offset = 0;
    int64_t commit_log_offset = 0;
    int64_t expire_ms = 0;
  };

  grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* ctx,
                                          std::string_view rpc) {
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                           std::string(rpc) + " is not implemented"));
    return r;
  }
  // Registers the client's stored settings with the ClientManager (producer
  // per topic, consumer for its group).
  void RegisterLocked(const std::string& client_id, const ClientState& c)
      TH_REQUIRES(mu_);
  void RememberTransaction(const std::string& group, const std::string& txn_id,
                           int64_t table_offset, int64_t phys_offset)
      TH_EXCLUDES(txn_mu_);
  std::optional<TransactionData> FindTransaction(const std::string& group,
                                                 const std::string& txn_id)
      TH_EXCLUDES(txn_mu_);
  // Sends one proto message through SEND_MESSAGE; `done` gets the entry.
  void SendOne(const v2::Message& m, int32_t queue_id,
               const std::string& remote,
               std::function<void(v2::SendResultEntry)> done);
  // The topic's write queue for one send (message group → jump hash).
  int32_t ChooseQueue(const remoting::TopicConfig& tc,
                      const v2::Message& m);

  broker::Broker& broker_;
  const uint16_t* grpc_port_;
  std::atomic<uint64_t> next_channel_{0};
  std::atomic<uint32_t> round_robin_{0};
  mutable Mutex mu_;
  std::map<std::string, ClientState, std::less<>> clients_ TH_GUARDED_BY(mu_);
  Mutex txn_mu_;
  // "<group>@<transaction id>" → where the half message is.
  std::map<std::string, std::deque<TransactionData>, std::less<>> txns_
      TH_GUARDED_BY(txn_mu_);
};

// --- Telemetry --------------------------------------------------------------

// One Telemetry stream: reads the client's commands, writes the proxy's (the
// settings answer, transaction checks) one at a time from a queue. `link_`
// points at this call until it is done, so others can reach the client.
class TelemetryCall final
    : public grpc::ServerBidiReactor<v2::TelemetryCommand,
                                     v2::TelemetryCommand> {
 public:
  TelemetryCall(MessagingServiceImpl* svc, grpc::CallbackServerContext* ctx)
      : svc_(svc),
        ctx_(ctx),
        client_id_(ClientMetadata(ctx, "x-mq-client-id")),
        remote_(ctx->peer()),
        link_(std::make_shared<TelemetryCall*>(this)) {
    // With ACL, the stream's opener must authenticate; what its settings
    // name is checked when they come.
    if (auto refused =
            svc_->CheckAcl(ctx, {}, remoting::request_code::kHeartBeat)) {
      FinishOnce(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                              refused->second));
      return;
    }
    StartRead(&in_);
  }

  // Queues `cmd` for the client; from any thread.
  void Push(v2::TelemetryCommand cmd) TH_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (finished_) return;
    out_.push_back(std::move(cmd));
    if (writing_) return;
    writing_ = true;
    // Under mu_, so it cannot follow Finish (writes never run their reaction
    // inline, so OnWriteDone does not deadlock on mu_).
    StartWrite(&out_.front());
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status::OK);
      return;
    }
    if (in_.has_settings()) {
      v2::TelemetryCommand answer;
      if (client_id_.empty()) {
        FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "x-mq-client-id is required"));
        return;
      }
      if (auto refused = svc_->CheckAcl(ctx_, NeededBy(in_.settings()),
                                        remoting::request_code::kHeartBeat)) {
        FinishOnce(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                refused->second));
        return;
      }
      grpc::Status s = svc_->OnSettings(client_id_, remote_, in_.settings(),
                                        link_, answer.mutable_settings());
      if (!s.ok()) {
        FinishOnce(s);
        return;
      }
      SetGrpcStatus(answer.mutable_status(), v2::OK, "OK");
      Push(std::move(answer));
    }
    // Thread stack traces and verify results answer admin relays this broker
    // never sends; nothing to do with them.
    in_.Clear();
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    out_.pop_front();
    if (!ok || out_.empty() || finished_) {
      // !ok: the stream is broken; the read side finishes it.
      if (!ok) out_.clear();
      writing_ = false;
      return;
    }
    StartWrite(&out_.front());
  }

  void OnDone() override {
    svc_->OnTelemetryGone(client_id_, link_);
    *link_ = nullptr;
    delete this;
  }

 private:
  void FinishOnce(grpc::Status s) TH_EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(std::move(s));
  }

  // What a client's settings need under ACL: PUB on a producer's topics; SUB
  // on a consumer's group and topics.
  static std::vector<acl::AclResource> NeededBy(const v2::Settings& settings) {
    std::vector<acl::AclResource> needed;
    if (settings.has_publishing()) {
      for (const v2::Resource& t : settings.publishing().topics())
        needed.push_back(GrpcAclTopic(t.name(), acl::perm::kPub));
    }
    if (settings.has_subscription()) {
      const v2::Subscription& sub = settings.subscription();
      needed.push_back(GrpcAclGroup(sub.group().name(), acl::perm::kSub));
      for (const v2::SubscriptionEntry& e : sub.subscriptions())
        needed.push_back(GrpcAclTopic(e.topic().name(), acl::perm::kSub));
    }
    return needed;
  }

  MessagingServiceImpl* svc_;
  grpc::CallbackServerContext* const ctx_;
  const std::string client_id_;
  const std::string remote_;
  // Points at this call while it lives (read under the service's mu_).
  std::shared_ptr<TelemetryCall*> link_;
  v2::TelemetryCommand in_;
  Mutex mu_;
  std::deque<v2::TelemetryCommand> out_ TH_GUARDED_BY(mu_);
  bool writing_ TH_GUARDED_BY(mu_) = false;
  bool finished_ TH_GUARDED_BY(mu_) = false;
};

grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand>*
MessagingServiceImpl::Telemetry(grpc::CallbackServerContext* ctx) {
  return new TelemetryCall(this, ctx);
}

grpc::Status MessagingServiceImpl::OnSettings(
    const std::string& client_id, const std::string& remote,
    const v2::Settings& settings, const std::shared_ptr<TelemetryCall*>& link,
    v2::Settings* merged) {
  ClientState c;
  c.remote = remote;
  c.telemetry = link;
  c.type = settings.client_type();
  *merged = settings;
  if (settings.has_publishing()) {
    for (const v2::Resource& t : settings.publishing().topics())
      c.topics.push_back(t.name());
    v2::Publishing* p = merged->mutable_publishing();
    p->set_max_body_size(kGrpcMaxBodySize);
    // Thruster's topics carry no message.type unless set; every type is
    // accepted (the route says so too), so there is nothing to validate.
    p->set_validate_message_type(false);
    v2::RetryPolicy* backoff = merged->mutable_backoff_policy();
    backoff->set_max_attempts(3);
    v2::ExponentialBackoff* e = backoff->mutable_exponential_backoff();
    SetDurationMs(e->mutable_initial(), 10);
    SetDurationMs(e->mutable_max(), 1000);
    e->set_multiplier(2);
  } else if (settings.has_subscription()) {
    const v2::Subscription& sub = settings.subscription();
    c.group = sub.group().name();
    if (c.group.empty())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a subscription needs a group");
    c.push = settings.client_type() == v2::PUSH_CONSUMER;
    for (const v2::SubscriptionEntry& e : sub.subscriptions()) {
      std::string expr = e.expression().expression();
      if (e.expression().type() == v2::SQL) {
        c.subscriptions.push_back(
            broker::SubscriptionData::Sql92(e.topic().name(), expr));
        continue;
      }
      Result<broker::SubscriptionData> d = broker::SubscriptionData::Build(
          e.topic().name(), expr.empty() ? "*" : expr, "TAG");
      if (!d.ok())
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            std::string(d.status().message()));
      c.subscriptions.push_back(std::move(d).value());
    }
    v2::Subscription* m = merged->mutable_subscription();
    m->set_fifo(OrderlyGroup(c.group));
    m->set_receive_batch_size(kGrpcReceiveBatchSize);
    SetDurationMs(m->mutable_long_polling_timeout(), kGrpcMaxLongPollingMs);
    v2::RetryPolicy* backoff = merged->mutable_backoff_policy();
    int32_t retry_max = kGrpcRetryMaxTimes;
    if (std::optional<broker::SubscriptionGroupConfig> g =
            broker_.groups().Find(c.group))
      retry_max = g->retry_max_times;
    backoff->set_max_attempts(retry_max + 1);
    v2::CustomizedBackoff* cb = backoff->mutable_customized_backoff();
    // The group's default retry policy (1s 5s 10s 30s 1m ... 2h).
    for (int64_t s : {1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540,
                      600, 1200, 1800, 3600, 7200})
      SetDurationMs(cb->add_next(), s * 1000);
  } else {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "settings name neither publishing nor subscription");
  }
  merged->mutable_metric()->set_on(false);
  c.last_heartbeat_ms = NowMs();
  MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  c.channel_id = it != clients_.end() ? it->second.channel_id
                                      : kGrpcChannelIdBase + ++next_channel_;
  ClientState& stored = clients_[client_id];
  stored = std::move(c);
  RegisterLocked(client_id, stored);
  return grpc::Status::OK;
}

void MessagingServiceImpl::RegisterLocked(const std::string& client_id,
                                          const ClientState& c) {
  broker::HeartbeatData hb;
  hb.client_id = client_id;
  if (!c.topics.empty()) hb.producer_groups = c.topics;
  if (!c.group.empty()) {
    broker::ConsumerData d;
    d.group_name = c.group;
    d.consume_type = c.push ? "CONSUME_PASSIVELY" : "CONSUME_ACTIVELY";
    d.message_model = "CLUSTERING";
    d.consume_from_where = "CONSUME_FROM_LAST_OFFSET";
    d.subscriptions = c.subscriptions;
    hb.consumers.push_back(std::move(d));
  }
  broker::ClientChannel channel;
  channel.client_id = client_id;
  channel.connection_id = c.channel_id;
  channel.remote_address = c.remote;
  channel.language = "HTTP";
  channel.last_update_ms = NowMs();
  broker_.clients().NotifyConsumerIdsChanged(
      broker_.clients().Heartbeat(hb, channel));
}

void MessagingServiceImpl::OnTelemetryGone(
    const std::string& client_id, const std::shared_ptr<TelemetryCall*>& link) {
  MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return;
  std::shared_ptr<TelemetryCall*> current = it->second.telemetry.lock();
  if (current == link) it->second.telemetry.reset();
}

v2::Code MessagingServiceImpl::Register(const std::string& client_id,
                                        std::string_view group) {
  MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return v2::UNRECOGNIZED_CLIENT_TYPE;
  if (!group.empty() && !it->second.group.empty() &&
      it->second.group != group)
    it->second.group = std::string(group);
  it->second.last_heartbeat_ms = NowMs();
  RegisterLocked(client_id, it->second);
  return v2::OK;
}

void MessagingServiceImpl::Unregister(const std::string& client_id,
                                      std::optional<int64_t> idle_before) {
  std::vector<std::string> changed;
  {
    MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return;
    if (idle_before && it->second.last_heartbeat_ms >= *idle_before) return;
    for (const std::string& topic : it->second.topics) {
      std::vector<std::string> c =
          broker_.clients().Unregister(it->second.channel_id, topic, "");
      changed.insert(changed.end(), c.begin(), c.end());
    }
    if (!it->second.group.empty()) {
      std::vector<std::string> c = broker_.clients().Unregister(
          it->second.channel_id, "", it->second.group);
      changed.insert(changed.end(), c.begin(), c.end());
    }
    clients_.erase(it);
  }
  broker_.clients().NotifyConsumerIdsChanged(changed);
}

size_t MessagingServiceImpl::ExpireIdleClients(int64_t now_ms,
                                              int64_t timeout_ms) {
  std::vector<std::string> idle;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, c] : clients_)
      if (now_ms - c.last_heartbeat_ms > timeout_ms) idle.push_back(id);
  }
  for (const std::string& id : idle) {
    TH_LOG(broker, kInfo,
           "gRPC client {} sent no heartbeat for {} ms; its settings are "
           "dropped",
           id, timeout_ms);
    Unregister(id, now_ms - timeout_ms);
  }
  return idle.size();
}

std::optional<std::pair<v2::Code, std::string>> MessagingServiceImpl::CheckAcl(
    const grpc::CallbackServerContext* ctx,
    const std::vector<acl::AclResource>& needed, int32_t request_code) {
  acl::PlainAccessValidator* validator = broker_.acl();
  if (validator == nullptr) return std::nullopt;
  const GrpcCredential cred =
      ParseGrpcAuthorization(ClientMetadata(ctx, "authorization"));
  std::optional<acl::PlainAccessValidator::Decision> refused =
      validator->AdmitSigned(GrpcPeerIp(ctx->peer()), cred.access_key,
                             ClientMetadata(ctx, "x-mq-date-time"),
                             GrpcHexToBase64(cred.signature_hex), needed,
                             request_code);
  if (!refused) return std::nullopt;
  return std::make_pair(
      refused->auth_failure ? v2::UNAUTHORIZED : v2::FORBIDDEN,
      std::move(refused->reason));
}

Status MessagingServiceImpl::RelayTransactionCheck(std::string_view group,
                                                   RemotingCommand req) {
  TelemetryCall* call = nullptr;
  std::shared_ptr<TelemetryCall*> link;
  {
    MutexLock lock(&mu_);
    for (auto& [id, c] : clients_) {
      if (std::find(c.topics.begin(), c.topics.end(), group) ==
          c.topics.end())
        continue;
      link = c.telemetry.lock();
      if (link && *link) {
        call = *link;
        break;
      }
    }
    if (!call)
      return Status::NotFound("no gRPC producer of topic " +
                              std::string(group));
    message::RecordCheck rec = message::CheckRecord(req.body(), false);
    if (rec.status != message::RecordStatus::kOk)
      return Status::Corruption("transaction check without a message record");
    const std::string txn_id(req.ExtOr("transactionId", ""));
    RememberTransaction(std::string(group), txn_id,
                        req.ExtInt64Or("tranStateTableOffset", 0),
                        req.ExtInt64Or("commitLogOffset", 0));
    v2::TelemetryCommand cmd;
    v2::RecoverOrphanedTransactionCommand* r =
        cmd.mutable_recover_orphaned_transaction_command();
    r->set_transaction_id(txn_id);
    PopExtraInfo no_handle;
    BuildMessage(rec.record, req.ExtOr("topic", group), no_handle,
                 r->mutable_message());
    r->mutable_message()->mutable_system_properties()->clear_receipt_handle();
    SetGrpcStatus(cmd.mutable_status(), v2::OK, "OK");
    // Still under mu_: OnTelemetryGone (run before the call is deleted) waits
    // for it, so the call is alive here.
    call->Push(std::move(cmd));
  }
  return Status::OK();
}

void MessagingServiceImpl::RememberTransaction(const std::string& group,
                                               const std::string& txn_id,
                                               int64_t table_offset,
                                               int64_t phys_offset) {
  if (txn_id.empty()) return;
  const int64_t now = NowMs();
  MutexLock lock(&txn_mu_);
  // Drop what has expired (a linear pass is cheap at the sizes involved:
  // entries live 30 s).
  for (auto it = txns_.begin(); it != txns_.end();) {
    while (!it->second.empty() && it->second.front().expire_ms <= now)
      it->second.pop_front();
    it = it->second.empty() ? txns_.erase(it) : std::next(it);
  }
  std::deque<TransactionData>& q = txns_[group + "@" + txn_id];
  q.push_back({table_offset, phys_offset, now + kGrpcTransactionDataExpireMs});
  while (q.size() > kGrpcTransactionDataMaxNum) q.pop_front();
}

std::optional<MessagingServiceImpl::TransactionData>
MessagingServiceImpl::FindTransaction(const std::string& group,
                                      const std::string& txn_id) {
  const int64_t now = NowMs();
  MutexLock lock(&txn_mu_);
  auto it = txns_.find(group + "@" + txn_id);
  if (it == txns_.end()) return std::nullopt;
  std::optional<TransactionData> out;
  for (const TransactionData& d : it->second)
    if (d.expire_ms > now) out = d;
  txns_.erase(it);
  return out;
}

// --- QueryRoute, Heartbeat, QueryAssignment ---------------------------------

grpc::ServerUnaryReactor* MessagingServiceImpl::QueryRoute(
    grpc::CallbackServerContext* ctx, const v2::QueryRouteRequest* req,
    v2::QueryRouteResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->topic().name();
  if (RefuseUnary(ctx, r, resp, {GrpcAclTopic(topic, acl::perm::kAny)},
                  remoting::request_code::kGetRouteinfoByTopic))
    return r;
  std::optional<remoting::TopicConfig> tc = broker_.topics().Find(topic);
  if (!tc && broker::ValidateTopicName(topic).ok() &&
      !broker::IsNotAllowedToSend(topic)) {
    // As a send to an unknown topic would (TBW102 with autoCreateTopicEnable):
    // a 5.x client asks for the route before its first send.
    auto created = broker_.topics().CreateTopicInSendMessage(
        topic, broker::kAutoCreateTopicKey, 4);
    if (created.ok()) tc = created->first;
  }
  if (!tc) {
    SetGrpcStatus(resp->mutable_status(), v2::TOPIC_NOT_FOUND,
                  "topic " + topic + " does not exist");
    r->Finish(grpc::Status::OK);
    return r;
  }
  v2::Broker b;
  b.set_name(config().broker_name);
  b.set_id(static_cast<int32_t>(config().broker_id));
  v2::Endpoints* ep = b.mutable_endpoints();
  ep->set_scheme(SchemeOf(config().broker_ip1));
  v2::Address* addr = ep->add_addresses();
  addr->set_host(config().broker_ip1);
  addr->set_port(*grpc_port_);
  std::vector<v2::MessageType> types;
  auto type_attr = tc->attributes.find("message.type");
  if (type_attr == tc->attributes.end())
    type_attr = tc->attributes.find("+message.type");
  const std::string type_name =
      type_attr != tc->attributes.end() ? type_attr->second : "MIXED";
  if (type_name == "NORMAL") {
    types = {v2::NORMAL};
  } else if (type_name == "FIFO") {
    types = {v2::FIFO};
  } else if (type_name == "DELAY") {
    types = {v2::DELAY};
  } else if (type_name == "TRANSACTION") {
    types = {v2::TRANSACTION};
  } else {
    // MIXED, and topics without the attribute (Thruster's admin creates
    // them so): every type.
    types = {v2::NORMAL, v2::FIFO, v2::DELAY, v2::TRANSACTION};
  }
  auto add = [&](int32_t id, v2::Permission perm) {
    v2::MessageQueue* q = resp->add_message_queues();
    q->mutable_topic()->set_name(topic);
    q->mutable_topic()->set_resource_namespace(req->topic().resource_namespace());
    q->set_id(id);
    q->set_permission(perm);
    *q->mutable_broker() = b;
    for (v2::MessageType t : types) q->add_accept_message_types(t);
  };
  const bool readable = (tc->perm & remoting::kPermRead) != 0;
  const bool writable = (tc->perm & remoting::kPermWrite) != 0;
  int32_t id = 0;
  if (readable && writable) {
    const int32_t rw = std::min(tc->read_queue_nums, tc->write_queue_nums);
    for (int32_t i = 0; i < tc->read_queue_nums - rw; ++i) add(id++, v2::READ);
    for (int32_t i = 0; i < tc->write_queue_nums - rw; ++i)
      add(id++, v2::WRITE);
    for (int32_t i = 0; i < rw; ++i) add(id++, v2::READ_WRITE);
  } else if (readable) {
    for (int32_t i = 0; i < tc->read_queue_nums; ++i) add(id++, v2::READ);
  } else if (writable) {
    for (int32_t i = 0; i < tc->write_queue_nums; ++i) add(id++, v2::WRITE);
  } else {
    const int32_t n =
        std::max({tc->read_queue_nums, tc->write_queue_nums, int32_t{1}});
    for (int32_t i = 0; i < n; ++i) add(id++, v2::NONE);
  }
  SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::Heartbeat(
    grpc::CallbackServerContext* ctx, const v2::HeartbeatRequest* req,
    v2::HeartbeatResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  std::vector<acl::AclResource> needed;
  if (!req->group().name().empty())
    needed.push_back(GrpcAclGroup(req->group().name(), acl::perm::kSub));
  if (RefuseUnary(ctx, r, resp, needed, remoting::request_code::kHeartBeat))
    return r;
  const std::string client_id = ClientMetadata(ctx, "x-mq-client-id");
  if (client_id.empty()) {
    SetGrpcStatus(resp->mutable_status(), v2::CLIENT_ID_REQUIRED,
                  "x-mq-client-id is required");
  } else {
    const v2::Code code = Register(client_id, req->group().name());
    SetGrpcStatus(resp->mutable_status(), code,
                  code == v2::OK ? "OK"
                                 : "no settings from this client yet (its "
                                   "Telemetry stream sends them first)");
  }
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::QueryAssignment(
    grpc::CallbackServerContext* ctx, const v2::QueryAssignmentRequest* req,
    v2::QueryAssignmentResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(req->topic().name(), acl::perm::kSub),
                   GrpcAclGroup(req->group().name(), acl::perm::kSub)},
                  remoting::request_code::kHeartBeat))
    return r;
  std::optional<remoting::TopicConfig> tc =
      broker_.topics().Find(req->topic().name());
  if (!tc) {
    SetGrpcStatus(resp->mutable_status(), v2::TOPIC_NOT_FOUND,
                  "topic " + req->topic().name() + " does not exist");
  } else if ((tc->perm & remoting::kPermRead) == 0 ||
             tc->read_queue_nums <= 0 || config().broker_id != 0) {
    SetGrpcStatus(resp->mutable_status(), v2::FORBIDDEN, "no readable queue");
  } else {
    // The whole broker (queue id -1): its pops spread over every queue. An
    // orderly group gets one assignment per read queue instead (§9.5).
    const bool orderly = OrderlyGroup(req->group().name());
    const int32_t n = orderly ? tc->read_queue_nums : 1;
    for (int32_t i = 0; i < n; ++i) {
      v2::MessageQueue* q = resp->add_assignments()->mutable_message_queue();
      *q->mutable_topic() = req->topic();
      q->set_id(orderly ? i : -1);
      q->set_permission((tc->perm & remoting::kPermWrite) != 0
                            ? v2::READ_WRITE
                            : v2::READ);
      v2::Broker* b = q->mutable_broker();
      b->set_name(config().broker_name);
      b->set_id(0);
      v2::Endpoints* ep = b->mutable_endpoints();
      ep->set_scheme(SchemeOf(config().broker_ip1));
      v2::Address* addr = ep->add_addresses();
      addr->set_host(config().broker_ip1);
      addr->set_port(*grpc_port_);
    }
    SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
  }
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::NotifyClientTermination(
    grpc::CallbackServerContext* ctx,
    const v2::NotifyClientTerminationRequest* req,
    v2::NotifyClientTerminationResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  std::vector<acl::AclResource> needed;
  if (!req->group().name().empty())
    needed.push_back(GrpcAclGroup(req->group().name(), acl::perm::kSub));
  if (RefuseUnary(ctx, r, resp, needed,
                  remoting::request_code::kUnregisterClient))
    return r;
  const std::string client_id = ClientMetadata(ctx, "x-mq-client-id");
  bool known = false;
  {
    MutexLock lock(&mu_);
    known = clients_.count(client_id) > 0;
  }
  if (!known) {
    SetGrpcStatus(resp->mutable_status(), v2::UNRECOGNIZED_CLIENT_TYPE,
                  "no settings from this client");
  } else {
    Unregister(client_id);
    SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
  }
  r->Finish(grpc::Status::OK);
  return r;
}

// --- SendMessage -----------------------------------------------------------

int32_t MessagingServiceImpl::ChooseQueue(const remoting::TopicConfig& tc,
                                          const v2::Message& m) {
  const int32_t n = std::max(tc.write_queue_nums, 1);
  if (m.system_properties().has_message_group())
    return QueueForMessageGroup(m.system_properties().message_group(), n);
  return static_cast<int32_t>(round_robin_.fetch_add(1) %
                              static_cast<uint32_t>(n));
}

// Checks one message as the proxy does before sending (§9.4); the status to
// answer with, or nullopt when it may go.
static std::optional<std::pair<v2::Code, std::string>> CheckGrpcMessage(
    const v2::Message& m, int64_t now_ms) {
  const v2::SystemProperties& sp = m.system_properties();
  if (m.body().empty()) return {{v2::MESSAGE_BODY_EMPTY, "the body is empty"}};
  if (m.body().size() > static_cast<size_t>(kGrpcMaxBodySize))
    return {{v2::MESSAGE_BODY_TOO_LARGE,
             "the body is larger than " + std::to_string(kGrpcMaxBodySize)}};
  if (sp.message_id().empty())
    return {{v2::ILLEGAL_MESSAGE_ID, "the message id is missing"}};
  if (sp.has_tag()) {
    for (char c : sp.tag()) {
      if (c == '|' || static_cast<unsigned char>(c) < 0x20)
        return {{v2::ILLEGAL_MESSAGE_TAG,
                 "the tag has '|' or a control character"}};
    }
  }
  for (const auto& [k, v] : m.user_properties()) {
    if (k.empty() || ReservedPropertyNames().count(k) > 0)
      return {{v2::ILLEGAL_MESSAGE_PROPERTY_KEY,
               "property " + k + " is reserved by RocketMQ"}};
  }
  if (m.user_properties().size() > 128)
    return {{v2::MESSAGE_PROPERTIES_TOO_LARGE, "more than 128 properties"}};
  if (sp.has_message_group() &&
      (sp.message_group().empty() ||
       sp.message_group().size() >= kGrpcMaxMessageGroupSize))
    return {{v2::ILLEGAL_MESSAGE_GROUP,
             "the message group must have 1 to 63 bytes"}};
  if (sp.has_delivery_timestamp()) {
    const int64_t at = TimestampMs(sp.delivery_timestamp());
    if (at - now_ms > kGrpcMaxDelayMs)
      return {{v2::ILLEGAL_DELIVERY_TIME,
               "the delivery time is more than a day ahead"}};
  }
  return std::nullopt;
}

void MessagingServiceImpl::SendOne(
    const v2::Message& m, int32_t queue_id, const std::string& remote,
    std::function<void(v2::SendResultEntry)> done) {
  const v2::SystemProperties& sp = m.system_properties();
  const std::string& topic = m.topic().name();
  // The properties string is written once, here; the send processor stores
  // it as it is (user property names never clash with the system ones:
  // CheckGrpcMessage refuses reserved names).
  std::string props;
  props.reserve(256);
  for (const auto& [k, v] : m.user_properties())
    message::AppendProperty(&props, k, v);
  if (sp.has_tag())
    message::AppendProperty(&props, message::prop::kTags, sp.tag());
  if (sp.keys_size() > 0) {
    std::string keys;
    for (const std::string& k : sp.keys()) {
      if (!keys.empty()) keys += ' ';
      keys += k;
    }
    message::AppendProperty(&props, message::prop::kKeys, keys);
  }
  message::AppendProperty(&props, message::prop::kUniqKey, sp.message_id());
  int32_t sys_flag = 0;
  const bool transactional = sp.message_type() == v2::TRANSACTION;
  if (transactional) {
    message::AppendProperty(&props, kPropTranMsg, "true");
    sys_flag |= message::sysflag::kTransactionPreparedType;
    if (sp.has_orphaned_transaction_recovery_duration()) {
      const int64_t sec = std::min(
          DurationMs(sp.orphaned_transaction_recovery_duration()) / 1000,
          kGrpcMaxTransactionRecoverySec);
      if (sec > 0)
        message::AppendProperty(&props, kPropCheckImmunity,
                                std::to_string(sec));
    }
  }
  if (sp.body_encoding() == v2::GZIP) sys_flag |= message::sysflag::kCompressed;
  if (sp.has_delivery_timestamp())
    message::AppendProperty(
        &props, kPropTimerDeliverMs,
        std::to_string(TimestampMs(sp.delivery_timestamp())));
  if (sp.has_message_group())
    message::AppendProperty(&props, kPropShardingKey, sp.message_group());
  if (sp.has_trace_context())
    message::AppendProperty(&props, kPropTraceContext, sp.trace_context());
  message::AppendProperty(&props, kPropBornHost,
                          sp.born_host().empty() ? remote : sp.born_host());
  message::AppendProperty(&props, kPropProducerGroup, topic);
  const int64_t born = sp.has_born_timestamp()
                           ? TimestampMs(sp.born_timestamp())
                           : NowMs();

  RemotingCommand req =
      RemotingCommand::CreateRequest(remoting::request_code::kSendMessage);
  req.SetExt("producerGroup", topic);
  req.SetExt("topic", topic);
  req.SetExt("defaultTopic", std::string(broker::kAutoCreateTopicKey));
  req.SetExt("defaultTopicQueueNums", int32_t{4});
  req.SetExt("queueId", queue_id);
  req.SetExt("sysFlag", sys_flag);
  req.SetExt("bornTimestamp", born);
  req.SetExt("flag", int32_t{0});
  req.SetExt("properties", std::move(props));
  req.SetExt("reconsumeTimes",
             sp.has_delivery_attempt() ? std::max(sp.delivery_attempt() - 1, 0)
                                       : 0);
  req.set_body(std::string_view(m.body()));
  const std::string message_id = sp.message_id();
  Local(std::move(req), [this, done = std::move(done), message_id, topic,
                         transactional](RemotingCommand resp) {
    v2::SendResultEntry e;
    const v2::Code code = SendCode(resp.code());
    SetGrpcStatus(e.mutable_status(), code,
                  code == v2::OK ? "OK" : resp.remark());
    if (resp.code() == rc::kSuccess || code == v2::MASTER_PERSISTENCE_TIMEOUT ||
        code == v2::SLAVE_PERSISTENCE_TIMEOUT ||
        code == v2::HA_NOT_AVAILABLE) {
      e.set_message_id(message_id);
      e.set_transaction_id(std::string(resp.ExtOr("transactionId", "")));
      e.set_offset(resp.ExtInt64Or("queueOffset", 0));
      e.set_recall_handle(std::string(resp.ExtOr("recallHandle", "")));
      if (transactional) {
        Result<message::MessageIdParts> id =
            message::DecodeMessageId(resp.ExtOr("msgId", ""));
        if (id.ok())
          RememberTransaction(topic, e.transaction_id(),
                              resp.ExtInt64Or("queueOffset", 0),
                              id->phys_offset);
      }
    }
    done(std::move(e));
  });
}

grpc::ServerUnaryReactor* MessagingServiceImpl::SendMessage(
    grpc::CallbackServerContext* ctx, const v2::SendMessageRequest* req,
    v2::SendMessageResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  auto fail = [&](v2::Code code, std::string msg) {
    SetGrpcStatus(resp->mutable_status(), code, msg);
    r->Finish(grpc::Status::OK);
    return r;
  };
  if (req->messages().empty())
    return fail(v2::BAD_REQUEST, "no message to send");
  const std::string& topic = req->messages(0).topic().name();
  if (RefuseUnary(ctx, r, resp, {GrpcAclTopic(topic, acl::perm::kPub)},
                  remoting::request_code::kSendMessage))
    return r;
  for (const v2::Message& m : req->messages()) {
    if (m.topic().name() != topic)
      return fail(v2::MESSAGE_CORRUPTED,
                  "the messages of one request must share a topic");
  }
  const int64_t now = NowMs();
  for (const v2::Message& m : req->messages()) {
    if (auto bad = CheckGrpcMessage(m, now)) return fail(bad->first, bad->second);
  }
  std::optional<remoting::TopicConfig> tc = broker_.topics().Find(topic);
  if (!tc) {
    if (auto created = broker_.topics().CreateTopicInSendMessage(
            topic, broker::kAutoCreateTopicKey, 4);
        created.ok())
      tc = created->first;
  }
  if (!tc)
    return fail(v2::TOPIC_NOT_FOUND, "topic " + topic + " does not exist");
  // The peer is only needed as the born host of a message without one.
  std::string remote;
  for (const v2::Message& m : req->messages()) {
    if (m.system_properties().born_host().empty()) {
      remote = ctx->peer();
      break;
    }
  }
  const size_t n = static_cast<size_t>(req->messages_size());
  if (n == 1) {
    // What a producer sends (one message per call): the entry is the answer.
    const v2::Message& m = req->messages(0);
    SendOne(m, ChooseQueue(*tc, m), remote, [r, resp](v2::SendResultEntry e) {
      *resp->mutable_status() = e.status();
      *resp->add_entries() = std::move(e);
      r->Finish(grpc::Status::OK);
    });
    return r;
  }
  // Every entry answered, then the call: a shared tally.
  struct Tally {
    Mutex mu;
    std::vector<v2::SendResultEntry> entries TH_GUARDED_BY(mu);
    size_t left TH_GUARDED_BY(mu) = 0;
  };
  auto tally = std::make_shared<Tally>();
  {
    MutexLock lock(&tally->mu);
    tally->entries.resize(n);
    tally->left = n;
  }
  for (size_t i = 0; i < n; ++i) {
    const v2::Message& m = req->messages(static_cast<int>(i));
    SendOne(m, ChooseQueue(*tc, m), remote,
            [tally, i, r, resp](v2::SendResultEntry e) {
              {
                MutexLock lock(&tally->mu);
                tally->entries[i] = std::move(e);
                if (--tally->left > 0) return;
                v2::Code code = tally->entries[0].status().code();
                std::string msg = tally->entries[0].status().message();
                for (const v2::SendResultEntry& x : tally->entries) {
                  if (x.status().code() != code) {
                    code = v2::MULTIPLE_RESULTS;
                    msg = "the messages had different results";
                  }
                }
                for (v2::SendResultEntry& x : tally->entries)
                  *resp->add_entries() = std::move(x);
                SetGrpcStatus(resp->mutable_status(), code, msg);
              }
              r->Finish(grpc::Status::OK);
            });
  }
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::EndTransaction(
    grpc::CallbackServerContext* ctx, const v2::EndTransactionRequest* req,
    v2::EndTransactionResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->topic().name();
  if (RefuseUnary(ctx, r, resp, {GrpcAclTopic(topic, acl::perm::kPub)},
                  remoting::request_code::kEndTransaction))
    return r;
  std::optional<TransactionData> d =
      FindTransaction(topic, req->transaction_id());
  if (!d) {
    SetGrpcStatus(resp->mutable_status(), v2::INVALID_TRANSACTION_ID,
                  "no transaction " + req->transaction_id() + " of topic " +
                      topic + " is known (it expires after 30 s)");
    r->Finish(grpc::Status::OK);
    return r;
  }
  int32_t commit_or_rollback = 0;
  if (req->resolution() == v2::COMMIT)
    commit_or_rollback = message::sysflag::kTransactionCommitType;
  if (req->resolution() == v2::ROLLBACK)
    commit_or_rollback = message::sysflag::kTransactionRollbackType;
  RemotingCommand end =
      RemotingCommand::CreateRequest(remoting::request_code::kEndTransaction);
  end.SetExt("producerGroup", topic);
  end.SetExt("tranStateTableOffset", d->tran_state_table_offset);
  end.SetExt("commitLogOffset", d->commit_log_offset);
  end.SetExt("commitOrRollback", commit_or_rollback);
  end.SetExtBool("fromTransactionCheck",
                 req->source() == v2::SOURCE_SERVER_CHECK);
  end.SetExt("msgId", req->message_id());
  end.SetExt("transactionId", req->transaction_id());
  end.SetExt("topic", topic);
  Local(std::move(end), [r, resp](RemotingCommand answer) {
    if (answer.code() == rc::kSuccess) {
      SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
    } else {
      SetGrpcStatus(resp->mutable_status(), v2::INTERNAL_SERVER_ERROR,
                    answer.remark());
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

// A broker's answer to a request the proxy has no mapping of its own for, as
// RocketMQ's proxy reports it (its ResponseBuilder): a few codes have a gRPC
// equivalent, every other failure is INTERNAL_SERVER_ERROR with the remark.
static v2::Code GrpcCodeOfBrokerAnswer(int32_t code) {
  switch (code) {
    case rc::kSuccess:
      return v2::OK;
    case rc::kSystemBusy:
      return v2::TOO_MANY_REQUESTS;
    case rc::kRequestCodeNotSupported:
      return v2::NOT_IMPLEMENTED;
    case rc::kSubscriptionGroupNotExist:
      return v2::CONSUMER_GROUP_NOT_FOUND;
    default:
      return v2::INTERNAL_SERVER_ERROR;
  }
}

grpc::ServerUnaryReactor* MessagingServiceImpl::RecallMessage(
    grpc::CallbackServerContext* ctx, const v2::RecallMessageRequest* req,
    v2::RecallMessageResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->topic().name();
  if (topic.empty()) {
    SetGrpcStatus(resp->mutable_status(), v2::ILLEGAL_TOPIC,
                  "the topic is empty");
    r->Finish(grpc::Status::OK);
    return r;
  }
  if (RefuseUnary(ctx, r, resp, {GrpcAclTopic(topic, acl::perm::kPub)},
                  remoting::request_code::kRecallMessage))
    return r;
  RemotingCommand recall =
      RemotingCommand::CreateRequest(remoting::request_code::kRecallMessage);
  recall.SetExt("producerGroup", topic);
  recall.SetExt("topic", topic);
  recall.SetExt("recallHandle", req->recall_handle());
  Local(std::move(recall), [r, resp](RemotingCommand answer) {
    const v2::Code code = GrpcCodeOfBrokerAnswer(answer.code());
    if (code == v2::OK) {
      resp->set_message_id(std::string(answer.ExtOr("msgId", "")));
      SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
    } else {
      SetGrpcStatus(resp->mutable_status(), code, answer.remark());
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

// --- ReceiveMessage ---------------------------------------------------------

void MessagingServiceImpl::BuildMessage(const message::DecodedRecord& rec,
                                        std::string_view topic,
                                        const PopExtraInfo& handle,
                                        v2::Message* out) const {
  out->mutable_topic()->set_name(std::string(topic));
  out->set_body(reinterpret_cast<const char*>(rec.body.data()),
                rec.body.size());
  v2::SystemProperties* sp = out->mutable_system_properties();
  const std::string_view props = rec.properties;
  for (const auto& [k, v] : message::ParseProperties(props)) {
    if (ReservedPropertyNames().count(k) == 0)
      (*out->mutable_user_properties())[k] = v;
  }
  if (auto tag = message::FindProperty(props, message::prop::kTags))
    sp->set_tag(std::string(*tag));
  if (auto keys = message::FindProperty(props, message::prop::kKeys)) {
    for (std::string_view k : GrpcSplit(*keys, ' '))
      if (!k.empty()) sp->add_keys(std::string(k));
  }
  if (auto id = message::FindProperty(props, message::prop::kUniqKey)) {
    sp->set_message_id(std::string(*id));
  } else {
    sp->set_message_id(message::CreateMessageId(rec.store_host, rec.phys_offset));
  }
  sp->mutable_body_digest()->set_type(v2::MD5);
  sp->mutable_body_digest()->set_checksum(UpperHexMd5(rec.body));
  sp->set_body_encoding((rec.sys_flag & message::sysflag::kCompressed) != 0
                            ? v2::GZIP
                            : v2::IDENTITY);
  sp->set_message_type(TypeOfProperties(props));
  SetTimestampMs(sp->mutable_born_timestamp(), rec.born_timestamp);
  if (auto bh = message::FindProperty(props, kPropBornHost)) {
    sp->set_born_host(std::string(*bh));
  } else {
    sp->set_born_host(rec.born_host.ToString());
  }
  SetTimestampMs(sp->mutable_store_timestamp(), rec.store_timestamp);
  sp->set_store_host(rec.store_host.ToString());
  if (auto at = message::FindProperty(props, kPropTimerDeliverMs)) {
    if (auto ms = GrpcParseInt64(*at))
      SetTimestampMs(sp->mutable_delivery_timestamp(), *ms);
  } else if (auto sec = message::FindProperty(props, kPropTimerDelaySec)) {
    if (auto s = GrpcParseInt64(*sec))
      SetTimestampMs(sp->mutable_delivery_timestamp(), NowMs() + *s * 1000);
  }
  if (auto g = message::FindProperty(props, kPropShardingKey))
    sp->set_message_group(std::string(*g));
  sp->set_receipt_handle(EncodeReceiptHandle(handle));
  sp->set_queue_id(handle.queue_id);
  sp->set_queue_offset(handle.queue_offset);
  SetDurationMs(sp->mutable_invisible_duration(), handle.invisible_time);
  sp->set_delivery_attempt(rec.reconsume_times + 1);
  if (auto t = message::FindProperty(props, kPropTraceContext))
    sp->set_trace_context(std::string(*t));
  auto dlq_topic = message::FindProperty(props, "DLQ_ORIGIN_TOPIC");
  auto dlq_id = message::FindProperty(props, "DLQ_ORIGIN_MESSAGE_ID");
  if (dlq_topic && dlq_id) {
    sp->mutable_dead_letter_queue()->set_topic(std::string(*dlq_topic));
    sp->mutable_dead_letter_queue()->set_message_id(std::string(*dlq_id));
  }
}

void MessagingServiceImpl::ReleaseHandles(
    const std::string& group, const std::string& topic,
    const std::vector<PopExtraInfo>& handles) const {
  for (const PopExtraInfo& h : handles) {
    RemotingCommand req = RemotingCommand::CreateRequest(
        remoting::request_code::kChangeMessageInvisibleTime);
    req.SetExt("consumerGroup", group);
    req.SetExt("topic", PopAckTopic(group, topic, h.retry_flag));
    req.SetExt("queueId", h.queue_id);
    req.SetExt("offset", h.queue_offset);
    req.SetExt("extraInfo", h.Encode());
    req.SetExt("invisibleTime", kGrpcInvisibleWhenClearMs);
    Local(std::move(req), [](RemotingCommand) {});
  }
}

// --- Streamed replies -------------------------------------------------------

// A server-streaming call whose answer is a list of responses, written in turn
// and then finished OK (ReceiveMessage, PullMessage). The list is made once:
// by AnswerStatus, or by the derived call when the broker answers (under
// shared_->mu, then StartWritingLocked). That answer may come on another
// thread after the client went away, so `shared_` outlives the call and tells
// it whether the call is still there. Thread-safe; deletes itself in OnDone.
template <typename Response>
class GrpcWriteQueueCall : public grpc::ServerWriteReactor<Response> {
 public:
  struct Shared {
    Mutex mu;
    GrpcWriteQueueCall* call TH_GUARDED_BY(mu) = nullptr;
    bool finished TH_GUARDED_BY(mu) = false;
  };

  void OnWriteDone(bool ok) final {
    {
      MutexLock lock(&shared_->mu);
      if (shared_->finished) return;
      if (ok && next_ < out_.size()) {
        // Under the lock, so OnCancel cannot finish in between (writes never
        // run their reaction inline).
        this->StartWrite(&out_[next_++]);
        return;
      }
      if (!ok) OnStreamBroken(next_);
      shared_->finished = true;
    }
    this->Finish(grpc::Status::OK);
  }

  void OnCancel() final {
    {
      MutexLock lock(&shared_->mu);
      if (shared_->finished) return;
      shared_->finished = true;
    }
    this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() final {
    {
      MutexLock lock(&shared_->mu);
      shared_->call = nullptr;
    }
    delete this;
  }

 protected:
  GrpcWriteQueueCall() : shared_(std::make_shared<Shared>()) {
    MutexLock lock(&shared_->mu);
    shared_->call = this;
  }
  ~GrpcWriteQueueCall() override = default;

  // A write failed (the client is gone mid-stream): out_[0, next) were handed
  // to gRPC, the last of them maybe not delivered. Under shared_->mu.
  virtual void OnStreamBroken(size_t next) { static_cast<void>(next); }

  // Answers with a status only (a refused or malformed request).
  void AnswerStatus(v2::Code code, std::string msg) {
    Response r;
    SetGrpcStatus(r.mutable_status(), code, msg);
    MutexLock lock(&shared_->mu);
    if (shared_->finished) return;
    out_.push_back(std::move(r));
    StartWritingLocked();
  }

  // Writes out_ (not empty) from its first entry. Under shared_->mu, once.
  void StartWritingLocked() {
    next_ = 1;
    this->StartWrite(&out_[0]);  // writes never run their reaction inline
  }

  std::shared_ptr<Shared> shared_;
  std::vector<Response> out_;  // written by StartWritingLocked and OnWriteDone
  size_t next_ = 0;            // the next out_ entry to write
};

// One ReceiveMessage stream: a pop (parked by the broker when nothing is
// there), then status, messages and delivery timestamp written in turn.
class ReceiveCall final
    : public GrpcWriteQueueCall<v2::ReceiveMessageResponse> {
 public:
  ReceiveCall(MessagingServiceImpl* svc, grpc::CallbackServerContext* ctx,
              const v2::ReceiveMessageRequest* req)
      : svc_(svc) {
    Begin(ctx, *req);
  }

 private:
  // What the client did not get becomes visible again soon.
  void OnStreamBroken(size_t next) override {
    std::vector<PopExtraInfo> rest(
        handles_.begin() +
            static_cast<std::ptrdiff_t>(
                std::min(handles_.size(), next > 1 ? next - 2 : size_t{0})),
        handles_.end());
    svc_->ReleaseHandles(group_, topic_, rest);
  }

  void Begin(grpc::CallbackServerContext* ctx,
             const v2::ReceiveMessageRequest& req) {
    group_ = req.group().name();
    topic_ = req.message_queue().topic().name();
    if (group_.empty()) {
      AnswerStatus(v2::ILLEGAL_CONSUMER_GROUP, "the group is empty");
      return;
    }
    if (topic_.empty()) {
      AnswerStatus(v2::ILLEGAL_TOPIC, "the topic is empty");
      return;
    }
    if (auto refused = svc_->CheckAcl(
            ctx,
            {GrpcAclTopic(topic_, acl::perm::kSub),
             GrpcAclGroup(group_, acl::perm::kSub)},
            remoting::request_code::kPopMessage)) {
      AnswerStatus(refused->first, refused->second);
      return;
    }
    const int64_t now = svc_->NowMs();
    const int64_t remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            ctx->deadline() - std::chrono::system_clock::now())
            .count();
    Result<int64_t> poll = ClampPollingTime(
        req.has_long_polling_timeout() ? DurationMs(req.long_polling_timeout())
                                       : -1,
        remaining, 3000, kGrpcMinLongPollingMs, kGrpcMaxLongPollingMs);
    if (!poll.ok()) {
      AnswerStatus(v2::ILLEGAL_POLLING_TIME,
                   std::string(poll.status().message()));
      return;
    }
    int64_t invisible = 60000;
    if (req.has_invisible_duration())
      invisible = DurationMs(req.invisible_duration());
    if (invisible < kGrpcMinInvisibleMs || invisible > kGrpcMaxInvisibleMs) {
      AnswerStatus(v2::ILLEGAL_INVISIBLE_TIME,
                   "the invisible duration must be within [10 s, 12 h]");
      return;
    }
    std::string exp = "*";
    std::string exp_type = "TAG";
    if (req.has_filter_expression()) {
      if (req.filter_expression().type() == v2::SQL) {
        exp_type = "SQL92";
        exp = req.filter_expression().expression();
      } else if (!req.filter_expression().expression().empty()) {
        exp = req.filter_expression().expression();
      }
    }
    if (exp_type == "TAG") {
      Result<broker::SubscriptionData> sub =
          broker::SubscriptionData::Build(topic_, exp, "TAG");
      if (!sub.ok()) {
        AnswerStatus(v2::ILLEGAL_FILTER_EXPRESSION,
                     std::string(sub.status().message()));
        return;
      }
      tags_ = sub->tags;
    }
    const int32_t batch = std::clamp(req.batch_size(), 1, kGrpcReceiveBatchSize);
    RemotingCommand pop =
        RemotingCommand::CreateRequest(remoting::request_code::kPopMessage);
    pop.SetExt("consumerGroup", group_);
    pop.SetExt("topic", topic_);
    pop.SetExt("queueId", int32_t{-1});
    pop.SetExt("maxMsgNums", batch);
    pop.SetExt("invisibleTime", invisible);
    pop.SetExt("pollTime", *poll);
    pop.SetExt("bornTime", now);
    pop.SetExt("initMode", int32_t{1});  // MAX
    pop.SetExt("exp", exp);
    pop.SetExt("expType", exp_type);
    orderly_ = svc_->OrderlyGroup(group_);
    pop.SetExtBool("order", orderly_);
    if (req.has_attempt_id() && !req.attempt_id().empty())
      pop.SetExt("attemptId", req.attempt_id());
    std::shared_ptr<Shared> shared = shared_;
    MessagingServiceImpl* svc = svc_;
    std::string group = group_;
    std::string topic = topic_;
    svc_->Local(std::move(pop), [shared, svc, group,
                                 topic](RemotingCommand resp) {
      MutexLock lock(&shared->mu);
      if (shared->call == nullptr || shared->finished) {
        // Nobody to hand the messages to: visible again soon.
        std::vector<PopExtraInfo> handles;
        if (resp.code() == rc::kSuccess)
          ParseHandles(resp, svc->config().broker_name, &handles, nullptr)
              .IgnoreError();  // what parsed is released
        svc->ReleaseHandles(group, topic, handles);
        return;
      }
      static_cast<ReceiveCall*>(shared->call)->OnPopAnswer(std::move(resp));
    });
  }

  // Fills `handles` (and `records`) from a POP_MESSAGE answer, as the Java
  // client reads it (§2.5): a re-encoded retry record carries its handle in
  // POP_CK; for the others it is built from startOffsetInfo.
  static Status ParseHandles(
      const RemotingCommand& resp, const std::string& broker_name,
      std::vector<PopExtraInfo>* handles,
      std::vector<message::DecodedRecord>* records) {
    const int64_t pop_time = resp.ExtInt64Or("popTime", 0);
    const int64_t invisible = resp.ExtInt64Or("invisibleTime", 0);
    const int32_t revive_qid =
        static_cast<int32_t>(resp.ExtInt64Or("reviveQid", 0));
    std::map<std::pair<int32_t, int32_t>, int64_t> start_offsets;
    for (std::string_view item :
         GrpcSplit(resp.ExtOr("startOffsetInfo", ""), ';')) {
      std::vector<std::string_view> f = GrpcSplit(item, ' ');
      if (f.size() != 3) continue;
      auto flag = GrpcParseInt64(f[0]);
      auto qid = GrpcParseInt64(f[1]);
      auto so = GrpcParseInt64(f[2]);
      if (flag && qid && so)
        start_offsets[{static_cast<int32_t>(*flag),
                       static_cast<int32_t>(*qid)}] = *so;
    }
    auto take = [&](std::span<const std::byte> bytes) -> Status {
      size_t pos = 0;
      while (pos < bytes.size()) {
        message::RecordCheck c =
            message::CheckRecord(bytes.subspan(pos), false);
        if (c.status != message::RecordStatus::kOk)
          return Status::Corruption("bad record in a pop answer");
        PopExtraInfo h;
        const message::DecodedRecord& rec = c.record;
        if (auto ck = message::FindProperty(rec.properties,
                                            remoting::pop::kPropPopCk)) {
          Result<PopExtraInfo> parsed = PopExtraInfo::Parse(*ck);
          if (!parsed.ok()) return parsed.status();
          h = std::move(parsed).value();
        } else {
          auto it = start_offsets.find({0, rec.queue_id});
          h.ck_queue_offset =
              it != start_offsets.end() ? it->second : rec.queue_offset;
          h.pop_time = pop_time;
          h.invisible_time = invisible;
          h.revive_qid = revive_qid;
          h.retry_flag = remoting::pop::kNormalTopic;
          h.broker_name = broker_name;
          h.queue_id = rec.queue_id;
          h.queue_offset = rec.queue_offset;
        }
        h.commit_log_offset = rec.phys_offset;
        handles->push_back(std::move(h));
        if (records) records->push_back(rec);
        pos += static_cast<size_t>(c.size);
      }
      return Status::OK();
    };
    TH_RETURN_IF_ERROR(take(resp.body()));
    for (const remoting::BodySegment& seg : resp.body_segments())
      TH_RETURN_IF_ERROR(take(seg.data));
    return Status::OK();
  }

  // orderCountInfo (§2.5): "<flag> qo<queueId>%<offset> <count>" per
  // message, "<flag> <queueId> <minCount>" per queue; (queue, offset) → count.
  static std::map<std::pair<int32_t, int64_t>, int64_t> OrderCounts(
      std::string_view info) {
    std::map<std::pair<int32_t, int64_t>, int64_t> out;
    for (std::string_view item : GrpcSplit(info, ';')) {
      std::vector<std::string_view> f = GrpcSplit(item, ' ');
      if (f.size() != 3 || !f[1].starts_with("qo")) continue;
      const std::string_view qo = f[1].substr(2);
      const size_t pct = qo.find('%');
      if (pct == std::string_view::npos) continue;
      auto qid = GrpcParseInt64(qo.substr(0, pct));
      auto offset = GrpcParseInt64(qo.substr(pct + 1));
      auto count = GrpcParseInt64(f[2]);
      if (qid && offset && count)
        out[{static_cast<int32_t>(*qid), *offset}] = *count;
    }
    return out;
  }

  // Under shared_->mu.
  void OnPopAnswer(RemotingCommand resp) {
    pop_answer_ = std::move(resp);
    v2::ReceiveMessageResponse first;
    if (pop_answer_.code() == rc::kPollingTimeout ||
        pop_answer_.code() == rc::kPullNotFound) {
      SetGrpcStatus(first.mutable_status(), v2::MESSAGE_NOT_FOUND,
                    "no new message");
    } else if (pop_answer_.code() == rc::kPollingFull) {
      SetGrpcStatus(first.mutable_status(), v2::TOO_MANY_REQUESTS,
                    "too many parked receives");
    } else if (pop_answer_.code() != rc::kSuccess) {
      SetGrpcStatus(first.mutable_status(), v2::INTERNAL_SERVER_ERROR,
                    pop_answer_.remark());
    } else {
      std::vector<message::DecodedRecord> records;
      Status s = ParseHandles(pop_answer_, svc_->config().broker_name,
                              &handles_, &records);
      if (!s.ok()) {
        SetGrpcStatus(first.mutable_status(), v2::INTERNAL_SERVER_ERROR,
                      s.ToString());
        handles_.clear();
      } else {
        const std::map<std::pair<int32_t, int64_t>, int64_t> order_counts =
            OrderCounts(pop_answer_.ExtOr("orderCountInfo", ""));
        std::vector<PopExtraInfo> kept;
        std::vector<PopExtraInfo> dropped;
        for (size_t i = 0; i < records.size(); ++i) {
          // Tag filter by name (the broker's is by hash code): a message of
          // another tag is acked and dropped.
          if (!tags_.empty()) {
            auto tag = message::FindProperty(records[i].properties,
                                             message::prop::kTags);
            if (!tag || std::find(tags_.begin(), tags_.end(), *tag) ==
                            tags_.end()) {
              dropped.push_back(handles_[i]);
              continue;
            }
          }
          v2::ReceiveMessageResponse m;
          svc_->BuildMessage(records[i], topic_, handles_[i],
                             m.mutable_message());
          if (orderly_) {
            // An orderly pop hands out the same stored message again: its
            // delivery count is the broker's order info (§7.3).
            auto count = order_counts.find(
                {records[i].queue_id, records[i].queue_offset});
            if (count != order_counts.end() &&
                count->second > records[i].reconsume_times)
              m.mutable_message()
                  ->mutable_system_properties()
                  ->set_delivery_attempt(
                      static_cast<int32_t>(count->second) + 1);
          }
          out_.push_back(std::move(m));
          kept.push_back(handles_[i]);
        }
        for (const PopExtraInfo& h : dropped) AckDropped(h);
        handles_ = std::move(kept);
        if (out_.empty()) {
          SetGrpcStatus(first.mutable_status(), v2::MESSAGE_NOT_FOUND,
                        "no new message");
        } else {
          SetGrpcStatus(first.mutable_status(), v2::OK, "OK");
        }
      }
    }
    const bool found = first.status().code() == v2::OK;
    out_.insert(out_.begin(), std::move(first));
    if (found) {
      v2::ReceiveMessageResponse ts;
      SetTimestampMs(ts.mutable_delivery_timestamp(), svc_->NowMs());
      out_.push_back(std::move(ts));
    }
    StartWritingLocked();
  }

  void AckDropped(const PopExtraInfo& h) {
    RemotingCommand ack =
        RemotingCommand::CreateRequest(remoting::request_code::kAckMessage);
    ack.SetExt("consumerGroup", group_);
    ack.SetExt("topic", PopAckTopic(group_, topic_, h.retry_flag));
    ack.SetExt("queueId", h.queue_id);
    ack.SetExt("offset", h.queue_offset);
    ack.SetExt("extraInfo", h.Encode());
    svc_->Local(std::move(ack), [](RemotingCommand) {});
  }

  MessagingServiceImpl* svc_;
  std::string group_;
  std::string topic_;
  bool orderly_ = false;
  std::vector<std::string> tags_;
  RemotingCommand pop_answer_;
  // Handles of the messages in out_[1..], in order.
  std::vector<PopExtraInfo> handles_;
};

grpc::ServerWriteReactor<v2::ReceiveMessageResponse>*
MessagingServiceImpl::ReceiveMessage(grpc::CallbackServerContext* ctx,
                                     const v2::ReceiveMessageRequest* req) {
  return new ReceiveCall(this, ctx, req);
}

// --- PullMessage, GetOffset, UpdateOffset, QueryOffset ----------------------

// A remoting answer's code for the pull and offset RPCs.
static v2::Code GrpcPullCode(int32_t code) {
  switch (code) {
    case rc::kSuccess:
      return v2::OK;
    case rc::kPullNotFound:
    case rc::kPullRetryImmediately:
      return v2::MESSAGE_NOT_FOUND;
    case rc::kPullOffsetMoved:
      return v2::ILLEGAL_OFFSET;
    case rc::kQueryNotFound:
      return v2::OFFSET_NOT_FOUND;
    case rc::kTopicNotExist:
      return v2::TOPIC_NOT_FOUND;
    case rc::kSubscriptionGroupNotExist:
      return v2::CONSUMER_GROUP_NOT_FOUND;
    case rc::kSubscriptionParseFailed:
      return v2::ILLEGAL_FILTER_EXPRESSION;
    case rc::kNoPermission:
      return v2::FORBIDDEN;
    case rc::kInvalidParameter:
      return v2::BAD_REQUEST;
    default:
      return v2::INTERNAL_SERVER_ERROR;
  }
}

// One PullMessage stream: PULL_MESSAGE from the request's queue and offset
// (long-polled by the broker when nothing is there), then status, the
// messages and next_offset written in turn. No receipt handles: a pulling
// client keeps its own offset (UpdateOffset stores it for the group).
class PullCall final : public GrpcWriteQueueCall<v2::PullMessageResponse> {
 public:
  PullCall(MessagingServiceImpl* svc, grpc::CallbackServerContext* ctx,
           const v2::PullMessageRequest* req)
      : svc_(svc) {
    Begin(ctx, *req);
  }

 private:
  void Begin(grpc::CallbackServerContext* ctx,
             const v2::PullMessageRequest& req) {
    const std::string group = req.group().name();
    topic_ = req.message_queue().topic().name();
    if (group.empty())
      return AnswerStatus(v2::ILLEGAL_CONSUMER_GROUP, "the group is empty");
    if (topic_.empty())
      return AnswerStatus(v2::ILLEGAL_TOPIC, "the topic is empty");
    if (req.offset() < 0)
      return AnswerStatus(v2::ILLEGAL_OFFSET, "the offset is negative");
    if (auto refused =
            svc_->CheckAcl(ctx,
                           {GrpcAclTopic(topic_, acl::perm::kSub),
                            GrpcAclGroup(group, acl::perm::kSub)},
                           remoting::request_code::kPullMessage))
      return AnswerStatus(refused->first, refused->second);
    std::string exp = "*";
    std::string exp_type = "TAG";
    if (req.has_filter_expression()) {
      if (req.filter_expression().type() == v2::SQL) {
        exp_type = "SQL92";
        exp = req.filter_expression().expression();
      } else if (!req.filter_expression().expression().empty()) {
        exp = req.filter_expression().expression();
      }
    }
    if (exp_type == "TAG") {
      Result<broker::SubscriptionData> sub =
          broker::SubscriptionData::Build(topic_, exp, "TAG");
      if (!sub.ok())
        return AnswerStatus(v2::ILLEGAL_FILTER_EXPRESSION,
                            std::string(sub.status().message()));
      tags_ = sub->tags;
    }
    // Long polling: the request's, at most the proxy's maximum and what the
    // deadline leaves (less a second for the answer).
    const int64_t remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            ctx->deadline() - std::chrono::system_clock::now())
            .count();
    int64_t poll = req.has_long_polling_timeout()
                       ? DurationMs(req.long_polling_timeout())
                       : 0;
    poll = std::clamp<int64_t>(
        std::min(poll, remaining - 1000), 0, kGrpcMaxLongPollingMs);
    RemotingCommand pull =
        RemotingCommand::CreateRequest(remoting::request_code::kPullMessage);
    pull.SetExt("consumerGroup", group);
    pull.SetExt("topic", topic_);
    pull.SetExt("queueId", req.message_queue().id());
    pull.SetExt("queueOffset", req.offset());
    pull.SetExt("maxMsgNums",
                std::clamp(req.batch_size(), 1, kGrpcReceiveBatchSize));
    int32_t sys_flag = remoting::pull_sys_flag::kSubscription;
    if (poll > 0) sys_flag |= remoting::pull_sys_flag::kSuspend;
    pull.SetExt("sysFlag", sys_flag);
    pull.SetExt("commitOffset", int64_t{-1});
    pull.SetExt("suspendTimeoutMillis", poll);
    pull.SetExt("subscription", exp);
    pull.SetExt("subVersion", svc_->NowMs());
    pull.SetExt("expressionType", exp_type);
    std::shared_ptr<Shared> shared = shared_;
    svc_->Local(std::move(pull), [shared](RemotingCommand resp) {
      MutexLock lock(&shared->mu);
      if (shared->call == nullptr || shared->finished) return;
      static_cast<PullCall*>(shared->call)->OnPullAnswer(std::move(resp));
    });
  }

  // Under shared_->mu.
  void OnPullAnswer(RemotingCommand resp) {
    pull_answer_ = std::move(resp);
    v2::PullMessageResponse first;
    v2::Code code = GrpcPullCode(pull_answer_.code());
    std::string msg = code == v2::OK ? "OK" : pull_answer_.remark();
    if (code == v2::OK) {
      auto take = [&](std::span<const std::byte> bytes) -> bool {
        size_t pos = 0;
        while (pos < bytes.size()) {
          message::RecordCheck c =
              message::CheckRecord(bytes.subspan(pos), false);
          if (c.status != message::RecordStatus::kOk) return false;
          const message::DecodedRecord& rec = c.record;
          pos += static_cast<size_t>(c.size);
          if (!tags_.empty()) {
            auto tag =
                message::FindProperty(rec.properties, message::prop::kTags);
            if (!tag ||
                std::find(tags_.begin(), tags_.end(), *tag) == tags_.end())
              continue;
          }
          PopExtraInfo where;
          where.queue_id = rec.queue_id;
          where.queue_offset = rec.queue_offset;
          v2::PullMessageResponse m;
          svc_->BuildMessage(rec, topic_, where, m.mutable_message());
          v2::SystemProperties* sp =
              m.mutable_message()->mutable_system_properties();
          sp->clear_receipt_handle();
          sp->clear_invisible_duration();
          out_.push_back(std::move(m));
        }
        return true;
      };
      bool ok = take(pull_answer_.body());
      for (const remoting::BodySegment& seg : pull_answer_.body_segments())
        ok = ok && take(seg.data);
      if (!ok) {
        out_.clear();
        code = v2::INTERNAL_SERVER_ERROR;
        msg = "bad record in a pull answer";
      } else if (out_.empty()) {
        code = v2::MESSAGE_NOT_FOUND;
        msg = "no message of the subscription";
      }
    }
    SetGrpcStatus(first.mutable_status(), code, msg);
    out_.insert(out_.begin(), std::move(first));
    if (pull_answer_.ExtOr("nextBeginOffset", "") != "") {
      v2::PullMessageResponse next;
      next.set_next_offset(pull_answer_.ExtInt64Or("nextBeginOffset", 0));
      out_.push_back(std::move(next));
    }
    StartWritingLocked();
  }

  MessagingServiceImpl* svc_;
  std::string topic_;
  std::vector<std::string> tags_;
  RemotingCommand pull_answer_;
};

grpc::ServerWriteReactor<v2::PullMessageResponse>*
MessagingServiceImpl::PullMessage(grpc::CallbackServerContext* ctx,
                                  const v2::PullMessageRequest* req) {
  return new PullCall(this, ctx, req);
}

grpc::ServerUnaryReactor* MessagingServiceImpl::GetOffset(
    grpc::CallbackServerContext* ctx, const v2::GetOffsetRequest* req,
    v2::GetOffsetResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->message_queue().topic().name();
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(topic, acl::perm::kSub),
                   GrpcAclGroup(req->group().name(), acl::perm::kSub)},
                  remoting::request_code::kQueryConsumerOffset))
    return r;
  RemotingCommand query = RemotingCommand::CreateRequest(
      remoting::request_code::kQueryConsumerOffset);
  query.SetExt("consumerGroup", req->group().name());
  query.SetExt("topic", topic);
  query.SetExt("queueId", req->message_queue().id());
  query.SetExtBool("setZeroIfNotFound", false);
  Local(std::move(query), [r, resp](RemotingCommand answer) {
    const v2::Code code = GrpcPullCode(answer.code());
    SetGrpcStatus(resp->mutable_status(), code,
                  code == v2::OK ? "OK" : answer.remark());
    if (code == v2::OK) resp->set_offset(answer.ExtInt64Or("offset", 0));
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::UpdateOffset(
    grpc::CallbackServerContext* ctx, const v2::UpdateOffsetRequest* req,
    v2::UpdateOffsetResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->message_queue().topic().name();
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(topic, acl::perm::kSub),
                   GrpcAclGroup(req->group().name(), acl::perm::kSub)},
                  remoting::request_code::kUpdateConsumerOffset))
    return r;
  if (req->offset() < 0) {
    SetGrpcStatus(resp->mutable_status(), v2::ILLEGAL_OFFSET,
                  "the offset is negative");
    r->Finish(grpc::Status::OK);
    return r;
  }
  RemotingCommand update = RemotingCommand::CreateRequest(
      remoting::request_code::kUpdateConsumerOffset);
  update.SetExt("consumerGroup", req->group().name());
  update.SetExt("topic", topic);
  update.SetExt("queueId", req->message_queue().id());
  update.SetExt("commitOffset", req->offset());
  Local(std::move(update), [r, resp](RemotingCommand answer) {
    const v2::Code code = GrpcPullCode(answer.code());
    SetGrpcStatus(resp->mutable_status(), code,
                  code == v2::OK ? "OK" : answer.remark());
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::QueryOffset(
    grpc::CallbackServerContext* ctx, const v2::QueryOffsetRequest* req,
    v2::QueryOffsetResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& topic = req->message_queue().topic().name();
  if (RefuseUnary(ctx, r, resp, {GrpcAclTopic(topic, acl::perm::kSub)},
                  remoting::request_code::kGetMaxOffset))
    return r;
  std::optional<remoting::TopicConfig> tc = broker_.topics().Find(topic);
  if (!tc) {
    SetGrpcStatus(resp->mutable_status(), v2::TOPIC_NOT_FOUND,
                  "topic " + topic + " does not exist");
    r->Finish(grpc::Status::OK);
    return r;
  }
  RemotingCommand query;
  switch (req->query_offset_policy()) {
    case v2::BEGINNING:
      query = RemotingCommand::CreateRequest(
          remoting::request_code::kGetMinOffset);
      break;
    case v2::END:
      query = RemotingCommand::CreateRequest(
          remoting::request_code::kGetMaxOffset);
      break;
    case v2::TIMESTAMP:
      if (!req->has_timestamp()) {
        SetGrpcStatus(resp->mutable_status(), v2::BAD_REQUEST,
                      "a TIMESTAMP query needs a timestamp");
        r->Finish(grpc::Status::OK);
        return r;
      }
      query = RemotingCommand::CreateRequest(
          remoting::request_code::kSearchOffsetByTimestamp);
      query.SetExt("timestamp", TimestampMs(req->timestamp()));
      break;
    default:
      SetGrpcStatus(resp->mutable_status(), v2::BAD_REQUEST,
                    "unknown query offset policy");
      r->Finish(grpc::Status::OK);
      return r;
  }
  query.SetExt("topic", topic);
  query.SetExt("queueId", req->message_queue().id());
  Local(std::move(query), [r, resp](RemotingCommand answer) {
    const v2::Code code = GrpcPullCode(answer.code());
    SetGrpcStatus(resp->mutable_status(), code,
                  code == v2::OK ? "OK" : answer.remark());
    if (code == v2::OK) resp->set_offset(answer.ExtInt64Or("offset", 0));
    r->Finish(grpc::Status::OK);
  });
  return r;
}

// --- AckMessage, ChangeInvisibleDuration, ForwardMessageToDeadLetterQueue ----

grpc::ServerUnaryReactor* MessagingServiceImpl::AckMessage(
    grpc::CallbackServerContext* ctx, const v2::AckMessageRequest* req,
    v2::AckMessageResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::string& group = req->group().name();
  const std::string& topic = req->topic().name();
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(topic, acl::perm::kSub),
                   GrpcAclGroup(group, acl::perm::kSub)},
                  remoting::request_code::kAckMessage))
    return r;
  const size_t n = static_cast<size_t>(req->entries_size());
  if (n == 0) {
    SetGrpcStatus(resp->mutable_status(), v2::BAD_REQUEST, "no entry");
    r->Finish(grpc::Status::OK);
    return r;
  }
  struct Tally {
    Mutex mu;
    std::vector<v2::AckMessageResultEntry> entries TH_GUARDED_BY(mu);
    size_t left TH_GUARDED_BY(mu) = 0;
  };
  auto tally = std::make_shared<Tally>();
  {
    MutexLock lock(&tally->mu);
    tally->entries.resize(n);
    tally->left = n;
  }
  auto settle = [tally, r, resp](size_t i, v2::AckMessageResultEntry e) {
    {
      MutexLock lock(&tally->mu);
      tally->entries[i] = std::move(e);
      if (--tally->left > 0) return;
      v2::Code code = tally->entries[0].status().code();
      std::string msg = tally->entries[0].status().message();
      for (const v2::AckMessageResultEntry& x : tally->entries) {
        if (x.status().code() != code) {
          code = v2::MULTIPLE_RESULTS;
          msg = "the entries had different results";
        }
      }
      for (v2::AckMessageResultEntry& x : tally->entries)
        *resp->add_entries() = std::move(x);
      SetGrpcStatus(resp->mutable_status(), code, msg);
    }
    r->Finish(grpc::Status::OK);
  };
  const int64_t now = NowMs();
  for (size_t i = 0; i < n; ++i) {
    const v2::AckMessageEntry& entry = req->entries(static_cast<int>(i));
    v2::AckMessageResultEntry e;
    e.set_message_id(entry.message_id());
    e.set_receipt_handle(entry.receipt_handle());
    Result<PopExtraInfo> h = ParseReceiptHandle(entry.receipt_handle());
    if (!h.ok() || h->ReviveTime() <= now) {
      SetGrpcStatus(e.mutable_status(), v2::INVALID_RECEIPT_HANDLE,
                    h.ok() ? "the receipt handle has expired"
                           : std::string(h.status().message()));
      settle(i, std::move(e));
      continue;
    }
    RemotingCommand ack =
        RemotingCommand::CreateRequest(remoting::request_code::kAckMessage);
    ack.SetExt("consumerGroup", group);
    ack.SetExt("topic", PopAckTopic(group, topic, h->retry_flag));
    ack.SetExt("queueId", h->queue_id);
    ack.SetExt("offset", h->queue_offset);
    ack.SetExt("extraInfo", h->Encode());
    Local(std::move(ack), [settle, i, e = std::move(e)](
                              RemotingCommand answer) mutable {
      if (answer.code() == rc::kSuccess) {
        SetGrpcStatus(e.mutable_status(), v2::OK, "OK");
      } else if (answer.code() == rc::kNoMessage) {
        SetGrpcStatus(e.mutable_status(), v2::INVALID_RECEIPT_HANDLE,
                      answer.remark());
      } else {
        SetGrpcStatus(e.mutable_status(), v2::INTERNAL_SERVER_ERROR,
                      answer.remark());
      }
      settle(i, std::move(e));
    });
  }
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::ChangeInvisibleDuration(
    grpc::CallbackServerContext* ctx,
    const v2::ChangeInvisibleDurationRequest* req,
    v2::ChangeInvisibleDurationResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  auto fail = [&](v2::Code code, std::string msg) {
    SetGrpcStatus(resp->mutable_status(), code, msg);
    r->Finish(grpc::Status::OK);
    return r;
  };
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(req->topic().name(), acl::perm::kSub),
                   GrpcAclGroup(req->group().name(), acl::perm::kSub)},
                  remoting::request_code::kChangeMessageInvisibleTime))
    return r;
  const int64_t invisible = DurationMs(req->invisible_duration());
  if (invisible < 0 || invisible > kGrpcMaxInvisibleMs)
    return fail(v2::ILLEGAL_INVISIBLE_TIME,
                "the invisible duration must be within [0, 12 h]");
  Result<PopExtraInfo> h = ParseReceiptHandle(req->receipt_handle());
  if (!h.ok())
    return fail(v2::INVALID_RECEIPT_HANDLE, std::string(h.status().message()));
  if (h->ReviveTime() <= NowMs())
    return fail(v2::INVALID_RECEIPT_HANDLE, "the receipt handle has expired");
  const std::string& group = req->group().name();
  RemotingCommand change = RemotingCommand::CreateRequest(
      remoting::request_code::kChangeMessageInvisibleTime);
  change.SetExt("consumerGroup", group);
  change.SetExt("topic", PopAckTopic(group, req->topic().name(), h->retry_flag));
  change.SetExt("queueId", h->queue_id);
  change.SetExt("offset", h->queue_offset);
  change.SetExt("extraInfo", h->Encode());
  change.SetExt("invisibleTime", invisible);
  Local(std::move(change), [r, resp, old = *h](RemotingCommand answer) {
    if (answer.code() != rc::kSuccess) {
      SetGrpcStatus(resp->mutable_status(),
                    answer.code() == rc::kNoMessage ? v2::INVALID_RECEIPT_HANDLE
                                                    : v2::INTERNAL_SERVER_ERROR,
                    answer.remark());
    } else {
      // The new checkpoint starts at the message itself (§11 item 3).
      PopExtraInfo fresh = old;
      fresh.ck_queue_offset = old.queue_offset;
      fresh.pop_time = answer.ExtInt64Or("popTime", old.pop_time);
      fresh.invisible_time =
          answer.ExtInt64Or("invisibleTime", old.invisible_time);
      fresh.revive_qid = static_cast<int32_t>(
          answer.ExtInt64Or("reviveQid", old.revive_qid));
      resp->set_receipt_handle(EncodeReceiptHandle(fresh));
      SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* MessagingServiceImpl::ForwardMessageToDeadLetterQueue(
    grpc::CallbackServerContext* ctx,
    const v2::ForwardMessageToDeadLetterQueueRequest* req,
    v2::ForwardMessageToDeadLetterQueueResponse* resp) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  if (RefuseUnary(ctx, r, resp,
                  {GrpcAclTopic(req->topic().name(), acl::perm::kSub),
                   GrpcAclGroup(req->group().name(), acl::perm::kSub)},
                  remoting::request_code::kConsumerSendMsgBack))
    return r;
  Result<PopExtraInfo> h = ParseReceiptHandle(req->receipt_handle());
  if (!h.ok() || h->commit_log_offset < 0) {
    SetGrpcStatus(resp->mutable_status(), v2::INVALID_RECEIPT_HANDLE,
                  h.ok() ? "the receipt handle has no commit-log offset"
                         : std::string(h.status().message()));
    r->Finish(grpc::Status::OK);
    return r;
  }
  const std::string group = req->group().name();
  const std::string topic = req->topic().name();
  RemotingCommand back = RemotingCommand::CreateRequest(
      remoting::request_code::kConsumerSendMsgBack);
  back.SetExt("offset", h->commit_log_offset);
  back.SetExt("group", group);
  back.SetExt("delayLevel", int32_t{-1});
  back.SetExt("originMsgId", req->message_id());
  back.SetExt("originTopic", topic);
  back.SetExt("maxReconsumeTimes", int32_t{0});
  Local(std::move(back), [this, r, resp, group, topic,
                          handle = *h](RemotingCommand answer) {
    if (answer.code() != rc::kSuccess) {
      SetGrpcStatus(resp->mutable_status(), v2::INTERNAL_SERVER_ERROR,
                    answer.remark());
      r->Finish(grpc::Status::OK);
      return;
    }
    // In the DLQ now: the popped original is done.
    RemotingCommand ack =
        RemotingCommand::CreateRequest(remoting::request_code::kAckMessage);
    ack.SetExt("consumerGroup", group);
    ack.SetExt("topic", PopAckTopic(group, topic, handle.retry_flag));
    ack.SetExt("queueId", handle.queue_id);
    ack.SetExt("offset", handle.queue_offset);
    ack.SetExt("extraInfo", handle.Encode());
    Local(std::move(ack), [r, resp](RemotingCommand acked) {
      if (acked.code() == rc::kSuccess) {
        SetGrpcStatus(resp->mutable_status(), v2::OK, "OK");
      } else {
        SetGrpcStatus(resp->mutable_status(), v2::INTERNAL_SERVER_ERROR,
                      acked.remark());
      }
      r->Finish(grpc::Status::OK);
    });
  });
  return r;
}

// --- the server -------------------------------------------------------------

// The `grpc-clients` thread: drops the settings of clients gone silent for
// channelExpiredTimeout (read each round, so a runtime change applies).
class GrpcClientSweeper final : public ServiceThread {
 public:
  GrpcClientSweeper(MessagingServiceImpl* svc, broker::Broker& broker)
      : ServiceThread("grpc-clients"), svc_(svc), broker_(broker) {}

 protected:
  void Run() override {
    while (!stopped()) {
      WaitForRunning(kGrpcClientSweepIntervalMs);
      if (stopped()) break;
      svc_->ExpireIdleClients(SystemClock::Default()->NowMs(),
                              broker_.runtime_config().channel_expired_timeout());
    }
  }

 private:
  static constexpr int64_t kGrpcClientSweepIntervalMs = 1000;
  MessagingServiceImpl* svc_;
  broker::Broker& broker_;
};

struct GrpcServer::Impl {
  // Outlives the server, whose handshakes ask it for the certificate.
  std::unique_ptr<GrpcServerTls> tls;
  std::unique_ptr<remoting::TlsFileWatchService> tls_watch;
  std::unique_ptr<MessagingServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<GrpcClientSweeper> sweeper;
};

GrpcServer::GrpcServer(broker::Broker& broker, GrpcServerOptions options)
    : broker_(broker), options_(std::move(options)) {}

GrpcServer::~GrpcServer() { Stop(); }

Status GrpcServer::Start() {
  // The remoting port's TLS settings apply here too (ACL needs nothing more:
  // every RPC asks the broker's validator).
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  const remoting::TlsServerOptions& tls = broker_.config().tls.server;
  std::unique_ptr<GrpcServerTls> server_tls;
  if (tls.mode != remoting::TlsMode::kDisabled) {
    Result<std::unique_ptr<GrpcServerTls>> c = GrpcServerTls::Create(tls);
    if (!c.ok())
      return Status::InvalidArgument("grpcServerPort: " + c.status().ToString());
    server_tls = std::move(*c);
    credentials = server_tls->credentials();
    if (tls.mode == remoting::TlsMode::kPermissive)
      TH_LOG(broker, kInfo,
             "tls.server.mode permissive: the gRPC port serves TLS only (gRPC "
             "cannot take plaintext on the same port)");
  }
  // Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detector on: every lock gRPC takes (several per call) then updates a
  // process-wide lock graph under one global spin lock. Off, as in abseil's
  // release builds; this process's own locks are common/mutex.h's.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  impl_ = std::make_unique<Impl>();
  impl_->tls = std::move(server_tls);
  impl_->service = std::make_unique<MessagingServiceImpl>(broker_, &port_);
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(
      options_.bind_address + ":" + std::to_string(options_.port), credentials,
      &bound);
  builder.RegisterService(impl_->service.get());
  builder.SetMaxReceiveMessageSize(kGrpcMaxBodySize * 4 + 1024 * 1024);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || bound == 0) {
    impl_.reset();
    return Status::IOError("grpcServerPort " + std::to_string(options_.port) +
                               ": cannot listen on " + options_.bind_address,
                           EADDRINUSE);
  }
  port_ = static_cast<uint16_t>(bound);
  if (impl_->tls) {
    // The files are watched as the remoting port's are (same keys, same
    // rule); a change reaches new connections, open ones keep theirs.
    GrpcServerTls* server_tls_ptr = impl_->tls.get();
    impl_->tls_watch = std::make_unique<remoting::TlsFileWatchService>(
        [server_tls_ptr] { return server_tls_ptr->Reload(); }, tls);
    impl_->tls_watch->Start();
  }
  MessagingServiceImpl* svc = impl_->service.get();
  impl_->sweeper = std::make_unique<GrpcClientSweeper>(svc, broker_);
  impl_->sweeper->Start();
  broker_.set_transaction_check_relay(
      [svc](std::string_view group, RemotingCommand req) {
        return svc->RelayTransactionCheck(group, std::move(req));
      });
  TH_LOG(broker, kInfo,
         "gRPC endpoint (apache.rocketmq.v2) listening on {}:{}{}{}",
         options_.bind_address, port_,
         tls.mode != remoting::TlsMode::kDisabled ? ", TLS" : "",
         broker_.acl() != nullptr ? ", ACL" : "");
  return Status::OK();
}

void GrpcServer::Stop() {
  if (!impl_) return;
  broker_.set_transaction_check_relay(nullptr);
  if (impl_->tls_watch) impl_->tls_watch->Stop();
  impl_->sweeper->Stop();
  // Open calls are cancelled after a short grace; a parked receive finishes
  // on its cancellation, its pop answers into the void later.
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(500));
  impl_->server->Wait();
  impl_.reset();
}

}  // namespace thruster::proxy
