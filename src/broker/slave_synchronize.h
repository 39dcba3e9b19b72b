#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "broker/consumer_offset_manager.h"
#include "broker/schedule_message_service.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "remoting/remoting_client.h"
#include "remoting/route_data.h"

// What a slave copies from its master besides the CommitLog (spec/ha.md §5,
// RocketMQ 4.x's SlaveSynchronize): topics (GET_ALL_TOPIC_CONFIG, 21),
// consumer offsets (GET_ALL_CONSUMER_OFFSET, 43), delay offsets
// (GET_ALL_DELAY_OFFSET, 45) and subscription groups
// (GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 201), each an ordinary remoting request to
// the master's address. Topics and groups are applied only when the master's
// DataVersion changed since the last copy; offsets are merged (the master's
// entries win, slave-only ones stay).
//
// SyncAll() runs on the broker's `broker-sched` thread (every 10 s, the first
// after 3 s, as RocketMQ schedules it). Every reference must outlive it.
namespace thruster::broker {

class SlaveSynchronize {
 public:
  SlaveSynchronize(remoting::RemotingClient& client, TopicConfigManager& topics,
                   ConsumerOffsetManager& offsets,
                   SubscriptionGroupManager& groups,
                   ScheduleMessageService* schedule)
      : client_(client),
        topics_(topics),
        offsets_(offsets),
        groups_(groups),
        schedule_(schedule) {}

  // One round against `master_addr` ("host:port"); skipped when it is empty
  // or `self_addr`. Each part logs its own failure and the others still run;
  // the first error is returned.
  Status SyncAll(const std::string& master_addr, const std::string& self_addr);

  Status SyncTopicConfig(const std::string& master_addr);
  Status SyncConsumerOffset(const std::string& master_addr);
  Status SyncDelayOffset(const std::string& master_addr);
  Status SyncSubscriptionGroupConfig(const std::string& master_addr);

 private:
  Result<remoting::RemotingCommand> Call(const std::string& addr,
                                         int32_t code);

  remoting::RemotingClient& client_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  SubscriptionGroupManager& groups_;
  ScheduleMessageService* schedule_;
  // The master's DataVersions last applied (only the sched thread uses them).
  remoting::DataVersion topics_version_;
  bool topics_synced_ = false;
  remoting::DataVersion groups_version_;
  bool groups_synced_ = false;
};

}  // namespace thruster::broker
