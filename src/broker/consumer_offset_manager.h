#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_file.h"
#include "common/mutex.h"
#include "common/result.h"

// Committed consumer offsets per (group, topic, queueId) (spec/remoting.md
// §3.4.9, §3.4.10, §6.7), and the last pull position of each (for
// GET_CONSUME_STATS). Committed offsets are persisted in
// `config/consumerOffset.json` as RocketMQ writes it:
// {"offsetTable":{"topic@group":{0:12,1:5}}} (bare numeric keys, §4.1); pull
// offsets live in memory only.
//
// Lifecycle: construct → Load() → Commit/Query from any thread → Persist()
// periodically and at stop. Thread-safe (one mutex). `fs` must outlive it.
namespace thruster::broker {

class ConsumerOffsetManager {
 public:
  ConsumerOffsetManager(store::io::FileSystem* fs, std::string config_dir);

  // Reads consumerOffset.json (or its .bak); a missing file is an empty table.
  Status Load();
  // Writes the table when it changed since the last persist (or `force`).
  Status Persist(bool force = false);

  void Commit(std::string_view group, std::string_view topic, int32_t queue_id,
              int64_t offset);
  // The committed offset, or nullopt when none.
  std::optional<int64_t> Query(std::string_view group, std::string_view topic,
                               int32_t queue_id) const;
  void SetPullOffset(std::string_view group, std::string_view topic,
                     int32_t queue_id, int64_t offset);
  std::optional<int64_t> QueryPullOffset(std::string_view group,
                                         std::string_view topic,
                                         int32_t queue_id) const;
  // Topics `group` has committed offsets for.
  std::vector<std::string> TopicsOfGroup(std::string_view group) const;
  // Groups with committed offsets on `topic`.
  std::vector<std::string> GroupsOfTopic(std::string_view topic) const;
  // Drops every offset of `topic` (topic deletion).
  void RemoveTopic(std::string_view topic);
  // Drops every offset of `group` (deleteSubGroup with removeOffset).
  void RemoveGroup(std::string_view group);

  std::string EncodeJson() const;

 private:
  using Table = std::map<std::string, std::map<int32_t, int64_t>, std::less<>>;
  static std::string Key(std::string_view group, std::string_view topic);
  std::string EncodeJsonLocked() const TH_REQUIRES(mu_);

  mutable Mutex mu_;
  ConfigFile file_ TH_GUARDED_BY(mu_);
  Table offsets_
      TH_GUARDED_BY(mu_);  // "topic@group" → queueId → committed offset
  Table pull_offsets_ TH_GUARDED_BY(mu_);  // same keys → last nextBeginOffset
  bool dirty_ TH_GUARDED_BY(mu_) = false;
};

}  // namespace thruster::broker
