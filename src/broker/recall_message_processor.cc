#include "broker/recall_message_processor.h"

#include <string>

#include "broker/processor_util.h"
#include "broker/timer_message_service.h"
#include "common/logging.h"
#include "message/properties.h"
#include "remoting/codes.h"
#include "remoting/recall_handle.h"

namespace thruster::broker {
namespace {

namespace rc = remoting::response_code;
using remoting::RemotingCommand;

constexpr std::string_view kRecallTag = "_RECALL_TAG_";

}  // namespace

RecallMessageProcessor::RecallMessageProcessor(const BrokerContext& context,
                                               store::MessageStore& store,
                                               const TopicConfigManager& topics)
    : context_(context), store_(store), topics_(topics) {}

void RecallMessageProcessor::ProcessRequest(RemotingCommand req,
                                            remoting::Responder r) {
  Result<std::string_view> group = req.RequireExt("producerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<std::string_view> handle_text = req.RequireExt("recallHandle");
  if (AnsweredRequestError(
          req, r, {group.status(), topic.status(), handle_text.status()}))
    return;
  const BrokerConfig& config = context_.config;
  auto fail = [&](int32_t code, std::string remark) {
    RemotingCommand resp = req.CreateResponse(code, std::move(remark));
    resp.SetExt("MSG_REGION", config.region_id);
    r.Send(std::move(resp));
  };
  if (!config.recall_message_enable)
    return fail(rc::kNoPermission,
                "recall failed: recallMessageEnable is false on broker " +
                    config.broker_name);
  if (store_.broker_role() == store::BrokerRole::kSlave)
    return fail(rc::kSlaveNotAvailable,
                "recall failed: broker " + config.broker_name + " is a slave");
  if ((config.broker_permission & remoting::kPermWrite) == 0 &&
      !config.allow_recall_when_broker_not_writeable)
    return fail(
        rc::kServiceNotAvailable,
        "recall failed: broker " + config.broker_name + " is not writeable");
  if (!topics_.Find(*topic))
    return fail(rc::kTopicNotExist,
                "recall failed: topic " + std::string(*topic) + " not exist");
  Result<remoting::RecallHandle> handle =
      remoting::DecodeRecallHandle(*handle_text);
  if (!handle.ok())
    return fail(rc::kIllegalOperation, std::string(handle.status().message()));
  if (handle->topic != *topic)
    return fail(rc::kIllegalOperation,
                "recall failed: the handle is for topic " + handle->topic +
                    ", not " + std::string(*topic));
  if (handle->broker_name != config.broker_name)
    return fail(rc::kIllegalOperation,
                "recall failed: the handle is for broker " +
                    handle->broker_name + ", not " + config.broker_name);
  const int64_t now = context_.clock.NowMs();
  const int64_t max_delay_ms =
      int64_t{store_.config().timer_max_delay_sec} * 1000;
  if (handle->timestamp_ms <= now || handle->timestamp_ms - now > max_delay_ms)
    return fail(rc::kIllegalOperation,
                "recall failed: the message is due at " +
                    std::to_string(handle->timestamp_ms) +
                    ", not between now and timerMaxDelaySec ahead");

  std::string props;
  message::AppendProperty(&props, message::prop::kTags, kRecallTag);
  message::AppendProperty(&props, message::prop::kUniqKey, handle->uniq_key);
  message::AppendProperty(&props, timer_prop::kDelUniqKey,
                          handle->topic + "+" + handle->uniq_key);
  message::AppendProperty(&props, timer_prop::kDeliverMs,
                          std::to_string(handle->timestamp_ms));
  static constexpr char kBody[] = {'0'};
  message::MessageToStore msg;
  msg.topic = handle->topic;
  msg.queue_id = 0;
  msg.body = std::as_bytes(std::span<const char>(kBody, 1));
  msg.properties = props;
  msg.born_timestamp = now;
  msg.born_host = context_.store_host;
  msg.store_host = context_.store_host;
  if (std::optional<TimerRefusal> refusal =
          TransformTimerMessage(store_.config(), now, &msg, &props))
    return fail(refusal->code, std::move(refusal->remark));
  if (msg.topic != kTimerTopic)
    return fail(rc::kSystemError, "recall failed: the cancel was not parked");
  store_.AsyncPutMessage(msg, [r, region = config.region_id,
                               uniq_key = handle->uniq_key,
                               topic = handle->topic](store::PutResult result) {
    RemotingCommand resp;
    resp.SetExt("MSG_REGION", region);
    switch (result.status) {
      case store::PutStatus::kPutOk:
      case store::PutStatus::kFlushDiskTimeout:
      case store::PutStatus::kFlushSlaveTimeout:
      case store::PutStatus::kSlaveNotAvailable:
        // The cancel is in the log: the recall takes effect.
        resp.set_code(rc::kSuccess);
        resp.SetExt("msgId", uniq_key);
        break;
      case store::PutStatus::kServiceNotAvailable:
        resp.set_code(rc::kServiceNotAvailable);
        break;
      case store::PutStatus::kOsPageCacheBusy:
        resp.set_code(rc::kSystemBusy);
        break;
      default:
        resp.set_code(rc::kSystemError);
        break;
    }
    if (resp.code() != rc::kSuccess) {
      resp.set_remark(
          "recall failed: " + std::string(store::PutStatusName(result.status)) +
          (result.error.empty() ? "" : ": " + result.error));
      TH_LOG(broker, kDebug, "recall in {} failed: {}", topic, resp.remark());
    }
    r.Send(std::move(resp));
  });
}

}  // namespace thruster::broker
