#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/pull_request_hold_service.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "store/message_store.h"

namespace thruster::broker {

class ScheduleMessageService;

// The admin and tooling calls, where RocketMQ 4.9's AdminBrokerProcessor has
// them (spec/remoting.md §3.4.4, §3.4.5, §3.4.11, §3.4.15–§3.4.25):
//   topics       UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//                GET_TOPIC_CONFIG (351), GET_ALL_TOPIC_CONFIG (21)
//   offsets      GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//                SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME
//                (32)
//   ordering     LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42)
//   statistics   GET_BROKER_RUNTIME_INFO (28), GET_CONSUME_STATS (208),
//                GET_TOPIC_STATS_INFO (202), GET_CONSUMER_CONNECTION_LIST
//                (203), QUERY_TOPIC_CONSUME_BY_WHO (300)
//   store        CLEAN_EXPIRED_CONSUMEQUEUE (306)
//
// Thread-safe. Every reference must outlive the processor.
// RocketMQ's formats of GET_BROKER_RUNTIME_INFO's `runtime` and of byte counts.
std::string FormatRuntime(int64_t ms);
std::string HumanReadableByteCount(int64_t bytes);

class AdminBrokerProcessor final : public RequestProcessor {
 public:
  AdminBrokerProcessor(const BrokerContext& context, store::MessageStore& store,
                       TopicConfigManager& topics,
                       ConsumerOffsetManager& offsets, ClientManager& clients,
                       RebalanceLockManager& locks, const BrokerStats& stats,
                       const PullRequestHoldService& hold);

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;
  // The delay-level service whose offsets the runtime info shows
  // (scheduleMessageOffset_<level>); none: no such keys. Set before serving.
  void set_schedule(const ScheduleMessageService* schedule) {
    schedule_ = schedule;
  }

 private:
  using Req = remoting::RemotingCommand;
  using Responder = remoting::Responder;

  void UpdateAndCreateTopic(Req req, Responder r);
  // Drops the topic's config, its consume queues and the consumer offsets kept
  // for it, then re-registers so the name server's route follows. The
  // CommitLog keeps the records until retention removes them. Deleting a topic
  // this broker does not have succeeds (as in RocketMQ).
  void DeleteTopic(Req req, Responder r);
  void GetTopicConfig(Req req, Responder r);
  void GetAllTopicConfig(Req req, Responder r);
  void GetMaxOffset(Req req, Responder r);
  void GetMinOffset(Req req, Responder r);
  // GET_MAX_OFFSET / GET_MIN_OFFSET: reads topic and queueId, answers
  // `offset_of(topic, queueId)`.
  void AnswerQueueOffset(
      const Req& req, const Responder& r,
      const std::function<int64_t(std::string_view, int32_t)>& offset_of);
  void SearchOffsetByTimestamp(Req req, Responder r);
  void GetEarliestMsgStoretime(Req req, Responder r);
  void LockBatchMq(Req req, Responder r);
  void UnlockBatchMq(Req req, Responder r);
  void GetBrokerRuntimeInfo(Req req, Responder r);
  // Every key of RocketMQ's runtime-info table (spec §3.4.21), values as
  // RocketMQ formats them.
  std::map<std::string, std::string> RuntimeInfoTable() const;
  void GetConsumeStats(Req req, Responder r);
  void GetTopicStatsInfo(Req req, Responder r);
  void GetConsumerConnectionList(Req req, Responder r);
  // GET_PRODUCER_CONNECTION_LIST (204): the producers that registered the
  // group by heartbeat.
  void GetProducerConnectionList(Req req, Responder r);
  void QueryTopicConsumeByWho(Req req, Responder r);
  // CLEAN_EXPIRED_CONSUMEQUEUE (306): MessageStore::CleanExpiredConsumeQueues.
  void CleanExpiredConsumeQueue(Req req, Responder r);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  ClientManager& clients_;
  RebalanceLockManager& locks_;
  const BrokerStats& stats_;
  const PullRequestHoldService& hold_;
  const ScheduleMessageService* schedule_ = nullptr;
};

}  // namespace thruster::broker
