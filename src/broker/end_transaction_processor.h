#pragma once

#include "broker/request_processor.h"
#include "broker/transactional_message_service.h"
#include "store/message_store.h"

// END_TRANSACTION (37): spec/transactions.md §3, remoting.md §3.4.15. Commit
// re-puts the half record to its REAL_TOPIC/REAL_QID (once the put is done the
// half message is marked done); rollback only marks it done. Unknown (0) or any
// other value is ignored without an answer, as RocketMQ does.
//
// Thread-safe. `context`, `store` and `service` must outlive it.
namespace thruster::broker {

class EndTransactionProcessor final : public RequestProcessor {
 public:
  EndTransactionProcessor(const BrokerContext& context,
                          store::MessageStore& store,
                          TransactionalMessageService& service,
                          int64_t transaction_timeout_ms);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  const BrokerContext& context_;
  store::MessageStore& store_;
  TransactionalMessageService& service_;
  const int64_t transaction_timeout_ms_;
};

}  // namespace thruster::broker
