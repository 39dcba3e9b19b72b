// QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33): spec/remoting.md §3.4.12,
// §3.4.13.
#include "broker/query_message_processor.h"

#include <algorithm>

#include "broker/processor_util.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace request_code = remoting::request_code;
namespace json = remoting::json;

}  // namespace

QueryMessageProcessor::QueryMessageProcessor(const BrokerContext& context,
                                             store::MessageStore& store)
    : context_(context), store_(store) {}

void QueryMessageProcessor::ProcessRequest(RemotingCommand request,
                                           remoting::Responder responder) {
  if (request.code() == request_code::kViewMessageById) {
    ViewMessageById(std::move(request), std::move(responder));
  } else {
    QueryMessage(std::move(request), std::move(responder));
  }
}

void QueryMessageProcessor::QueryMessage(RemotingCommand req,
                                         remoting::Responder r) {
  Result<std::string_view> topic = req.RequireExt("topic");
  Result<std::string_view> key = req.RequireExt("key");
  if (AnsweredRequestError(req, r, {topic.status(), key.status()})) return;
  int32_t max_num =
      req.ExtInt32Or("maxNum", context_.config.default_query_max_num);
  if (req.ExtBoolOr("_UNIQUE_KEY_QUERY", false))
    max_num = context_.config.default_query_max_num;
  const int64_t begin = req.ExtInt64Or("beginTimestamp", 0);
  const int64_t end = req.ExtInt64Or("endTimestamp", INT64_MAX);
  store::QueryMessageResult result =
      store_.QueryMessage(*topic, *key, std::max(1, max_num), begin, end);
  if (result.messages.empty()) {
    return SendError(req, r, rc::kQueryNotFound,
                     "can not find message, maybe time range not correct");
  }
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.SetExt("indexLastUpdateTimestamp", result.index_last_update_timestamp);
  resp.SetExt("indexLastUpdatePhyoffset", result.index_last_update_phys_offset);
  for (store::SelectResult& m : result.messages)
    resp.AddBodySegment(m.bytes, std::move(m.file));
  r.Send(std::move(resp));
}

void QueryMessageProcessor::ViewMessageById(RemotingCommand req,
                                            remoting::Responder r) {
  Result<int64_t> offset = req.RequireExtInt64("offset");
  if (AnsweredRequestError(req, r, {offset.status()})) return;
  std::optional<store::SelectResult> m = store_.LookMessageByOffset(*offset);
  if (!m)
    return SendError(
        req, r, rc::kSystemError,
        "can not find message by the offset, " + std::to_string(*offset));
  RemotingCommand resp = req.CreateResponse(rc::kSuccess);
  resp.AddBodySegment(m->bytes, std::move(m->file));
  r.Send(std::move(resp));
}

}  // namespace thruster::broker
