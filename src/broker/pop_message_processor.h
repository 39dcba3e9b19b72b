#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_stats.h"
#include "broker/consumer_offset_manager.h"
#include "broker/filter/sql_filter.h"
#include "broker/pop_service.h"
#include "broker/pull_request_hold_service.h"
#include "broker/request_processor.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

namespace thruster::broker {

// Where a parked pop of (topic, queueId) waits from: the queue's max offset,
// or for -1 the sum of the max offsets of every read queue (so any arrival
// moves it).
int64_t QueuesEnd(const store::MessageStore& store,
                  const TopicConfigManager& topics, std::string_view topic,
                  int32_t queue_id);

// POP_MESSAGE (200050): spec/pop.md §2, §8.1. Reads up to maxMsgNums messages
// from the group's pop offsets (the normal topic's queue, or every read queue
// for queueId -1, and the group's pop retry topic %RETRY%<group>_<topic>),
// writes a checkpoint per queue read (PopService) and answers with the records
// and the offset infos clients build handles from. Normal-topic records go out
// as they are stored (body segments into the mapped CommitLog); retry-topic
// records are re-encoded with the normal topic and their POP_CK handle.
// Orderly pops (order=true) hand out one batch per queue at a time.
//
// A pop that finds nothing and has pollTime > 0 is parked in `hold` (keyed by
// (topic, queueId), -1 for all queues), woken by a matching arrival or its
// deadline (bornTime + pollTime); it then answers what it finds, or parks
// again until the deadline, then POLLING_TIMEOUT.
//
// Thread-safe. Every reference must outlive the processor.
class PopMessageProcessor final : public RequestProcessor {
 public:
  PopMessageProcessor(const BrokerContext& context, store::MessageStore& store,
                      TopicConfigManager& topics,
                      SubscriptionGroupManager* groups, PopService& pop,
                      BrokerStats& stats, PullRequestHoldService& hold);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;
  // Re-runs a parked pop (from the hold service's thread).
  void ProcessHeld(HeldPull pop);

 private:
  struct Batch;
  // `deadline_ns` is set for a re-run of a parked pop.
  void Pop(remoting::RemotingCommand req, remoting::Responder r,
           std::optional<int64_t> deadline_ns);
  // Reads one queue into `batch` (§2.3 per-queue steps).
  void ReadQueue(Batch* batch, const std::string& topic, int32_t queue_id,
                 int32_t flag);
  // Reads the queues of `topic` (all read queues starting at `start`, or the
  // one given) until the batch is full.
  void ReadTopic(Batch* batch, const std::string& topic, int32_t queue_id,
                 int32_t start, int32_t flag);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  SubscriptionGroupManager* groups_;
  PopService& pop_;
  BrokerStats& stats_;
  PullRequestHoldService& hold_;
  filter::SqlFilterCache sql_filters_;
  // Seeds the per-request draw of §2.3 (retry first, queue rotation).
  std::atomic<uint64_t> draw_{0};
};

}  // namespace thruster::broker
