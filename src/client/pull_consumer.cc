#include "client/pull_consumer.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/logging.h"
#include "remoting/codes.h"
#include "remoting/pull_sys_flag.h"

namespace thruster::client {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;

namespace {


}  // namespace

std::string_view PullStatusName(PullStatus s) {
  switch (s) {
    case PullStatus::kFound:
      return "FOUND";
    case PullStatus::kNoNewMessage:
      return "NO_NEW_MSG";
    case PullStatus::kNoMatchedMessage:
      return "NO_MATCHED_MSG";
    case PullStatus::kOffsetIllegal:
      return "OFFSET_ILLEGAL";
  }
  return "UNKNOWN";
}

Status DecodeMessages(std::span<const std::byte> body, bool check_crc,
                      std::vector<message::DecodedRecord>* out) {
  size_t pos = 0;
  while (pos < body.size()) {
    message::RecordCheck c = message::CheckRecord(body.subspan(pos), check_crc);
    if (c.status != message::RecordStatus::kOk) {
      return Status::Corruption(fmt::format(
          "bad stored record at body byte {}: {}", pos,
          c.error.empty() ? std::string_view("not a message") : c.error));
    }
    if (pos == 0) {
      // Records of a batch are mostly of one size: one allocation, no
      // regrowth.
      out->reserve(
          out->size() +
          std::min<size_t>(body.size() / static_cast<size_t>(c.size), 1024) +
          1);
    }
    out->push_back(c.record);
    pos += static_cast<size_t>(c.size);
  }
  return Status::OK();
}

Result<PullResult> ParsePullResponse(RemotingCommand response, bool check_crc,
                                     std::string_view context) {
  PullResult r;
  switch (response.code()) {
    case rc::kSuccess:
      r.status = PullStatus::kFound;
      break;
    case rc::kPullNotFound:
      r.status = PullStatus::kNoNewMessage;
      break;
    case rc::kPullRetryImmediately:
      r.status = PullStatus::kNoMatchedMessage;
      break;
    case rc::kPullOffsetMoved:
      r.status = PullStatus::kOffsetIllegal;
      break;
    default:
      return StatusFromResponse(response, context);
  }
  auto next = response.RequireExtInt64("nextBeginOffset");
  if (!next.ok())
    return Status::Corruption(
        fmt::format("{}: pull response lacks nextBeginOffset", context));
  r.next_begin_offset = *next;
  r.min_offset = response.ExtInt64Or("minOffset", 0);
  r.max_offset = response.ExtInt64Or("maxOffset", 0);
  r.response = std::move(response);
  if (r.status == PullStatus::kFound) {
    TH_RETURN_IF_ERROR(
        DecodeMessages(r.response.body(), check_crc, &r.messages));
  }
  return r;
}

PullConsumer::PullConsumer(ClientInstance* client, PullConsumerOptions options)
    : client_(client), options_(std::move(options)) {}

Result<std::vector<MessageQueue>> PullConsumer::FetchSubscribeQueues(
    const std::string& topic) {
  TH_ASSIGN_OR_RETURN(auto route, client_->FetchTopicRoute(topic));
  std::vector<MessageQueue> queues;
  for (const auto& qd : route.queue_datas) {
    if ((qd.perm & remoting::kPermRead) == 0) continue;
    for (int32_t q = 0; q < qd.read_queue_nums; ++q)
      queues.push_back(MessageQueue{topic, qd.broker_name, q});
  }
  std::sort(queues.begin(), queues.end());
  if (options_.register_in_heartbeat) {
    ConsumerRegistration reg;
    reg.group = options_.group;
    reg.topics.insert(topic);
    client_->RegisterConsumer(std::move(reg));
    // Register at once, as RocketMQ clients do at start; the heartbeat thread
    // refreshes it. A failure only delays the listing, pulls work without it.
    if (Status s = client_->SendHeartbeats(); !s.ok())
      TH_LOG(client, kWarn, "heartbeat: {}", s.ToString());
  }
  return queues;
}

Result<std::string> PullConsumer::BrokerAddr(const MessageQueue& mq) {
  auto addr = client_->FindBrokerMaster(mq.broker_name);
  if (addr.ok()) return addr;
  TH_RETURN_IF_ERROR(client_->FetchTopicRoute(mq.topic).status());
  return client_->FindBrokerMaster(mq.broker_name);
}

Result<RemotingCommand> PullConsumer::BuildPull(
    const MessageQueue& mq, const std::string& subscription, int64_t offset,
    int32_t max_nums, int64_t commit_offset, std::string* addr) {
  TH_ASSIGN_OR_RETURN(*addr, BrokerAddr(mq));
  int32_t sys_flag = remoting::pull_sys_flag::kSubscription;
  if (options_.suspend_timeout_ms > 0) sys_flag |= remoting::pull_sys_flag::kSuspend;
  if (commit_offset >= 0) sys_flag |= remoting::pull_sys_flag::kCommitOffset;
  RemotingCommand req = ClientInstance::NewRequest(req_code::kPullMessage);
  // In name order, so each field is appended to the sorted ExtFields.
  req.SetExt("commitOffset", std::max<int64_t>(commit_offset, 0));
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("expressionType", "TAG");
  req.SetExt("maxMsgNums", max_nums);
  req.SetExt("queueId", mq.queue_id);
  req.SetExt("queueOffset", offset);
  req.SetExt("subVersion", int64_t{0});
  req.SetExt("subscription", subscription.empty() ? "*" : subscription);
  req.SetExt("suspendTimeoutMillis", options_.suspend_timeout_ms);
  req.SetExt("sysFlag", sys_flag);
  req.SetExt("topic", mq.topic);
  return req;
}

Result<PullResult> PullConsumer::Pull(const MessageQueue& mq,
                                      const std::string& subscription,
                                      int64_t offset, int32_t max_nums,
                                      int64_t commit_offset) {
  std::string addr;
  TH_ASSIGN_OR_RETURN(
      RemotingCommand req,
      BuildPull(mq, subscription, offset, max_nums, commit_offset, &addr));
  auto resp = client_->remoting().InvokeSync(addr, std::move(req),
                                             options_.pull_timeout);
  if (!resp.ok()) {
    return Status::IOError(fmt::format("pull {} from {}: {}", mq.ToString(),
                                       addr, resp.status().message()));
  }
  return ParsePullResponse(std::move(*resp), options_.check_crc,
                           fmt::format("pull {}", mq.ToString()));
}

void PullConsumer::PullAsync(const MessageQueue& mq,
                             const std::string& subscription, int64_t offset,
                             int32_t max_nums, int64_t commit_offset,
                             PullCallback cb) {
  std::string addr;
  auto req =
      BuildPull(mq, subscription, offset, max_nums, commit_offset, &addr);
  if (!req.ok()) {
    cb(req.status());
    return;
  }
  client_->remoting().InvokeAsync(
      addr, std::move(*req), options_.pull_timeout,
      [check = options_.check_crc, mq, addr,
       cb = std::move(cb)](Result<RemotingCommand> resp) {
        if (!resp.ok()) {
          cb(Status::IOError(fmt::format("pull {} from {}: {}", mq.ToString(),
                                         addr, resp.status().message())));
          return;
        }
        cb(ParsePullResponse(std::move(*resp), check, "pull"));
      });
}

Result<int64_t> PullConsumer::QueryOffset(const MessageQueue& mq) {
  TH_ASSIGN_OR_RETURN(std::string addr, BrokerAddr(mq));
  RemotingCommand req =
      ClientInstance::NewRequest(req_code::kQueryConsumerOffset);
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("topic", mq.topic);
  req.SetExt("queueId", mq.queue_id);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(addr, std::move(req)));
  if (resp.code() == rc::kQueryNotFound) {
    return Status::NotFound(fmt::format("group {} has no offset for {}",
                                        options_.group, mq.ToString()));
  }
  TH_RETURN_IF_ERROR(StatusFromResponse(
      resp, fmt::format("query offset of {}", mq.ToString())));
  return resp.RequireExtInt64("offset");
}

Status PullConsumer::UpdateOffset(const MessageQueue& mq, int64_t offset) {
  TH_ASSIGN_OR_RETURN(std::string addr, BrokerAddr(mq));
  RemotingCommand req =
      ClientInstance::NewRequest(req_code::kUpdateConsumerOffset);
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("topic", mq.topic);
  req.SetExt("queueId", mq.queue_id);
  req.SetExt("commitOffset", offset);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(addr, std::move(req)));
  return StatusFromResponse(resp,
                            fmt::format("update offset of {}", mq.ToString()));
}

Result<int64_t> PullConsumer::OffsetCall(const MessageQueue& mq, int32_t code,
                                         int64_t timestamp_ms,
                                         const char* what) {
  TH_ASSIGN_OR_RETURN(std::string addr, BrokerAddr(mq));
  RemotingCommand req = ClientInstance::NewRequest(code);
  req.SetExt("topic", mq.topic);
  req.SetExt("queueId", mq.queue_id);
  if (code == req_code::kSearchOffsetByTimestamp)
    req.SetExt("timestamp", timestamp_ms);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(addr, std::move(req)));
  TH_RETURN_IF_ERROR(
      StatusFromResponse(resp, fmt::format("{} of {}", what, mq.ToString())));
  return resp.RequireExtInt64("offset");
}

Result<int64_t> PullConsumer::MaxOffset(const MessageQueue& mq) {
  return OffsetCall(mq, req_code::kGetMaxOffset, 0, "max offset");
}

Result<int64_t> PullConsumer::MinOffset(const MessageQueue& mq) {
  return OffsetCall(mq, req_code::kGetMinOffset, 0, "min offset");
}

Result<int64_t> PullConsumer::SearchOffset(const MessageQueue& mq,
                                           int64_t timestamp_ms) {
  return OffsetCall(mq, req_code::kSearchOffsetByTimestamp, timestamp_ms,
                    "offset by time");
}

}  // namespace thruster::client
