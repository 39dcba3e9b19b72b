#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_file.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "remoting/json.h"
#include "remoting/route_data.h"

// The broker's consumer groups as RocketMQ 4.9's SubscriptionGroupManager keeps
// them (spec/remoting.md §3.4.27): one SubscriptionGroupConfig per group, with
// the DataVersion, persisted in `config/subscriptionGroup.json` as
// {"dataVersion":{…},"subscriptionGroupTable":{"G":{…}}}. RocketMQ's system
// groups are present from the start; other groups are created by
// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP or, with autoCreateSubscriptionGroup, the
// first time a client uses them (heartbeat, pull, send-back).
//
// Lifecycle: construct → Load() → use from any thread → Persist() at stop.
// Thread-safe (one mutex). Every change bumps the DataVersion and is persisted
// before the call returns. `fs` and `clock` must outlive it.
namespace thruster::broker {

// RocketMQ's SubscriptionGroupConfig, 4.9 members and defaults.
struct SubscriptionGroupConfig {
  std::string group_name;
  bool consume_enable = true;
  bool consume_from_min_enable = true;
  bool consume_broadcast_enable = true;
  int32_t retry_queue_nums = 1;
  int32_t retry_max_times = 16;
  int64_t broker_id = 0;
  int64_t which_broker_when_consume_slowly = 1;
  bool notify_consumer_ids_changed_enable = true;
  // consumeMessageOrderly (RocketMQ 5): the group consumes FIFO; 5.x clients
  // of it pop orderly (spec/pop.md §7, §9.3).
  bool consume_message_orderly = false;

  // Members in alphabetical order, as fastjson writes them.
  remoting::json::Value ToJson() const;
  // Lenient: absent members keep their defaults.
  static SubscriptionGroupConfig FromJson(const remoting::json::Value& v);
};

// Checks a group name as RocketMQ's topic-name rule (non-empty,
// [%|a-zA-Z0-9_-], at most 255 characters); InvalidArgument saying what is
// wrong.
Status ValidateGroupName(std::string_view group);

class SubscriptionGroupManager {
 public:
  // `auto_create` is autoCreateSubscriptionGroup; `retry_max_times` the
  // retryMaxTimes new groups get.
  SubscriptionGroupManager(store::io::FileSystem* fs, std::string config_dir,
                           bool auto_create, int32_t retry_max_times,
                           const Clock* clock);

  // Reads subscriptionGroup.json (or its .bak) and adds the system groups. A
  // missing file is an empty table; Corruption when the file exists but
  // neither copy parses.
  Status Load();
  Status Persist();

  std::optional<SubscriptionGroupConfig> Find(std::string_view group) const;
  // The group's config, created with the defaults when it is unknown and
  // auto-creation is on (or it is a system group); nullopt otherwise.
  std::optional<SubscriptionGroupConfig> FindOrAutoCreate(
      std::string_view group);
  // Creates or replaces (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP) and persists.
  // InvalidArgument for a bad name or values out of range.
  Status Update(const SubscriptionGroupConfig& config);
  // NotFound when the group is unknown.
  Status Delete(std::string_view group);

  std::vector<SubscriptionGroupConfig> All() const;
  remoting::DataVersion data_version() const;
  // {"dataVersion":{…},"subscriptionGroupTable":{…}}
  std::string EncodeJson() const;
  const std::string& path() const { return path_; }

 private:
  void AddSystemGroupsLocked() TH_REQUIRES(mu_);
  void BumpVersionLocked() TH_REQUIRES(mu_);
  std::string EncodeJsonLocked() const TH_REQUIRES(mu_);
  Status PersistLocked() TH_REQUIRES(mu_);

  const bool auto_create_;
  const int32_t retry_max_times_;
  const Clock* clock_;
  const std::string path_;
  mutable Mutex mu_;
  ConfigFile file_ TH_GUARDED_BY(mu_);
  std::map<std::string, SubscriptionGroupConfig, std::less<>> groups_
      TH_GUARDED_BY(mu_);
  remoting::DataVersion data_version_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
