// END_TRANSACTION (37): spec/transactions.md §3.
#include "broker/end_transaction_processor.h"

#include <charconv>

#include "broker/processor_util.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/properties.h"

namespace thruster::broker {
namespace {

using remoting::RemotingCommand;
namespace rc = remoting::response_code;

int32_t PutResponseCode(store::PutStatus s) {
  switch (s) {
    case store::PutStatus::kPutOk:
    case store::PutStatus::kFlushDiskTimeout:
    case store::PutStatus::kFlushSlaveTimeout:
    case store::PutStatus::kSlaveNotAvailable:
      return rc::kSuccess;
    case store::PutStatus::kMessageIllegal:
    case store::PutStatus::kPropertiesSizeExceeded:
      return rc::kMessageIllegal;
    case store::PutStatus::kServiceNotAvailable:
      return rc::kServiceNotAvailable;
    case store::PutStatus::kOsPageCacheBusy:
      return rc::kSystemError;
    default:
      return rc::kSystemError;
  }
}

}  // namespace

EndTransactionProcessor::EndTransactionProcessor(
    const BrokerContext& context, store::MessageStore& store,
    TransactionalMessageService& service, int64_t transaction_timeout_ms)
    : context_(context),
      store_(store),
      service_(service),
      transaction_timeout_ms_(transaction_timeout_ms) {}

void EndTransactionProcessor::ProcessRequest(RemotingCommand req,
                                             remoting::Responder r) {
  if (context_.config.broker_id != 0) {
    return SendError(req, r, rc::kSlaveNotAvailable,
                     "this broker is a slave, it does not end transactions");
  }
  Result<std::string_view> group = req.RequireExt("producerGroup");
  Result<int64_t> table_offset = req.RequireExtInt64("tranStateTableOffset");
  Result<int64_t> phys = req.RequireExtInt64("commitLogOffset");
  Result<int32_t> type = req.RequireExtInt32("commitOrRollback");
  if (AnsweredRequestError(req, r,
                           {group.status(), table_offset.status(),
                            phys.status(), type.status()}))
    return;
  const bool from_check = req.ExtBoolOr("fromTransactionCheck", false);
  if (*type != message::sysflag::kTransactionCommitType &&
      *type != message::sysflag::kTransactionRollbackType) {
    // Unknown: nothing to do; RocketMQ answers nothing at all (spec §9 item 8).
    TH_LOG(broker, kDebug, "END_TRANSACTION {} for {} ignored", *type,
           req.ExtOr("msgId", ""));
    return;
  }

  std::optional<store::SelectResult> found = store_.LookMessageByOffset(*phys);
  message::RecordCheck check;
  if (found) check = message::CheckRecord(found->bytes, false);
  if (!found || check.status != message::RecordStatus::kOk ||
      check.record.topic != kTransHalfTopic) {
    return SendError(req, r, rc::kSystemError,
                     "Find prepared transaction message failed");
  }
  const message::DecodedRecord& half = check.record;
  const std::string_view props = half.properties;
  if (!from_check) {
    if (auto s = message::FindProperty(props, txn_prop::kCheckImmunity)) {
      int64_t secs = 0;
      auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), secs);
      const int64_t limit =
          std::max(ec == std::errc() ? secs * 1000 : int64_t{0},
                   transaction_timeout_ms_);
      if (context_.clock.NowMs() - half.born_timestamp > limit) {
        return SendError(req, r, rc::kIllegalOperation,
                         "the transaction is being checked; only the answer "
                         "to a check may end it now");
      }
    }
  }
  if (message::FindProperty(props, txn_prop::kProducerGroup).value_or("") !=
      *group) {
    return SendError(req, r, rc::kSystemError, "The producer group wrong");
  }
  if (half.queue_offset != *table_offset) {
    return SendError(req, r, rc::kSystemError,
                     "The transaction state table offset wrong");
  }
  if (half.phys_offset != *phys) {
    return SendError(req, r, rc::kSystemError, "The commit log offset wrong");
  }

  const int32_t half_queue_id = half.queue_id;
  const int64_t half_offset = half.queue_offset;
  if (*type == message::sysflag::kTransactionRollbackType) {
    service_.MarkDone(half_queue_id, half_offset);
    r.Send(req.CreateResponse(rc::kSuccess));
    return;
  }

  // Commit (spec §3.1): the half record, unchanged properties, to its real
  // topic and queue with the COMMIT sysflag.
  std::optional<std::string_view> real_topic =
      message::FindProperty(props, message::prop::kRealTopic);
  std::optional<std::string_view> real_qid =
      message::FindProperty(props, message::prop::kRealQueueId);
  int32_t queue_id = -1;
  if (real_qid) {
    std::from_chars(real_qid->data(), real_qid->data() + real_qid->size(),
                    queue_id);
  }
  if (!real_topic || real_topic->empty() || queue_id < 0) {
    return SendError(req, r, rc::kSystemError,
                     "the prepared message has no REAL_TOPIC/REAL_QID");
  }
  const std::string uniq_key(
      message::FindProperty(props, message::prop::kUniqKey).value_or(""));
  if (!service_.BeginCommit(uniq_key)) {
    // Committed before (through the original or another copy): deliver once.
    TH_LOG(broker, kDebug, "END_TRANSACTION commit of {} again: not re-put",
           uniq_key);
    service_.MarkDone(half_queue_id, half_offset);
    r.Send(req.CreateResponse(rc::kSuccess));
    return;
  }
  message::MessageToStore msg;
  msg.topic = *real_topic;
  msg.queue_id = queue_id;
  msg.flag = half.flag;
  msg.sys_flag = (half.sys_flag & ~message::sysflag::kTransactionMask) |
                 message::sysflag::kTransactionCommitType;
  msg.body = half.body;
  msg.properties = props;
  msg.born_timestamp = half.born_timestamp;
  msg.born_host = half.born_host;
  msg.store_host = context_.store_host;
  msg.reconsume_times = half.reconsume_times;
  msg.prepared_transaction_offset = *phys;
  // The put copies the record before it returns; `found` keeps the half
  // record mapped until then.
  store_.AsyncPutMessage(
      msg, [this, r, resp = req.CreateResponse(rc::kSuccess), half_queue_id,
            half_offset, uniq_key](store::PutResult result) mutable {
        const int32_t code = PutResponseCode(result.status);
        if (code == rc::kSuccess) {
          service_.MarkDone(half_queue_id, half_offset);
        } else {
          service_.AbortCommit(uniq_key);
          resp.set_code(code);
          resp.set_remark(std::string(store::PutStatusName(result.status)) +
                          (result.error.empty() ? "" : ": " + result.error));
        }
        r.Send(std::move(resp));
      });
}

}  // namespace thruster::broker
