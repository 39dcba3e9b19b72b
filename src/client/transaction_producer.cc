#include "client/transaction_producer.h"

#include "common/coding.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/codes.h"

namespace thruster::client {
namespace {

int32_t StateCode(LocalTransactionState s) {
  switch (s) {
    case LocalTransactionState::kCommit:
      return message::sysflag::kTransactionCommitType;
    case LocalTransactionState::kRollback:
      return message::sysflag::kTransactionRollbackType;
    case LocalTransactionState::kUnknown:
      return message::sysflag::kTransactionNotType;
  }
  return message::sysflag::kTransactionNotType;
}

}  // namespace

std::string_view LocalTransactionStateName(LocalTransactionState s) {
  switch (s) {
    case LocalTransactionState::kCommit:
      return "COMMIT_MESSAGE";
    case LocalTransactionState::kRollback:
      return "ROLLBACK_MESSAGE";
    case LocalTransactionState::kUnknown:
      return "UNKNOW";
  }
  return "UNKNOW";
}

TransactionProducer::TransactionProducer(ClientInstance* client,
                                         ProducerOptions options,
                                         TransactionListener* listener)
    : client_(client),
      group_(options.group),
      listener_(listener),
      producer_(client, std::move(options)) {
  client_->SetTransactionCheckHandler(
      group_, [this](const remoting::RemotingCommand& check,
                     const std::shared_ptr<remoting::Connection>& conn) {
        OnCheck(check, conn);
      });
}

TransactionProducer::~TransactionProducer() {
  client_->SetTransactionCheckHandler(group_, nullptr);
}

Result<TransactionSendResult> TransactionProducer::SendMessageInTransaction(
    const Message& msg) {
  Message half = msg;
  half.properties.erase(std::string(message::prop::kDelay));
  half.properties["TRAN_MSG"] = "true";
  half.properties["PGROUP"] = group_;
  half.sys_flag = message::sysflag::kTransactionPreparedType;
  Result<SendResult> sent = producer_.Send(half);
  if (!sent.ok()) return sent.status();
  TransactionSendResult out;
  out.half = *sent;
  out.state = listener_->ExecuteLocalTransaction(msg, out.half);

  Result<std::string> addr = client_->FindBrokerMaster(sent->queue.broker_name);
  if (!addr.ok()) return addr.status();
  Result<message::MessageIdParts> id =
      message::DecodeMessageId(sent->offset_msg_id);
  if (!id.ok()) return id.status();
  remoting::RemotingCommand req =
      ClientInstance::NewRequest(remoting::request_code::kEndTransaction);
  req.SetExt("producerGroup", group_);
  req.SetExt("tranStateTableOffset", sent->queue_offset);
  req.SetExt("commitLogOffset", id->phys_offset);
  req.SetExt("commitOrRollback", StateCode(out.state));
  req.SetExtBool("fromTransactionCheck", false);
  req.SetExt("msgId", sent->msg_id);
  req.SetExt("transactionId", sent->msg_id);
  // Oneway, as RocketMQ's producer does: a lost END_TRANSACTION is what the
  // broker's check is for.
  Status s = client_->remoting().InvokeOneway(*addr, std::move(req));
  if (!s.ok()) {
    TH_LOG(client, kWarn, "END_TRANSACTION for {} to {} failed: {}",
           sent->msg_id, *addr, s.ToString());
  }
  return out;
}

void TransactionProducer::OnCheck(
    const remoting::RemotingCommand& check,
    const std::shared_ptr<remoting::Connection>& connection) {
  message::RecordCheck rec = message::CheckRecord(check.body(), false);
  if (rec.status != message::RecordStatus::kOk) return;
  CheckedMessage m;
  m.topic = std::string(rec.record.topic);
  m.queue_id = rec.record.queue_id;
  m.body = std::string(AsStringView(rec.record.body));
  m.properties = message::ParseProperties(rec.record.properties);
  m.transaction_id = std::string(check.ExtOr("transactionId", ""));
  const LocalTransactionState state = listener_->CheckLocalTransaction(m);

  remoting::RemotingCommand req =
      ClientInstance::NewRequest(remoting::request_code::kEndTransaction);
  req.SetExt("producerGroup", group_);
  req.SetExt("tranStateTableOffset",
             check.ExtInt64Or("tranStateTableOffset", -1));
  req.SetExt("commitLogOffset", check.ExtInt64Or("commitLogOffset", -1));
  req.SetExt("commitOrRollback", StateCode(state));
  req.SetExtBool("fromTransactionCheck", true);
  req.SetExt("msgId", std::string(check.ExtOr("msgId", "")));
  req.SetExt("transactionId", std::string(check.ExtOr("transactionId", "")));
  if (auto b = check.FindExt("bname")) req.SetExt("bname", std::string(*b));
  Status s = connection->InvokeOneway(std::move(req));
  if (!s.ok()) {
    TH_LOG(client, kWarn, "answer to the check of {} failed: {}",
           m.transaction_id, s.ToString());
  }
}

}  // namespace thruster::client
