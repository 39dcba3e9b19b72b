#include "broker/message_journey.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <tuple>

#include "broker/pop_format.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "store/delay_level_table.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;
using json::Value;

constexpr std::string_view kJourneyDlqPrefix = "%DLQ%";
constexpr std::string_view kJourneyRetryTopicProp = "RETRY_TOPIC";
constexpr std::string_view kJourneyOriginIdProp = "ORIGIN_MESSAGE_ID";
constexpr std::string_view kJourneyToolsGroup = "TOOLS_CONSUMER";

bool JourneyIdEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// True when the space-separated KEYS hold `key`.
bool JourneyKeysHold(std::string_view keys, std::string_view key) {
  while (!keys.empty()) {
    const size_t sp = keys.find(' ');
    if (keys.substr(0, sp) == key) return true;
    if (sp == std::string_view::npos) break;
    keys.remove_prefix(sp + 1);
  }
  return false;
}

bool IsRetryOrDlqTopic(std::string_view topic) {
  return topic.starts_with(kRetryGroupTopicPrefix) ||
         topic.starts_with(kJourneyDlqPrefix);
}

}  // namespace

// One stored record of the message (the original, a re-send, a parked retry,
// a re-delivered retry or a dead letter).
struct MessageJourney::Copy {
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t phys_offset = 0;
  int32_t size = 0;
  int64_t store_timestamp = 0;
  int64_t born_timestamp = 0;
  int32_t reconsume_times = 0;
  std::string offset_msg_id;
  std::string properties;
  bool indexed = false;
  std::string role;  // original, resent, retryScheduled, retried, dlq

  std::string Prop(std::string_view name) const {
    std::optional<std::string_view> v = message::FindProperty(properties, name);
    return v ? std::string(*v) : std::string();
  }
  bool operator<(const Copy& o) const {
    return std::tie(store_timestamp, phys_offset) <
           std::tie(o.store_timestamp, o.phys_offset);
  }
};

MessageJourney::MessageJourney(const BrokerContext& context,
                               store::MessageStore& store,
                               TopicConfigManager& topics,
                               ConsumerOffsetManager& offsets,
                               ClientManager& clients,
                               const FetchJournal* journal)
    : context_(context),
      store_(store),
      topics_(topics),
      offsets_(offsets),
      clients_(clients),
      journal_(journal) {}

namespace {

std::optional<message::DecodedRecord> DecodeJourneyRecord(
    const store::SelectResult& m) {
  message::RecordCheck c = message::CheckRecord(m.bytes, false);
  if (c.status != message::RecordStatus::kOk) return std::nullopt;
  return c.record;
}

}  // namespace

MessageJourney::Copy MessageJourney::CopyOf(const message::DecodedRecord& r,
                                            bool indexed) {
  Copy c;
  c.topic = std::string(r.topic);
  c.queue_id = r.queue_id;
  c.queue_offset = r.queue_offset;
  c.phys_offset = r.phys_offset;
  c.size = r.total_size;
  c.store_timestamp = r.store_timestamp;
  c.born_timestamp = r.born_timestamp;
  c.reconsume_times = r.reconsume_times;
  c.offset_msg_id = message::CreateMessageId(r.store_host, r.phys_offset);
  c.properties = std::string(r.properties);
  c.indexed = indexed;
  return c;
}

std::vector<MessageJourney::Copy> MessageJourney::FindInTopic(
    std::string_view topic, std::string_view key, bool by_uniq_key) const {
  std::vector<Copy> out;
  store::QueryMessageResult found =
      store_.QueryMessage(topic, key, kMaxCopies, 0, INT64_MAX);
  for (const store::SelectResult& m : found.messages) {
    std::optional<message::DecodedRecord> r = DecodeJourneyRecord(m);
    if (!r) continue;
    std::optional<std::string_view> uniq =
        message::FindProperty(r->properties, message::prop::kUniqKey);
    std::optional<std::string_view> keys =
        message::FindProperty(r->properties, message::prop::kKeys);
    const bool match = by_uniq_key ? (uniq && *uniq == key)
                                   : ((keys && JourneyKeysHold(*keys, key)) ||
                                      (uniq && *uniq == key));
    if (match) out.push_back(CopyOf(*r, true));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<MessageJourney::Copy> MessageJourney::FindSeeds(
    const JourneyQuery& q) const {
  std::vector<Copy> seeds;
  if (!q.msg_id.empty()) {
    if (std::optional<Copy> c = FindById(q.msg_id, {})) {
      seeds.push_back(std::move(*c));
      return seeds;
    }
  }
  const std::string& key = q.msg_id.empty() ? q.key : q.msg_id;
  const bool by_uniq = !q.msg_id.empty();
  std::vector<std::string> topics;
  if (!q.topic.empty()) {
    topics.push_back(q.topic);
  } else {
    for (const remoting::TopicConfig& tc : topics_.All()) {
      if (topics.size() >= kMaxTopicsScanned) break;
      if (!IsRetryOrDlqTopic(tc.topic_name) &&
          tc.topic_name != store::kScheduleTopic)
        topics.push_back(tc.topic_name);
    }
  }
  for (const std::string& t : topics) {
    for (Copy& c : FindInTopic(t, key, by_uniq)) seeds.push_back(std::move(c));
  }
  std::sort(seeds.begin(), seeds.end());
  return seeds;
}

Result<Value> MessageJourney::Trace(const JourneyQuery& q) const {
  if (q.msg_id.empty() && q.key.empty())
    return Status::InvalidArgument("give a msgId or a key");
  std::vector<Copy> seeds = FindSeeds(q);
  if (seeds.empty()) {
    return Status::NotFound(
        "no message " + (q.msg_id.empty() ? "with key " + q.key : q.msg_id) +
        (q.topic.empty() ? std::string() : " in topic " + q.topic) +
        " on broker " + context_.config.broker_name);
  }
  // One journey per message: a message and its copies (a re-send found by
  // the same key) are shown once, under the original.
  Value messages = Value::Array();
  std::set<std::string> seen;
  for (size_t i = 0; i < seeds.size() && i < 4 * kMaxMessages; ++i) {
    if (messages.size() >= kMaxMessages) break;
    Value m = MessageJson(seeds[i], q);
    const std::string identity =
        m.GetString("topic") + "/" + m.GetString("offsetMsgId") + "/" +
        m.GetString("uniqKey") + "/" +
        (m.GetString("offsetMsgId").empty() ? seeds[i].offset_msg_id : "");
    if (seen.insert(identity).second) messages.Push(std::move(m));
  }
  Value out = Value::Object();
  out.Set("brokerName", Value::String(context_.config.broker_name));
  Value query = Value::Object();
  query.Set("msgId", Value::String(q.msg_id));
  query.Set("topic", Value::String(q.topic));
  query.Set("key", Value::String(q.key));
  query.Set("group", Value::String(q.group));
  out.Set("query", std::move(query));
  out.Set("messages", std::move(messages));
  Value bounds = Value::Object();
  bounds.Set("fetchRecordEnabled", Value::Bool(journal_ != nullptr));
  bounds.Set("rangesPerQueue",
             Value::Int(static_cast<int64_t>(FetchJournal::kRangesPerQueue)));
  bounds.Set("maxQueues",
             Value::Int(static_cast<int64_t>(FetchJournal::kMaxQueues)));
  bounds.Set("bytesPerQueue",
             Value::Int(static_cast<int64_t>(FetchJournal::kBytesPerQueue)));
  bounds.Set(
      "queuesTracked",
      Value::Int(journal_ ? static_cast<int64_t>(journal_->queue_count()) : 0));
  out.Set("fetchRecord", std::move(bounds));
  return out;
}

std::optional<MessageJourney::Copy> MessageJourney::FindById(
    std::string_view id, std::string_view topic_hint) const {
  // An offset msgId of this broker's records: the record at its phys offset,
  // when that record's own id is the one asked for.
  if (Result<message::MessageIdParts> parts = message::DecodeMessageId(id);
      parts.ok()) {
    if (std::optional<store::SelectResult> m =
            store_.LookMessageByOffset(parts->phys_offset)) {
      std::optional<message::DecodedRecord> r = DecodeJourneyRecord(*m);
      if (r && JourneyIdEquals(
                   message::CreateMessageId(r->store_host, r->phys_offset), id))
        return CopyOf(*r, false);
    }
  }
  // A UNIQ_KEY (a client's ORIGIN_MESSAGE_ID): the first record with it.
  if (!topic_hint.empty()) {
    std::vector<Copy> found = FindInTopic(topic_hint, id, true);
    if (!found.empty()) return found.front();
  }
  return std::nullopt;
}

Value MessageJourney::MessageJson(const Copy& seed,
                                  const JourneyQuery& q) const {
  // The topic the message was sent to, as far as the seed tells.
  std::string hint = seed.topic;
  if (IsRetryOrDlqTopic(seed.topic)) hint = seed.Prop(kJourneyRetryTopicProp);
  if (seed.topic == store::kScheduleTopic) {
    hint = seed.Prop(kJourneyRetryTopicProp);
    const std::string real = seed.Prop(message::prop::kRealTopic);
    if (hint.empty() && !IsRetryOrDlqTopic(real)) hint = real;
  }
  // The original: the seed itself, or what its ORIGIN_MESSAGE_ID names (a
  // retry, dead letter or re-send names the message it copies).
  std::optional<Copy> original;
  if (!IsRetryOrDlqTopic(seed.topic) && seed.topic != store::kScheduleTopic)
    original = seed;
  if (const std::string origin_id = seed.Prop(kJourneyOriginIdProp);
      !origin_id.empty()) {
    if (std::optional<Copy> o = FindById(origin_id, hint)) original = o;
  }
  const std::string origin =
      original ? original->topic : (hint.empty() ? seed.topic : hint);
  const std::string uniq =
      (original ? *original : seed).Prop(message::prop::kUniqKey);
  const std::string original_id =
      original ? original->offset_msg_id : seed.Prop(kJourneyOriginIdProp);

  // Copies in the original topic: the original, duplicates with its UNIQ_KEY
  // (a producer's retry), and re-sends (found by the message's KEYS, naming it
  // in ORIGIN_MESSAGE_ID).
  std::vector<Copy> origin_copies;
  if (original) {
    original->role = "original";
    origin_copies.push_back(*original);
  }
  auto known = [&](int64_t phys) {
    return std::any_of(origin_copies.begin(), origin_copies.end(),
                       [&](const Copy& c) { return c.phys_offset == phys; });
  };
  if (!uniq.empty()) {
    for (Copy& c : FindInTopic(origin, uniq, true)) {
      if (original && c.phys_offset == original->phys_offset) {
        origin_copies.front().indexed = true;
      } else if (!known(c.phys_offset)) {
        c.role = "duplicate";
        origin_copies.push_back(std::move(c));
      }
    }
  }
  auto is_resend = [&](const Copy& c) {
    const std::string id = c.Prop(kJourneyOriginIdProp);
    return !id.empty() && (JourneyIdEquals(id, original_id) || id == uniq);
  };
  std::string keys = (original ? *original : seed).Prop(message::prop::kKeys);
  for (size_t n = 0; !keys.empty() && n < kMaxKeys; ++n) {
    const size_t sp = keys.find(' ');
    const std::string key = keys.substr(0, sp);
    keys = sp == std::string::npos ? std::string() : keys.substr(sp + 1);
    if (key.empty()) continue;
    for (Copy& c : FindInTopic(origin, key, false)) {
      if (!known(c.phys_offset) && is_resend(c)) {
        c.role = "resent";
        origin_copies.push_back(std::move(c));
      }
    }
  }
  if (seed.topic == origin && !known(seed.phys_offset)) {
    Copy c = seed;
    c.role = is_resend(c) ? "resent" : "duplicate";
    origin_copies.push_back(std::move(c));
  }
  std::sort(origin_copies.begin(), origin_copies.end());
  // Every UNIQ_KEY of the family: a re-send is a new message with its own, and
  // its retries carry that one.
  std::vector<std::string> uniqs;
  if (!uniq.empty()) uniqs.push_back(uniq);
  for (const Copy& c : origin_copies) {
    std::string u = c.Prop(message::prop::kUniqKey);
    if (!u.empty() && std::find(uniqs.begin(), uniqs.end(), u) == uniqs.end())
      uniqs.push_back(std::move(u));
  }

  std::vector<Copy> schedule_copies;
  for (const std::string& u : uniqs) {
    for (Copy& c : FindInTopic(store::kScheduleTopic, u, true)) {
      c.role = "retryScheduled";
      schedule_copies.push_back(std::move(c));
    }
  }

  std::set<std::string> groups;
  if (!q.group.empty()) groups.insert(q.group);
  for (std::string& g : offsets_.GroupsOfTopic(origin))
    groups.insert(std::move(g));
  for (std::string& g : clients_.GroupsSubscribing(origin))
    groups.insert(std::move(g));
  if (journal_) {
    for (std::string& g : journal_->GroupsOfTopic(origin)) {
      // Admin tools read messages as RocketMQ's TOOLS_CONSUMER; not a
      // consumer of the topic (shown when asked for by name).
      if (g != kJourneyToolsGroup) groups.insert(std::move(g));
    }
  }
  for (const Copy& c : schedule_copies) {
    std::string real = c.Prop(message::prop::kRealTopic);
    if (real.starts_with(kRetryGroupTopicPrefix) &&
        c.Prop(kJourneyRetryTopicProp) == origin) {
      groups.insert(real.substr(kRetryGroupTopicPrefix.size()));
    }
  }
  if (IsRetryOrDlqTopic(seed.topic)) {
    const std::string_view prefix = seed.topic.starts_with(kJourneyDlqPrefix)
                                        ? kJourneyDlqPrefix
                                        : kRetryGroupTopicPrefix;
    groups.insert(seed.topic.substr(prefix.size()));
  }

  std::vector<Copy> all = origin_copies;
  Value group_list = Value::Array();
  for (const std::string& g : groups) {
    if (group_list.size() >= kMaxGroups) break;
    group_list.Push(
        GroupJson(g, origin, uniqs, origin_copies, schedule_copies, &all));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end(),
                        [](const Copy& a, const Copy& b) {
                          return a.phys_offset == b.phys_offset;
                        }),
            all.end());

  const Copy& shown = original ? *original : seed;
  Value m = Value::Object();
  m.Set("topic", Value::String(origin));
  m.Set("uniqKey", Value::String(uniq));
  m.Set("offsetMsgId",
        Value::String(original ? original->offset_msg_id : std::string()));
  m.Set("tags", Value::String(shown.Prop(message::prop::kTags)));
  m.Set("keys", Value::String(shown.Prop(message::prop::kKeys)));
  m.Set("bornTimestamp", Value::Int(shown.born_timestamp));
  if (!original) {
    m.Set("note", Value::String("the original message is no longer on this "
                                "broker (or was sent to another one)"));
  } else if (uniq.empty()) {
    m.Set("note", Value::String("the message has no UNIQ_KEY: its retries "
                                "and dead letter cannot be followed"));
  }
  Value records = Value::Array();
  for (const Copy& c : all) records.Push(CopyJson(c));
  m.Set("records", std::move(records));
  m.Set("groups", std::move(group_list));
  return m;
}

Value MessageJourney::CopyJson(const Copy& c) const {
  Value v = Value::Object();
  v.Set("role", Value::String(c.role));
  v.Set("topic", Value::String(c.topic));
  v.Set("queueId", Value::Int(c.queue_id));
  v.Set("queueOffset", Value::Int(c.queue_offset));
  v.Set("commitLogOffset", Value::Int(c.phys_offset));
  v.Set("storeSize", Value::Int(c.size));
  v.Set("storeTimestamp", Value::Int(c.store_timestamp));
  v.Set("bornTimestamp", Value::Int(c.born_timestamp));
  v.Set("reconsumeTimes", Value::Int(c.reconsume_times));
  v.Set("offsetMsgId", Value::String(c.offset_msg_id));
  std::optional<store::cq_format::Entry> unit =
      store_.GetQueueEntry(c.topic, c.queue_id, c.queue_offset);
  const bool in_cq = unit && unit->phys_offset == c.phys_offset;
  v.Set("inConsumeQueue", Value::Bool(in_cq));
  v.Set("inIndex", Value::Bool(c.indexed));
  if (c.topic == store::kScheduleTopic) {
    v.Set("delayLevel", Value::String(c.Prop(message::prop::kDelay)));
    v.Set("realTopic", Value::String(c.Prop(message::prop::kRealTopic)));
    // A parked message's consume-queue tag code is its delivery time.
    v.Set("dueTimestamp", Value::Int(in_cq ? unit->tags_code : -1));
  }
  if (std::string origin_id = c.Prop(kJourneyOriginIdProp); !origin_id.empty())
    v.Set("originMessageId", Value::String(origin_id));
  return v;
}

Value MessageJourney::GroupJson(const std::string& group,
                                const std::string& origin_topic,
                                const std::vector<std::string>& uniqs,
                                const std::vector<Copy>& origin_copies,
                                const std::vector<Copy>& schedule_copies,
                                std::vector<Copy>* all) const {
  const std::string retry_topic = RetryTopic(group);
  const std::string pop_retry_topic = PopRetryTopic(group, origin_topic);
  std::vector<Copy> copies = origin_copies;
  for (const Copy& c : schedule_copies) {
    const std::string real = c.Prop(message::prop::kRealTopic);
    if (real == retry_topic || real == pop_retry_topic) copies.push_back(c);
  }
  for (const std::string& u : uniqs) {
    for (const std::string& t : {retry_topic, pop_retry_topic}) {
      for (Copy& c : FindInTopic(t, u, true)) {
        c.role = "retried";
        copies.push_back(std::move(c));
      }
    }
    for (Copy& c : FindInTopic(DlqTopic(group), u, true)) {
      c.role = "dlq";
      copies.push_back(std::move(c));
    }
  }
  std::sort(copies.begin(), copies.end());

  Value timeline = Value::Array();
  std::string status = "notConsumed";
  for (const Copy& c : copies) {
    if (c.topic != origin_topic) all->push_back(c);
    Value stored = CopyJson(c);
    stored.Set("stage",
               Value::String(c.role == "original" ? "stored" : c.role));
    stored.Set("timestamp", Value::Int(c.store_timestamp));
    const bool in_cq = stored.Find("inConsumeQueue")->bool_value();
    timeline.Push(std::move(stored));
    if (c.role == "retryScheduled") {
      status = "retryScheduled";
      continue;
    }
    if (c.role == "dlq") {
      status = "dlq";
      continue;
    }
    if (in_cq) {
      Value d = Value::Object();
      d.Set("stage", Value::String("dispatched"));
      d.Set("timestamp", Value::Int(-1));
      d.Set("topic", Value::String(c.topic));
      d.Set("queueId", Value::Int(c.queue_id));
      d.Set("queueOffset", Value::Int(c.queue_offset));
      d.Set("inConsumeQueue", Value::Bool(true));
      d.Set("inIndex", Value::Bool(c.indexed));
      timeline.Push(std::move(d));
    }
    std::vector<FetchJournal::Fetch> fetches;
    if (journal_) {
      fetches =
          journal_->FindFetches(group, c.topic, c.queue_id, c.queue_offset);
    }
    for (const FetchJournal::Fetch& f : fetches) {
      Value e = Value::Object();
      e.Set("stage", Value::String("fetched"));
      e.Set("timestamp", Value::Int(f.time_ms));
      e.Set("topic", Value::String(c.topic));
      e.Set("queueId", Value::Int(c.queue_id));
      e.Set("queueOffset", Value::Int(c.queue_offset));
      e.Set("how",
            Value::String(f.kind == FetchJournal::Kind::kPop ? "pop" : "pull"));
      e.Set("clientId", Value::String(f.client_id));
      e.Set("clientAddr", Value::String(f.client_addr));
      e.Set("fromOffset", Value::Int(f.begin_offset));
      e.Set("toOffset", Value::Int(f.end_offset));
      timeline.Push(std::move(e));
    }
    const std::optional<int64_t> committed =
        offsets_.Query(group, c.topic, c.queue_id);
    const std::optional<int64_t> pulled =
        offsets_.QueryPullOffset(group, c.topic, c.queue_id);
    if (fetches.empty() && pulled && *pulled > c.queue_offset) {
      // Pulled, but the fetch record no longer holds (or never held) it.
      Value e = Value::Object();
      e.Set("stage", Value::String("fetched"));
      e.Set("timestamp", Value::Int(-1));
      e.Set("topic", Value::String(c.topic));
      e.Set("queueId", Value::Int(c.queue_id));
      e.Set("queueOffset", Value::Int(c.queue_offset));
      e.Set("how", Value::String("pull"));
      e.Set("pullOffset", Value::Int(*pulled));
      timeline.Push(std::move(e));
    }
    if (committed && *committed > c.queue_offset) {
      Value e = Value::Object();
      e.Set("stage", Value::String("acknowledged"));
      e.Set("timestamp", Value::Int(-1));
      e.Set("topic", Value::String(c.topic));
      e.Set("queueId", Value::Int(c.queue_id));
      e.Set("queueOffset", Value::Int(c.queue_offset));
      e.Set("committedOffset", Value::Int(*committed));
      timeline.Push(std::move(e));
      status = "consumed";
    } else if (!fetches.empty() || (pulled && *pulled > c.queue_offset)) {
      status = "fetched";
    } else {
      status = "notConsumed";
    }
  }
  Value g = Value::Object();
  g.Set("group", Value::String(group));
  g.Set("status", Value::String(status));
  g.Set("timeline", std::move(timeline));
  return g;
}

}  // namespace thruster::broker
