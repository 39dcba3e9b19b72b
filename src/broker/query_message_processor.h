#pragma once

#include "broker/request_processor.h"
#include "store/message_store.h"

namespace thruster::broker {

// QUERY_MESSAGE (12): records by key (KEYS or UNIQ_KEY) in a time range, from
// the index; VIEW_MESSAGE_BY_ID (33): the record at a phys offset (a decoded
// msgId). spec/remoting.md §3.4.12, §3.4.13. Found records are answered as
// body segments pointing into the mapped CommitLog (zero copy).
//
// Thread-safe. `context` and `store` must outlive it.
class QueryMessageProcessor final : public RequestProcessor {
 public:
  QueryMessageProcessor(const BrokerContext& context,
                        store::MessageStore& store);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

 private:
  void QueryMessage(remoting::RemotingCommand req, remoting::Responder r);
  void ViewMessageById(remoting::RemotingCommand req, remoting::Responder r);

  const BrokerContext& context_;
  store::MessageStore& store_;
};

}  // namespace thruster::broker
