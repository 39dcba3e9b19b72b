#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_file.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "remoting/route_data.h"

// The broker's topics (spec/remoting.md §3.3, §6.2): the TopicConfig table with
// its DataVersion, the system topics a broker registers by itself (TBW102 and
// friends), auto-creation from TBW102, `%RETRY%<group>` creation, and
// persistence in `config/topics.json`
// ({"dataVersion":…,"topicConfigTable":{…}}).
//
// Lifecycle: construct → Load() → use from any thread → Persist() at stop.
// Thread-safe (one mutex). Every change bumps the DataVersion and is persisted
// before the call returns. `fs` and `clock` must outlive it.
namespace thruster::broker {

inline constexpr std::string_view kAutoCreateTopicKey = "TBW102";
inline constexpr std::string_view kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr std::string_view kDlqGroupTopicPrefix = "%DLQ%";
inline constexpr std::string_view kSelfTestTopic = "SELF_TEST_TOPIC";
inline constexpr std::string_view kOffsetMovedEvent = "OFFSET_MOVED_EVENT";

// Checks a topic name (spec §3.4.1 step 2): non-empty, only `[%|a-zA-Z0-9_-]`,
// at most 127 characters (255 for `%RETRY%`/`%DLQ%` topics). InvalidArgument
// saying what is wrong.
Status ValidateTopicName(std::string_view topic);
// Topics producers may not send to (spec §3.4.1 step 3).
bool IsNotAllowedToSend(std::string_view topic);
std::string RetryTopic(std::string_view group);
std::string DlqTopic(std::string_view group);

struct TopicConfigManagerOptions {
  std::string cluster_name;
  std::string broker_name;
  bool auto_create_topic_enable = true;
  int32_t default_topic_queue_nums = 4;
};

class TopicConfigManager {
 public:
  TopicConfigManager(store::io::FileSystem* fs, std::string config_dir,
                     TopicConfigManagerOptions options, const Clock* clock);

  // Reads topics.json (or its .bak), then adds the system topics that are
  // missing. A missing file is an empty table; Corruption when the file exists
  // but neither copy parses.
  Status Load();
  // Writes topics.json with the write-backup-fsync protocol.
  Status Persist();

  std::optional<remoting::TopicConfig> Find(std::string_view topic) const;
  // Creates or replaces `config` (UPDATE_AND_CREATE_TOPIC) and persists. The
  // name must be valid.
  Status Update(const remoting::TopicConfig& config);
  // Send-path auto-creation (spec §6.2): when `topic` is unknown and
  // `default_topic` is a template with PERM_INHERIT (TBW102 with
  // autoCreateTopicEnable), creates it with min(queue_nums, template
  // writeQueueNums) queues and the template's perm without inherit. Returns the
  // topic's config and whether it was created now; NotFound when it cannot be
  // created.
  Result<std::pair<remoting::TopicConfig, bool>> CreateTopicInSendMessage(
      std::string_view topic, std::string_view default_topic,
      int32_t queue_nums);
  // Finds `topic` or creates it with `queue_nums` queues and `perm` (retry and
  // DLQ topics). Returns the config and whether it was created now.
  Result<std::pair<remoting::TopicConfig, bool>> FindOrCreate(
      std::string_view topic, int32_t queue_nums, int32_t perm);
  Status Delete(std::string_view topic);

  remoting::DataVersion data_version() const;
  std::vector<remoting::TopicConfig> All() const;
  // {"dataVersion":{…},"topicConfigTable":{"T":{…},…}}
  std::string EncodeJson() const;

 private:
  void AddSystemTopicsLocked() TH_REQUIRES(mu_);
  void AddTopicIfAbsentLocked(std::string_view name, int32_t queues,
                              int32_t perm) TH_REQUIRES(mu_);
  void BumpVersionLocked() TH_REQUIRES(mu_);
  std::string EncodeJsonLocked() const TH_REQUIRES(mu_);
  Status PersistLocked() TH_REQUIRES(mu_);

  const TopicConfigManagerOptions options_;
  const Clock* clock_;
  mutable Mutex mu_;
  ConfigFile file_ TH_GUARDED_BY(mu_);
  std::map<std::string, remoting::TopicConfig, std::less<>> topics_
      TH_GUARDED_BY(mu_);
  remoting::DataVersion data_version_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
