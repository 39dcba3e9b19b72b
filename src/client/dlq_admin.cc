#include "client/dlq_admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "client/pull_consumer.h"
#include "message/properties.h"

namespace thruster::client {
namespace {

// Properties the broker (or the send path) sets: not carried into a re-send.
bool IsBookkeeping(std::string_view name) {
  static const std::set<std::string_view> kNames = {"DELAY",
                                                    "REAL_TOPIC",
                                                    "REAL_QID",
                                                    "RETRY_TOPIC",
                                                    "ORIGIN_MESSAGE_ID",
                                                    "WAIT",
                                                    "MIN_OFFSET",
                                                    "MAX_OFFSET",
                                                    "CLUSTER",
                                                    "UNIQ_KEY",
                                                    "TAGS",
                                                    "KEYS",
                                                    "RECONSUME_TIME",
                                                    "MAX_RECONSUME_TIMES",
                                                    "CONSUME_START_TIME",
                                                    "__CRC32#"};
  return kNames.count(name) != 0;
}

}  // namespace

Result<std::vector<MessageInfo>> ReadTopicMessages(ClientInstance* client,
                                                   const std::string& topic,
                                                   size_t max_messages) {
  AdminClient admin(client);
  TH_ASSIGN_OR_RETURN(std::vector<TopicQueueStats> queues,
                      admin.TopicStatus(topic));
  std::sort(queues.begin(), queues.end(),
            [](const TopicQueueStats& a, const TopicQueueStats& b) {
              return std::tie(a.queue.broker_name, a.queue.queue_id) <
                     std::tie(b.queue.broker_name, b.queue.queue_id);
            });
  PullConsumerOptions o;
  o.group = "TOOLS_CONSUMER";
  o.register_in_heartbeat = false;
  PullConsumer consumer(client, o);
  std::vector<MessageInfo> out;
  for (const TopicQueueStats& q : queues) {
    int64_t offset = q.min_offset;
    while (offset < q.max_offset && out.size() < max_messages) {
      TH_ASSIGN_OR_RETURN(PullResult r,
                          consumer.Pull(q.queue, "*", offset, 32));
      if (r.status != PullStatus::kFound || r.messages.empty()) break;
      for (const message::DecodedRecord& rec : r.messages) {
        if (out.size() >= max_messages) break;
        out.push_back(MessageInfo::FromRecord(rec));
      }
      offset = r.next_begin_offset;
    }
  }
  return out;
}

Result<Message> ResendMessage(const MessageInfo& dead) {
  auto origin = dead.properties.find("RETRY_TOPIC");
  if (origin == dead.properties.end() || origin->second.empty()) {
    return Status::InvalidArgument(fmt::format(
        "message {} has no RETRY_TOPIC: its original topic is unknown",
        dead.MsgId()));
  }
  Message m;
  m.topic = origin->second;
  if (auto t = dead.properties.find("TAGS"); t != dead.properties.end())
    m.tags = t->second;
  if (auto k = dead.properties.find("KEYS"); k != dead.properties.end())
    m.keys = k->second;
  m.flag = dead.flag;
  m.body = std::as_bytes(std::span(dead.body.data(), dead.body.size()));
  for (const auto& [name, value] : dead.properties) {
    if (!IsBookkeeping(name)) m.properties[name] = value;
  }
  // The copy names the message it re-sends (as its retries did), so the
  // broker's message journey can follow it.
  auto origin_id = dead.properties.find("ORIGIN_MESSAGE_ID");
  m.properties["ORIGIN_MESSAGE_ID"] =
      origin_id != dead.properties.end() && !origin_id->second.empty()
          ? origin_id->second
          : dead.MsgId();
  return m;
}

Result<std::vector<ResendOutcome>> ResendDlqMessages(
    ClientInstance* client, const std::string& group,
    const std::vector<std::string>& msg_ids) {
  const std::string dlq = "%DLQ%" + group;
  Result<std::vector<MessageInfo>> all = ReadTopicMessages(client, dlq);
  if (!all.ok()) {
    return all.status().IsNotFound()
               ? Status::NotFound("group " + group +
                                  " has no dead-letter queue (" + dlq + ")")
               : all.status();
  }
  std::vector<const MessageInfo*> chosen;
  std::set<std::string> wanted(msg_ids.begin(), msg_ids.end());
  for (const MessageInfo& m : *all) {
    if (msg_ids.empty() || wanted.count(m.MsgId()) != 0 ||
        wanted.count(m.offset_msg_id) != 0) {
      chosen.push_back(&m);
      wanted.erase(m.MsgId());
      wanted.erase(m.offset_msg_id);
    }
  }
  if (!msg_ids.empty() && !wanted.empty()) {
    return Status::NotFound(
        fmt::format("message {} is not in {}", *wanted.begin(), dlq));
  }
  Producer producer(client);
  std::vector<ResendOutcome> out;
  for (const MessageInfo* m : chosen) {
    ResendOutcome o;
    o.msg_id = m->MsgId();
    Result<Message> msg = ResendMessage(*m);
    if (!msg.ok()) {
      o.error = std::string(msg.status().message());
    } else {
      o.origin_topic = msg->topic;
      Result<SendResult> sent = producer.Send(*msg);
      if (sent.ok()) {
        o.new_msg_id = sent->msg_id;
      } else {
        o.error = sent.status().ToString();
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace thruster::client
