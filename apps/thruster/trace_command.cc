// `thruster admin traceMessage -i MSGID [-t TOPIC] [-k KEY] [-g GROUP]
// [--json]`: where a message is, from the brokers' side (their TRACE_MESSAGE
// answer, broker/message_journey.h): its stored copies, and per consumer group
// a timeline of stored, dispatched, fetched (when, by which client),
// acknowledged, retried (delay level, due time), dead-lettered and re-sent.
#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "client/client_instance.h"
#include "client/message_journey_client.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

struct TraceArgs : AdminConnection {
  bool json = false;
  client::JourneyRequest request;
};

std::string TraceWhere(const nlohmann::json& e) {
  return fmt::format("{}/{}@{}", e.value("topic", ""), e.value("queueId", 0),
                     e.value("queueOffset", int64_t{0}));
}

// What a timeline entry adds to its stage, in words.
std::string TraceDetail(const nlohmann::json& e) {
  const std::string stage = e.value("stage", "");
  if (stage == "fetched") {
    if (!e.contains("clientId"))
      return fmt::format(
          "pulled (group's pull offset {}; not in the fetch "
          "record)",
          e.value("pullOffset", int64_t{0}));
    const std::string client = e.value("clientId", "");
    return fmt::format("{} by {} ({}), offsets [{}, {})", e.value("how", ""),
                       client.empty() ? "an unregistered client" : client,
                       e.value("clientAddr", ""),
                       e.value("fromOffset", int64_t{0}),
                       e.value("toOffset", int64_t{0}));
  }
  if (stage == "acknowledged")
    return fmt::format("committed offset {}",
                       e.value("committedOffset", int64_t{0}));
  if (stage == "dispatched")
    return fmt::format("consume queue{}",
                       e.value("inIndex", false) ? ", index" : "");
  std::string d = fmt::format(
      "commitlog {}, {} B, msgId {}", e.value("commitLogOffset", int64_t{0}),
      e.value("storeSize", 0), e.value("offsetMsgId", ""));
  if (e.value("reconsumeTimes", 0) > 0)
    d += fmt::format(", reconsume {}", e.value("reconsumeTimes", 0));
  if (stage == "retryScheduled") {
    d += fmt::format(", delay level {}, due {}, to {}",
                     e.value("delayLevel", ""),
                     FormatTime(e.value("dueTimestamp", int64_t{-1})),
                     e.value("realTopic", ""));
  }
  if (!e.value("inConsumeQueue", true)) d += ", not yet dispatched";
  return d;
}

void PrintJourney(const std::string& addr, const nlohmann::json& doc) {
  for (const nlohmann::json& m :
       doc.value("messages", nlohmann::json::array())) {
    fmt::print("Message {} in {} (broker {} at {})\n",
               m.value("uniqKey", "").empty() ? m.value("offsetMsgId", "")
                                              : m.value("uniqKey", ""),
               m.value("topic", ""), doc.value("brokerName", ""), addr);
    fmt::print("  offsetMsgId {}  tags {}  keys {}  born {}\n",
               m.value("offsetMsgId", ""), m.value("tags", ""),
               m.value("keys", ""),
               FormatTime(m.value("bornTimestamp", int64_t{0})));
    if (m.contains("note")) fmt::print("  note: {}\n", m.value("note", ""));
    if (m.value("groups", nlohmann::json::array()).empty())
      fmt::print("  no consumer group has subscribed to or fetched it\n");
    for (const nlohmann::json& g : m.value("groups", nlohmann::json::array())) {
      fmt::print("\n  Group {}: {}\n", g.value("group", ""),
                 g.value("status", ""));
      fmt::print("    {:<23}  {:<15}  {:<28}  {}\n", "TIME", "STAGE", "WHERE",
                 "DETAIL");
      for (const nlohmann::json& e :
           g.value("timeline", nlohmann::json::array())) {
        fmt::print("    {:<23}  {:<15}  {:<28}  {}\n",
                   FormatTime(e.value("timestamp", int64_t{-1})),
                   e.value("stage", ""), TraceWhere(e), TraceDetail(e));
      }
    }
    fmt::print("\n");
  }
}

int RunTrace(const TraceArgs& a) {
  return RunAdminCommand(
      "traceMessage", a, [&](client::ClientInstance& instance) -> Status {
        TH_ASSIGN_OR_RETURN(std::vector<client::JourneyAnswer> answers,
                            client::TraceMessage(&instance, a.request));
        nlohmann::json all = nlohmann::json::array();
        for (const client::JourneyAnswer& ans : answers) {
          nlohmann::json doc = nlohmann::json::parse(ans.json, nullptr, false);
          if (doc.is_discarded())
            return Status::Corruption(
                fmt::format("broker {} sent bad JSON", ans.broker_addr));
          doc["brokerAddr"] = ans.broker_addr;
          if (!a.json) PrintJourney(ans.broker_addr, doc);
          all.push_back(std::move(doc));
        }
        if (a.json)
          fmt::print("{}\n", nlohmann::json{{"brokers", all}}.dump());
        return Status::OK();
      });
}

}  // namespace

void AddTraceMessageCommand(CLI::App& admin, int* exit_code) {
  static TraceArgs a;
  SeedNamesrvFromEnv(&a);
  auto* c = admin.add_subcommand(
      "traceMessage",
      "show where a message is: stored, fetched, acknowledged, retried, in "
      "the DLQ, re-sent, per consumer group");
  AddAdminConnectionOptions(*c, &a);
  c->add_flag("--json", a.json, "print one JSON document");
  c->add_option("-i,--msgId", a.request.msg_id,
                "offset message id or UNIQ_KEY");
  c->add_option("-t,--topic", a.request.topic, "only this topic");
  c->add_option("-k,--msgKey", a.request.key, "a KEYS value (without -i)");
  c->add_option("-g,--groupName", a.request.group,
                "always show this consumer group");
  c->callback([exit_code] { *exit_code = RunTrace(a); });
}

}  // namespace thruster::cli
