// Pop consumption over remoting: spec/pop.md §2-§4.
#include "client/pop_consumer.h"

#include <openssl/evp.h>

#include <map>
#include <tuple>

#include "client/pull_consumer.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "remoting/json.h"

namespace thruster::client {
namespace {

using remoting::PopExtraInfo;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
namespace json = remoting::json;

Status BrokerError(std::string_view what, const RemotingCommand& resp) {
  return Status::InvalidArgument(std::string(what) + " answered code " +
                                 std::to_string(resp.code()) + ": " +
                                 resp.remark());
}

std::string AckTopic(std::string_view group, std::string_view topic,
                     int32_t flag) {
  if (flag == remoting::pop::kRetryTopicV1)
    return "%RETRY%" + std::string(group) + "_" + std::string(topic);
  if (flag == remoting::pop::kRetryTopicV2)
    return "%RETRY%" + std::string(group) + "+" + std::string(topic);
  return std::string(topic);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  size_t pos = 0;
  while (true) {
    const size_t at = s.find(sep, pos);
    out.push_back(
        s.substr(pos, at == std::string_view::npos ? s.npos : at - pos));
    if (at == std::string_view::npos) break;
    pos = at + 1;
  }
  return out;
}

// The pop codes (2000xx) do not fit the binary header's 16-bit code field:
// these requests always use the JSON header (as Java clients do).
RemotingCommand NewPopRequest(int32_t code) {
  RemotingCommand req = ClientInstance::NewRequest(code);
  req.set_serialize_type(remoting::SerializeType::kJson);
  return req;
}

}  // namespace

PopConsumer::PopConsumer(ClientInstance* client, PopConsumerOptions options)
    : client_(client), options_(std::move(options)) {}

Result<PopResult> ParsePopResponse(RemotingCommand response,
                                   const PopRequest& request,
                                   std::string_view group) {
  PopResult out;
  if (response.code() == rc::kPollingTimeout) {
    out.status = PopStatus::kNoNewMessage;
    out.response = std::move(response);
    return out;
  }
  if (response.code() == rc::kPollingFull) {
    out.status = PopStatus::kPollingFull;
    out.response = std::move(response);
    return out;
  }
  if (response.code() != rc::kSuccess)
    return BrokerError("POP_MESSAGE", response);
  out.status = PopStatus::kFound;
  out.pop_time = response.ExtInt64Or("popTime", 0);
  out.invisible_time = response.ExtInt64Or("invisibleTime", 0);
  out.revive_qid = static_cast<int32_t>(response.ExtInt64Or("reviveQid", 0));
  out.rest_num = response.ExtInt64Or("restNum", 0);
  // "<flag> <queueId> <startOffset>" per queue.
  std::map<std::pair<int32_t, int32_t>, int64_t> start_offsets;
  for (std::string_view item :
       Split(response.ExtOr("startOffsetInfo", ""), ';')) {
    std::vector<std::string_view> f = Split(item, ' ');
    if (f.size() != 3) continue;
    auto flag = json::ParseInt64(f[0]);
    auto qid = json::ParseInt64(f[1]);
    auto so = json::ParseInt64(f[2]);
    if (flag && qid && so)
      start_offsets[{static_cast<int32_t>(*flag), static_cast<int32_t>(*qid)}] =
          *so;
  }
  // "<flag> qo<queueId>%<offset> <count>" per message (orderly pops).
  std::map<std::pair<int32_t, int64_t>, int32_t> order_counts;
  for (std::string_view item :
       Split(response.ExtOr("orderCountInfo", ""), ';')) {
    std::vector<std::string_view> f = Split(item, ' ');
    if (f.size() != 3 || !f[1].starts_with("qo")) continue;
    const size_t pct = f[1].find('%');
    if (pct == std::string_view::npos) continue;
    auto qid = json::ParseInt64(f[1].substr(2, pct - 2));
    auto off = json::ParseInt64(f[1].substr(pct + 1));
    auto count = json::ParseInt64(f[2]);
    if (qid && off && count)
      order_counts[{static_cast<int32_t>(*qid), *off}] =
          static_cast<int32_t>(*count);
  }
  out.response = std::move(response);
  std::vector<message::DecodedRecord> records;
  TH_RETURN_IF_ERROR(DecodeMessages(out.response.body(), false, &records));
  for (message::DecodedRecord& rec : records) {
    PoppedMessage m;
    std::optional<std::string_view> pop_ck =
        message::FindProperty(rec.properties, remoting::pop::kPropPopCk);
    if (pop_ck) {
      Result<PopExtraInfo> h = PopExtraInfo::Parse(*pop_ck);
      if (!h.ok()) return h.status();
      m.handle = std::move(h).value();
    } else {
      m.handle.ck_queue_offset = start_offsets.count({0, rec.queue_id}) > 0
                                     ? start_offsets[{0, rec.queue_id}]
                                     : rec.queue_offset;
      m.handle.pop_time = out.pop_time;
      m.handle.invisible_time = out.invisible_time;
      m.handle.revive_qid = out.revive_qid;
      m.handle.retry_flag = 0;
      m.handle.broker_name = request.broker_name;
      m.handle.queue_id = rec.queue_id;
      m.handle.queue_offset = rec.queue_offset;
    }
    m.ack_topic = AckTopic(group, request.topic, m.handle.retry_flag);
    m.reconsume_times = rec.reconsume_times;
    if (auto it = order_counts.find({rec.queue_id, rec.queue_offset});
        it != order_counts.end())
      m.reconsume_times = it->second;
    m.record = rec;
    out.messages.push_back(std::move(m));
  }
  return out;
}

Result<PopResult> PopConsumer::Pop(const PopRequest& request) {
  RemotingCommand req = NewPopRequest(req_code::kPopMessage);
  req.SetExt("bornTime", options_.clock->NowMs());
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("exp", request.expression);
  req.SetExt("expType", "TAG");
  req.SetExt("initMode", request.init_mode);
  req.SetExt("invisibleTime", request.invisible_time_ms);
  req.SetExt("maxMsgNums", request.max_nums);
  req.SetExtBool("order", request.order);
  req.SetExt("pollTime", request.poll_time_ms);
  req.SetExt("queueId", request.queue_id);
  req.SetExt("topic", request.topic);
  if (!request.attempt_id.empty()) req.SetExt("attemptId", request.attempt_id);
  TH_ASSIGN_OR_RETURN(
      RemotingCommand resp,
      client_->InvokeBroker(request.broker_addr, std::move(req)));
  return ParsePopResponse(std::move(resp), request, options_.group);
}

Status PopConsumer::Ack(const std::string& broker_addr,
                        const PoppedMessage& m) {
  RemotingCommand req = NewPopRequest(req_code::kAckMessage);
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("extraInfo", m.handle.Encode());
  req.SetExt("offset", m.handle.queue_offset);
  req.SetExt("queueId", m.handle.queue_id);
  req.SetExt("topic", m.ack_topic);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(broker_addr, std::move(req)));
  if (resp.code() != rc::kSuccess) return BrokerError("ACK_MESSAGE", resp);
  return Status::OK();
}

Status PopConsumer::BatchAck(const std::string& broker_addr,
                             std::span<const PoppedMessage> messages) {
  // One BatchAck per (flag, queueId, ckQueueOffset, popTime) (§3.2).
  using Key = std::tuple<int32_t, int32_t, int64_t, int64_t>;
  std::map<Key, std::vector<const PoppedMessage*>> groups;
  for (const PoppedMessage& m : messages) {
    groups[{m.handle.retry_flag, m.handle.queue_id, m.handle.ck_queue_offset,
            m.handle.pop_time}]
        .push_back(&m);
  }
  json::Value acks = json::Value::Array();
  std::string broker_name;
  for (const auto& [key, ms] : groups) {
    const PopExtraInfo& h = ms.front()->handle;
    broker_name = h.broker_name;
    std::vector<unsigned char> bits;
    for (const PoppedMessage* m : ms) {
      const int64_t i = m->handle.queue_offset - h.ck_queue_offset;
      if (i < 0 || i >= 4096) continue;
      const size_t byte = static_cast<size_t>(i / 8);
      if (bits.size() <= byte) bits.resize(byte + 1, 0);
      bits[byte] = static_cast<unsigned char>(bits[byte] | (1u << (i % 8)));
    }
    std::string b64(4 * ((bits.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  bits.data(), static_cast<int>(bits.size()));
    b64.resize(static_cast<size_t>(n));
    json::Value a = json::Value::Object();
    a.Set("b", json::Value::String(b64));
    a.Set("c", json::Value::String(options_.group));
    a.Set("it", json::Value::Int(h.invisible_time));
    a.Set("pt", json::Value::Int(h.pop_time));
    a.Set("q", json::Value::Int(h.queue_id));
    a.Set("r", json::Value::String(std::to_string(h.retry_flag)));
    a.Set("rq", json::Value::Int(h.revive_qid));
    a.Set("so", json::Value::Int(h.ck_queue_offset));
    // The normal topic: the record's (retry messages are re-topiced).
    a.Set("t", json::Value::String(std::string(ms.front()->record.topic)));
    acks.Push(std::move(a));
  }
  json::Value body = json::Value::Object();
  body.Set("acks", std::move(acks));
  body.Set("brokerName", json::Value::String(broker_name));
  RemotingCommand req = NewPopRequest(req_code::kBatchAckMessage);
  req.set_body(std::string_view(json::Write(body)));
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(broker_addr, std::move(req)));
  if (resp.code() != rc::kSuccess)
    return BrokerError("BATCH_ACK_MESSAGE", resp);
  return Status::OK();
}

Status PopConsumer::ChangeInvisibleTime(const std::string& broker_addr,
                                        PoppedMessage* m,
                                        int64_t invisible_time_ms) {
  RemotingCommand req = NewPopRequest(req_code::kChangeMessageInvisibleTime);
  req.SetExt("consumerGroup", options_.group);
  req.SetExt("extraInfo", m->handle.Encode());
  req.SetExt("invisibleTime", invisible_time_ms);
  req.SetExt("offset", m->handle.queue_offset);
  req.SetExt("queueId", m->handle.queue_id);
  req.SetExt("topic", m->ack_topic);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      client_->InvokeBroker(broker_addr, std::move(req)));
  if (resp.code() != rc::kSuccess)
    return BrokerError("CHANGE_MESSAGE_INVISIBLETIME", resp);
  // The new handle (§4): the checkpoint now starts at the message's offset
  // (orderly handles keep theirs).
  if (!m->handle.orderly()) m->handle.ck_queue_offset = m->handle.queue_offset;
  m->handle.pop_time = resp.ExtInt64Or("popTime", m->handle.pop_time);
  m->handle.invisible_time =
      resp.ExtInt64Or("invisibleTime", invisible_time_ms);
  m->handle.revive_qid =
      static_cast<int32_t>(resp.ExtInt64Or("reviveQid", m->handle.revive_qid));
  return Status::OK();
}

}  // namespace thruster::client
