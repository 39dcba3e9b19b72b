#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/fetch_journal.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "common/result.h"
#include "message/commit_log_format.h"
#include "remoting/json.h"
#include "store/message_store.h"

// A message's journey through this broker, answered from the store and the
// broker's own state (no client-side tracing): where each copy of the message
// is stored (commit-log offset, store time, size, queue id and offset), whether
// dispatch put it in its consume queue and the index, and per consumer group
// who fetched it and when (the FetchJournal), whether the group's committed
// offset passed it, its retries (the reconsume copies parked in
// SCHEDULE_TOPIC_XXXX with their delay level and due time, and re-delivered in
// %RETRY%<group>), its dead letter in %DLQ%<group>, its re-sends (copies in
// the original topic with the same UNIQ_KEY) or that the group has not
// consumed it yet.
//
// Copies are found through the index by the message's UNIQ_KEY (the retry, DLQ
// and re-sent copies keep it), so a message sent without one is followed in
// its own topic only. The groups shown are the one asked for, those with
// committed offsets on or subscriptions to the topic, those in the fetch
// record, and those whose retry copies were found (at most kMaxGroups).
//
// Costs nothing between queries: it reads what the store and the managers
// keep anyway; the only state of its own is the bounded FetchJournal.
// Thread-safe; every reference must outlive it (`journal` may be null: no
// fetch record).
namespace thruster::broker {

struct JourneyQuery {
  std::string msg_id;  // an offset msgId or a UNIQ_KEY
  std::string topic;   // optional: narrows the search by UNIQ_KEY or key
  std::string key;     // a KEYS entry (used when msg_id is empty)
  std::string group;   // optional: always shown
};

class MessageJourney {
 public:
  static constexpr size_t kMaxMessages = 8;          // messages per answer
  static constexpr size_t kMaxGroups = 64;           // groups per message
  static constexpr size_t kMaxTopicsScanned = 2000;  // without a topic
  static constexpr int32_t kMaxCopies = 64;          // index hits per topic
  static constexpr size_t kMaxKeys = 8;  // KEYS searched for re-sends

  MessageJourney(const BrokerContext& context, store::MessageStore& store,
                 TopicConfigManager& topics, ConsumerOffsetManager& offsets,
                 ClientManager& clients, const FetchJournal* journal);

  // The journey of every message the query names (at most kMaxMessages), as
  // JSON (see README "Message journey"). InvalidArgument when the query names
  // nothing; NotFound when no message matches.
  Result<remoting::json::Value> Trace(const JourneyQuery& query) const;

 private:
  struct Copy;
  static Copy CopyOf(const message::DecodedRecord& r, bool indexed);
  // The record `id` (an offset msgId, or a UNIQ_KEY looked up in
  // `topic_hint`) names; nullopt when this broker has none.
  std::optional<Copy> FindById(std::string_view id,
                               std::string_view topic_hint) const;
  std::vector<Copy> FindInTopic(std::string_view topic, std::string_view key,
                                bool by_uniq_key) const;
  std::vector<Copy> FindSeeds(const JourneyQuery& q) const;
  remoting::json::Value MessageJson(const Copy& seed,
                                    const JourneyQuery& q) const;
  remoting::json::Value GroupJson(const std::string& group,
                                  const std::string& origin_topic,
                                  const std::vector<std::string>& uniqs,
                                  const std::vector<Copy>& origin_copies,
                                  const std::vector<Copy>& schedule_copies,
                                  std::vector<Copy>* all) const;
  remoting::json::Value CopyJson(const Copy& c) const;

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  ClientManager& clients_;
  const FetchJournal* journal_;
};

}  // namespace thruster::broker
