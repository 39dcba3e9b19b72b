// GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14) and
// UPDATE_CONSUMER_OFFSET (15): spec/remoting.md §3.4.8–§3.4.10.
#include "broker/consumer_manage_processor.h"

#include <unistd.h>

#include "broker/processor_util.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

}  // namespace

ConsumerManageProcessor::ConsumerManageProcessor(const BrokerContext& context,
                                                 store::MessageStore& store,
                                                 ClientManager& clients,
                                                 ConsumerOffsetManager& offsets)
    : context_(context), store_(store), clients_(clients), offsets_(offsets) {}

void ConsumerManageProcessor::ProcessRequest(RemotingCommand request,
                                             remoting::Responder responder) {
  switch (request.code()) {
    case request_code::kGetConsumerListByGroup:
      return GetConsumerList(std::move(request), std::move(responder));
    case request_code::kQueryConsumerOffset:
      return QueryConsumerOffset(std::move(request), std::move(responder));
    default:
      return UpdateConsumerOffset(std::move(request), std::move(responder));
  }
}

void ConsumerManageProcessor::GetConsumerList(RemotingCommand req,
                                              remoting::Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  if (AnsweredRequestError(req, r, {group.status()})) return;
  std::vector<std::string> ids = clients_.ConsumerIds(*group);
  if (ids.empty()) {
    return SendError(req, r, rc::kSystemError,
                     "no consumer for this group, " + std::string(*group));
  }
  json::Value list = json::Value::Array();
  for (std::string& id : ids) list.Push(json::Value::String(std::move(id)));
  json::Value body = json::Value::Object();
  body.Set("consumerIdList", std::move(list));
  SendJson(req, r, body);
}

void ConsumerManageProcessor::QueryConsumerOffset(RemotingCommand req,
                                                  remoting::Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  if (AnsweredRequestError(req, r,
                           {group.status(), topic.status(), queue_id.status()}))
    return;
  std::optional<int64_t> offset = offsets_.Query(*group, *topic, *queue_id);
  if (!offset && context_.config.young_queue_offset_zero &&
      req.ExtBoolOr("setZeroIfNotFound", true)) {
    // Young-queue rule (§3.4.9): a queue that still starts at 0 with message 0
    // in memory is read from 0.
    const int64_t min = store_.GetMinOffsetInQueue(*topic, *queue_id);
    const int64_t max = store_.GetMaxOffsetInQueue(*topic, *queue_id);
    if (min <= 0 && max > 0) {
      const int64_t phys =
          store_.GetCommitLogOffsetInQueue(*topic, *queue_id, 0);
      const long pages = ::sysconf(_SC_PHYS_PAGES);
      const long page_size = ::sysconf(_SC_PAGE_SIZE);
      const int64_t ram = pages > 0 && page_size > 0
                              ? static_cast<int64_t>(pages) * page_size
                              : int64_t{24} << 30;
      const int64_t in_memory =
          ram / 100 * store_.config().access_message_in_memory_max_ratio;
      if (store_.GetMaxPhyOffset() - phys <= in_memory) offset = 0;
    }
  }
  if (!offset)
    return SendError(
        req, r, rc::kQueryNotFound,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("offset", *offset);
  r.Send(std::move(resp));
}

void ConsumerManageProcessor::UpdateConsumerOffset(RemotingCommand req,
                                                   remoting::Responder r) {
  Result<std::string_view> group = req.RequireExt("consumerGroup");
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<int32_t> queue_id = req.RequireExtInt32("queueId");
  Result<int64_t> offset = req.RequireExtInt64("commitOffset");
  if (AnsweredRequestError(
          req, r,
          {group.status(), topic.status(), queue_id.status(), offset.status()}))
    return;
  offsets_.Commit(*group, *topic, *queue_id, *offset);
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  r.Send(std::move(resp));
}

}  // namespace thruster::broker
