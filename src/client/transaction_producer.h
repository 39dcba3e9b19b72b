#pragma once

// A transactional producer (spec/transactions.md §2, §3, §6.3), RocketMQ's
// TransactionMQProducer: sends a half message, runs the application's local
// transaction, ends it with END_TRANSACTION, and answers the broker's
// CHECK_TRANSACTION_STATE by asking the application again.

#include <map>
#include <memory>
#include <string>

#include "client/client_instance.h"
#include "client/producer.h"
#include "common/result.h"

namespace thruster::client {

enum class LocalTransactionState { kCommit, kRollback, kUnknown };
std::string_view LocalTransactionStateName(LocalTransactionState s);

// A half message the broker asks about: the copy it re-appended, with its
// real topic and queue.
struct CheckedMessage {
  std::string topic;
  int32_t queue_id = 0;
  std::string body;
  std::map<std::string, std::string, std::less<>> properties;
  std::string transaction_id;  // the UNIQ_KEY the send answered
};

// The application's side. Both calls may come from different threads;
// CheckLocalTransaction runs on a client net thread and must not block long.
class TransactionListener {
 public:
  virtual ~TransactionListener() = default;
  // Runs after the half message was stored; its answer ends the transaction
  // (kUnknown leaves it to the broker's check).
  virtual LocalTransactionState ExecuteLocalTransaction(
      const Message& msg, const SendResult& half) = 0;
  virtual LocalTransactionState CheckLocalTransaction(
      const CheckedMessage& msg) = 0;
};

struct TransactionSendResult {
  SendResult half;  // where the half message went
  LocalTransactionState state = LocalTransactionState::kUnknown;
};

// Lifecycle: construct over a started ClientInstance (registers the group's
// check handler) → SendMessageInTransaction from any thread → destroy (removes
// the handler). `client` and `listener` must outlive it. Thread-safe.
class TransactionProducer {
 public:
  TransactionProducer(ClientInstance* client, ProducerOptions options,
                      TransactionListener* listener);
  ~TransactionProducer();
  TransactionProducer(const TransactionProducer&) = delete;
  TransactionProducer& operator=(const TransactionProducer&) = delete;

  // Sends `msg` as a half message (TRAN_MSG, PGROUP, sysflag PREPARED; a DELAY
  // is dropped), runs the listener's local transaction and sends
  // END_TRANSACTION oneway with its answer. An error when the half message
  // could not be stored (then the listener is not called) or the broker that
  // stored it is unknown.
  Result<TransactionSendResult> SendMessageInTransaction(const Message& msg);

 private:
  void OnCheck(const remoting::RemotingCommand& check,
               const std::shared_ptr<remoting::Connection>& connection);

  ClientInstance* const client_;
  const std::string group_;
  TransactionListener* const listener_;
  Producer producer_;
};

}  // namespace thruster::client
