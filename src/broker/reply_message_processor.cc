// SEND_REPLY_MESSAGE (324) / SEND_REPLY_MESSAGE_V2 (325) and
// PUSH_REPLY_MESSAGE_TO_CLIENT (326).
#include "broker/reply_message_processor.h"

#include <chrono>

#include "broker/processor_util.h"
#include "common/logging.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "store/put_outcome.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;

constexpr std::string_view kReplyToClient = "REPLY_TO_CLIENT";
constexpr std::string_view kPushReplyTime = "PUSH_REPLY_TIME";
constexpr auto kPushTimeout = std::chrono::milliseconds(3000);

// What both the push and the answer need once the store and the client have
// spoken; the answer goes when both are in.
struct ReplyState {
  Mutex mu;
  int waiting TH_GUARDED_BY(mu) = 2;
  RemotingCommand response TH_GUARDED_BY(mu);
  std::string push_error TH_GUARDED_BY(mu);
  remoting::Responder responder;
};

void Finish(const std::shared_ptr<ReplyState>& st) {
  RemotingCommand resp;
  {
    MutexLock lock(&st->mu);
    if (--st->waiting > 0) return;
    resp = std::move(st->response);
    if (!st->push_error.empty()) {
      resp.set_code(rc::kSystemError);
      resp.set_remark(st->push_error);
    }
  }
  st->responder.Send(std::move(resp));
}

}  // namespace

ReplyMessageProcessor::ReplyMessageProcessor(const BrokerContext& context,
                                             store::MessageStore& store,
                                             TopicConfigManager& topics,
                                             ClientManager& clients,
                                             BrokerStats& stats)
    : context_(context),
      store_(store),
      topics_(topics),
      clients_(clients),
      stats_(stats) {}

void ReplyMessageProcessor::ProcessRequest(RemotingCommand req,
                                           remoting::Responder r) {
  const bool v2 = req.code() == remoting::request_code::kSendReplyMessageV2;
  auto name = [v2](const char* longname, const char* letter) {
    return v2 ? letter : longname;
  };
  Result<std::string_view> group = req.RequireExt(name("producerGroup", "a"));
  Result<std::string_view> topic = req.RequireExt(name("topic", "b"));
  Result<int32_t> queue_id = req.RequireExtInt32(name("queueId", "e"));
  Result<int64_t> born = req.RequireExtInt64(name("bornTimestamp", "g"));
  if (AnsweredRequestError(
          req, r,
          {group.status(), topic.status(), queue_id.status(), born.status()}))
    return;
  const int32_t sys_flag = req.ExtInt32Or(name("sysFlag", "f"), 0);
  const int32_t flag = req.ExtInt32Or(name("flag", "h"), 0);
  const int32_t reconsume_times =
      req.ExtInt32Or(name("reconsumeTimes", "j"), 0);
  const std::string default_topic(
      req.ExtOr(name("defaultTopic", "c"), kAutoCreateTopicKey));
  const int32_t default_queue_nums =
      req.ExtInt32Or(name("defaultTopicQueueNums", "d"), 4);
  if (Status s = ValidateTopicName(*topic); !s.ok())
    return SendError(req, r, rc::kInvalidParameter, std::string(s.message()));
  if (IsNotAllowedToSend(*topic)) {
    return SendError(
        req, r, rc::kNoPermission,
        "sending message to topic " + std::string(*topic) + " is forbidden");
  }
  std::optional<remoting::TopicConfig> tc = topics_.Find(*topic);
  if (!tc) {
    Result<std::pair<remoting::TopicConfig, bool>> created =
        topics_.CreateTopicInSendMessage(*topic, default_topic,
                                         default_queue_nums);
    if (!created.ok()) {
      return SendError(
          req, r, rc::kTopicNotExist,
          "topic[" + std::string(*topic) + "] not exist, apply first please!");
    }
    tc = created->first;
    if (created->second) context_.request_registration();
  }
  const int32_t queues = std::max(1, tc->write_queue_nums);
  const int32_t qid = *queue_id < 0 ? 0 : *queue_id % queues;

  std::string properties(req.ExtOr(name("properties", "i"), ""));
  const std::string client_id(
      message::FindProperty(properties, kReplyToClient).value_or(""));
  if (client_id.empty()) {
    return SendError(req, r, rc::kSystemError,
                     "the reply message has no REPLY_TO_CLIENT property");
  }

  auto st = std::make_shared<ReplyState>();
  st->responder = r;
  {
    MutexLock lock(&st->mu);
    st->response.set_code(rc::kSuccess);
  }

  // The push: the reply's fields as a ReplyMessageRequestHeader, its body
  // as the body.
  std::map<std::string, std::string, std::less<>> pushed_props =
      message::ParseProperties(properties);
  pushed_props[std::string(kPushReplyTime)] =
      std::to_string(context_.clock.NowMs());
  RemotingCommand push = RemotingCommand::CreateRequest(
      remoting::request_code::kPushReplyMessageToClient);
  push.SetExt("producerGroup", std::string(*group));
  push.SetExt("topic", std::string(*topic));
  push.SetExt("defaultTopic", default_topic);
  push.SetExt("defaultTopicQueueNums", default_queue_nums);
  push.SetExt("queueId", qid);
  push.SetExt("sysFlag", sys_flag);
  push.SetExt("bornTimestamp", *born);
  push.SetExt("flag", flag);
  push.SetExt("properties", message::EncodeProperties(pushed_props));
  push.SetExt("reconsumeTimes", reconsume_times);
  push.SetExtBool("unitMode", false);
  if (auto conn = r.connection())
    push.SetExt("bornHost", conn->remote_address());
  push.SetExt("storeHost", context_.store_host.ToString());
  push.SetExt("storeTimestamp", context_.clock.NowMs());
  push.set_body(req.body());

  std::shared_ptr<remoting::Connection> target =
      clients_.FindConnectionByClientId(client_id);
  if (!target) {
    {
      MutexLock lock(&st->mu);
      st->push_error =
          "push reply message fail, channel of <" + client_id + "> not found.";
    }
    TH_LOG(broker, kDebug, "reply to {}: no connection", client_id);
    Finish(st);
  } else {
    target->InvokeAsync(std::move(push), kPushTimeout,
                        [st, client_id](Result<RemotingCommand> answer) {
                          std::string error;
                          if (!answer.ok()) {
                            error = "push reply message to <" + client_id +
                                    "> failed: " + answer.status().ToString();
                          } else if (answer->code() != rc::kSuccess) {
                            error = "push reply message to <" + client_id +
                                    "> failed: the client answered code " +
                                    std::to_string(answer->code()) + " " +
                                    answer->remark();
                          }
                          if (!error.empty()) {
                            MutexLock lock(&st->mu);
                            st->push_error = std::move(error);
                          }
                          Finish(st);
                        });
  }

  // Stored as well (RocketMQ's storeReplyMessageEnable, on by default).
  message::MessageToStore msg;
  msg.topic = *topic;
  msg.queue_id = qid;
  msg.flag = flag;
  msg.sys_flag = sys_flag;
  msg.body = req.body();
  msg.properties = properties;
  msg.born_timestamp = *born;
  if (auto conn = r.connection()) {
    const asio::ip::tcp::endpoint& peer = conn->remote_endpoint();
    if (peer.address().is_v4()) {
      const auto ip = peer.address().to_v4().to_bytes();
      msg.born_host = message::HostAddress::V4(
          ip[0], ip[1], ip[2], ip[3], static_cast<int32_t>(peer.port()));
    }
  }
  msg.store_host = context_.store_host;
  msg.reconsume_times = reconsume_times;
  store_.AsyncPutMessage(msg, [this, st, qid](store::PutResult result) {
    {
      MutexLock lock(&st->mu);
      if (store::IsStored(result)) {
        stats_.AddPut(1);
        st->response.SetExt(
            "msgId",
            message::CreateMessageId(context_.store_host, result.phys_offset));
        st->response.SetExt("queueId", qid);
        st->response.SetExt("queueOffset", result.queue_offset);
      } else {
        st->response.set_code(rc::kSystemError);
        st->response.set_remark(
            "storing the reply failed: " +
            std::string(store::PutStatusName(result.status)));
      }
    }
    Finish(st);
  });
}

}  // namespace thruster::broker
