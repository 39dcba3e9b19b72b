// `thruster admin statsAll|cleanExpiredCQ`: mqadmin's commands of those names,
// with its option letters and output columns, each also with --json;
// `thruster admin recallMessage` (RocketMQ 5.3's recall of a timer message).
//
// statsAll asks each master for what it has: GET_TOPIC_STATS_INFO (put rate
// over the last minute, queue offsets), QUERY_TOPIC_CONSUME_BY_WHO,
// GET_CONSUME_STATS (lag, consume rate) and SEARCH_OFFSET_BY_TIMESTAMP (where
// the last 24 hours begin in each queue). The 24-hour columns count the
// messages stored (In) and the committed ones among them (Out) since then.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "client/admin_client.h"
#include "client/client_instance.h"
#include "client/producer.h"
#include "remoting/codes.h"
#include "remoting/json.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

namespace rjson = remoting::json;
namespace req_code = remoting::request_code;
using remoting::RemotingCommand;

constexpr int64_t kStatsAllDayMs = 24 * 3600 * 1000;

struct Admin2Args : AdminConnection {
  bool json = false;
  std::string topic;
  std::string broker;
  std::string cluster;
  bool active_only = false;
  std::string recall_handle;
};

using Admin2Command =
    std::function<Status(const Admin2Args&, client::AdminClient&)>;

int RunAdmin2(std::string_view name, const Admin2Args& a,
              const Admin2Command& cmd) {
  return RunAdminCommand(name, a, [&](client::ClientInstance& instance) {
    client::AdminClient admin(&instance);
    return cmd(a, admin);
  });
}

// Sends `req` to `addr` and parses the JSON body of a SUCCESS answer.
Result<rjson::Value> InvokeForJson(client::ClientInstance& instance,
                                   const std::string& addr, RemotingCommand req,
                                   std::string_view what) {
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      instance.InvokeBroker(addr, std::move(req)));
  TH_RETURN_IF_ERROR(client::StatusFromResponse(
      resp, fmt::format("{} on {}", what, addr)));
  Result<rjson::Value> body = rjson::Parse(resp.body_view());
  if (!body.ok() || !body->is_object())
    return Status::Corruption(
        fmt::format("{} on {}: the answer is not a JSON object", what, addr));
  return body;
}

// The first queue offset stored at or after `timestamp` (lower boundary).
Result<int64_t> OffsetAtTime(client::ClientInstance& instance,
                             const std::string& addr, const std::string& topic,
                             int32_t queue_id, int64_t timestamp) {
  RemotingCommand req =
      client::ClientInstance::NewRequest(req_code::kSearchOffsetByTimestamp);
  req.SetExt("topic", topic);
  req.SetExt("queueId", queue_id);
  req.SetExt("timestamp", timestamp);
  TH_ASSIGN_OR_RETURN(RemotingCommand resp,
                      instance.InvokeBroker(addr, std::move(req)));
  TH_RETURN_IF_ERROR(client::StatusFromResponse(
      resp, fmt::format("search offset of {}/{} on {}", topic, queue_id, addr)));
  return resp.RequireExtInt64("offset");
}

struct StatsAllRow {
  std::string topic;
  std::string group;  // empty: nobody consumes the topic
  int64_t accumulation = 0;
  double in_tps = 0;
  double out_tps = 0;
  int64_t in_msg_24h = 0;
  int64_t out_msg_24h = 0;
};

// One topic's rows: one per consumer group, or one saying NO_CONSUMER.
Status StatsAllTopic(client::ClientInstance& instance, const std::string& topic,
                     int64_t day_start, std::vector<StatsAllRow>* rows) {
  TH_ASSIGN_OR_RETURN(remoting::TopicRouteData route,
                      instance.FetchTopicRoute(topic));
  std::map<std::string, std::string> masters;  // broker name → address
  for (const auto& bd : route.broker_datas) {
    auto it = bd.broker_addrs.find(0);
    if (it != bd.broker_addrs.end()) masters[bd.broker_name] = it->second;
  }
  double in_tps = 0;
  int64_t in_24h = 0;
  // (broker address, queue id) → first offset of the last 24 hours.
  std::map<std::pair<std::string, int32_t>, int64_t> day_offsets;
  std::set<std::string> groups;
  for (const auto& [name, addr] : masters) {
    RemotingCommand req =
        client::ClientInstance::NewRequest(req_code::kGetTopicStatsInfo);
    req.SetExt("topic", topic);
    TH_ASSIGN_OR_RETURN(rjson::Value stats,
                        InvokeForJson(instance, addr, std::move(req),
                                      "topic stats of " + topic));
    if (const rjson::Value* tps = stats.Find("topicPutTps"))
      in_tps += tps->AsDouble().value_or(0);
    if (const rjson::Value* table = stats.Find("offsetTable");
        table != nullptr && table->is_object()) {
      for (size_t i = 0; i < table->size(); ++i) {
        const auto queue_id =
            static_cast<int32_t>(table->key(i).GetInt64("queueId"));
        const int64_t max = table->value(i).GetInt64("maxOffset");
        int64_t from = max;
        if (max > table->value(i).GetInt64("minOffset")) {
          TH_ASSIGN_OR_RETURN(
              from, OffsetAtTime(instance, addr, topic, queue_id, day_start));
        }
        day_offsets[{addr, queue_id}] = from;
        in_24h += std::max<int64_t>(0, max - from);
      }
    }
    RemotingCommand who =
        client::ClientInstance::NewRequest(req_code::kQueryTopicConsumeByWho);
    who.SetExt("topic", topic);
    TH_ASSIGN_OR_RETURN(rjson::Value consumers,
                        InvokeForJson(instance, addr, std::move(who),
                                      "consumers of " + topic));
    if (const rjson::Value* list = consumers.Find("groupList");
        list != nullptr && list->is_array()) {
      for (size_t i = 0; i < list->size(); ++i) {
        if (auto g = list->at(i).AsText()) groups.insert(*g);
      }
    }
  }
  if (groups.empty()) {
    rows->push_back({topic, "", 0, in_tps, 0, in_24h, 0});
    return Status::OK();
  }
  for (const std::string& group : groups) {
    StatsAllRow row{topic, group, 0, in_tps, 0, in_24h, 0};
    for (const auto& [name, addr] : masters) {
      RemotingCommand req =
          client::ClientInstance::NewRequest(req_code::kGetConsumeStats);
      req.SetExt("consumerGroup", group);
      req.SetExt("topic", topic);
      TH_ASSIGN_OR_RETURN(
          rjson::Value stats,
          InvokeForJson(instance, addr, std::move(req),
                        fmt::format("consume stats of {} on {}", group, topic)));
      if (const rjson::Value* tps = stats.Find("consumeTps"))
        row.out_tps += tps->AsDouble().value_or(0);
      const rjson::Value* table = stats.Find("offsetTable");
      if (table == nullptr || !table->is_object()) continue;
      for (size_t i = 0; i < table->size(); ++i) {
        const auto queue_id =
            static_cast<int32_t>(table->key(i).GetInt64("queueId"));
        const int64_t broker_offset = table->value(i).GetInt64("brokerOffset");
        const int64_t consumer_offset =
            table->value(i).GetInt64("consumerOffset");
        row.accumulation += std::max<int64_t>(0, broker_offset - consumer_offset);
        auto day = day_offsets.find({addr, queue_id});
        const int64_t from =
            day == day_offsets.end() ? broker_offset : day->second;
        row.out_msg_24h += std::max<int64_t>(0, consumer_offset - from);
      }
    }
    rows->push_back(std::move(row));
  }
  return Status::OK();
}

bool IsGroupTopic(const std::string& topic) {
  return topic.rfind("%RETRY%", 0) == 0 || topic.rfind("%DLQ%", 0) == 0;
}

// mqadmin statsAll: every topic (or -t), its consumer groups, lag and rates.
Status StatsAll(const Admin2Args& a, client::AdminClient& admin) {
  std::vector<std::string> topics;
  if (!a.topic.empty()) {
    topics.push_back(a.topic);
  } else {
    TH_ASSIGN_OR_RETURN(topics, admin.TopicList());
    std::sort(topics.begin(), topics.end());
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::vector<StatsAllRow> rows;
  for (const std::string& topic : topics) {
    // mqadmin leaves out the groups' retry and dead-letter topics.
    if (IsGroupTopic(topic)) continue;
    Status s = StatsAllTopic(*admin.client(), topic, now - kStatsAllDayMs, &rows);
    // A topic the name server lists but no broker serves: mqadmin skips it.
    if (!s.ok() && !a.topic.empty()) return s;
  }
  if (a.active_only) {
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [](const StatsAllRow& r) {
                                return r.in_msg_24h == 0 && r.out_msg_24h == 0;
                              }),
               rows.end());
  }
  if (a.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json row = {{"topic", r.topic},
                            {"consumerGroup", r.group},
                            {"accumulation", r.accumulation},
                            {"inTps", r.in_tps},
                            {"inMsg24Hour", r.in_msg_24h}};
      if (!r.group.empty()) {
        row["outTps"] = r.out_tps;
        row["outMsg24Hour"] = r.out_msg_24h;
      } else {
        row["outMsg24Hour"] = "NO_CONSUMER";
      }
      arr.push_back(std::move(row));
    }
    fmt::print("{}\n", nlohmann::json{{"stats", arr}}.dump(
                           -1, ' ', false,
                           nlohmann::json::error_handler_t::replace));
    return Status::OK();
  }
  fmt::print("{:<64}  {:<64} {:>12} {:>11} {:>11} {:>14} {:>14}\n", "#Topic",
             "#Consumer Group", "#Accumulation", "#InTPS", "#OutTPS",
             "#InMsg24Hour", "#OutMsg24Hour");
  for (const auto& r : rows) {
    if (r.group.empty()) {
      fmt::print("{:<64}  {:<64} {:>12} {:>11.2f} {:>11} {:>14} {:>14}\n",
                 r.topic, "", 0, r.in_tps, "", r.in_msg_24h, "NO_CONSUMER");
    } else {
      fmt::print("{:<64}  {:<64} {:>12} {:>11.2f} {:>11.2f} {:>14} {:>14}\n",
                 r.topic, r.group, r.accumulation, r.in_tps, r.out_tps,
                 r.in_msg_24h, r.out_msg_24h);
    }
  }
  return Status::OK();
}

// mqadmin cleanExpiredCQ: CLEAN_EXPIRED_CONSUMEQUEUE on -b, on the masters of
// -c, or on every master; prints what each broker removed.
Status CleanExpiredCq(const Admin2Args& a, client::AdminClient& admin) {
  std::vector<std::string> addrs;
  if (a.broker.empty() && a.cluster.empty()) {
    TH_ASSIGN_OR_RETURN(remoting::ClusterInfo info,
                        admin.client()->FetchClusterInfo());
    for (const auto& [name, bd] : info.broker_addr_table) {
      auto it = bd.broker_addrs.find(0);
      if (it != bd.broker_addrs.end()) addrs.push_back(it->second);
    }
    if (addrs.empty()) return Status::NotFound("no master broker is registered");
  } else {
    TH_ASSIGN_OR_RETURN(addrs, admin.TargetBrokers(a.broker, a.cluster));
  }
  nlohmann::json brokers = nlohmann::json::array();
  for (const std::string& addr : addrs) {
    TH_ASSIGN_OR_RETURN(
        rjson::Value body,
        InvokeForJson(*admin.client(), addr,
                      client::ClientInstance::NewRequest(
                          req_code::kCleanExpiredConsumequeue),
                      "clean expired consume queues"));
    nlohmann::json removed = nlohmann::json::array();
    if (const rjson::Value* list = body.Find("removed");
        list != nullptr && list->is_array()) {
      for (size_t i = 0; i < list->size(); ++i) {
        const rjson::Value& q = list->at(i);
        removed.push_back({{"topic", q.GetString("topic")},
                           {"queueId", q.GetInt64("queueId")},
                           {"maxPhysicOffset", q.GetInt64("maxPhysicOffset")}});
      }
    }
    const int64_t min_offset = body.GetInt64("minCommitLogOffset");
    if (!a.json) {
      fmt::print("{}: removed {} consume queue(s) whose messages are all below "
                 "CommitLog offset {}\n",
                 addr, removed.size(), min_offset);
      for (const auto& q : removed)
        fmt::print("  {} queue {} (its entries end at {})\n",
                   q["topic"].get<std::string>(), q["queueId"].get<int64_t>(),
                   q["maxPhysicOffset"].get<int64_t>());
    }
    brokers.push_back({{"brokerAddr", addr},
                       {"minCommitLogOffset", min_offset},
                       {"removed", std::move(removed)}});
  }
  if (a.json) {
    fmt::print("{}\n", nlohmann::json{{"brokers", brokers}}.dump(
                           -1, ' ', false,
                           nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("success\n");
  }
  return Status::OK();
}

// Cancels a pending timer message (RECALL_MESSAGE) by the recall handle its
// send answered, on the broker the handle names.
Status RecallMessageCommand(const Admin2Args& a, client::AdminClient& admin) {
  client::Producer producer(admin.client());
  TH_ASSIGN_OR_RETURN(std::string msg_id,
                      producer.RecallMessage(a.topic, a.recall_handle));
  if (a.json) {
    fmt::print("{}\n", nlohmann::json{{"msgId", msg_id}}.dump());
  } else {
    fmt::print("recalled {}\n", msg_id);
  }
  return Status::OK();
}

}  // namespace

void AddAdminCommands2(CLI::App& admin, int* exit_code) {
  static Admin2Args a;
  SeedNamesrvFromEnv(&a);
  auto add = [&](const char* name, const char* help, Admin2Command cmd) {
    auto* c = admin.add_subcommand(name, help);
    AddAdminConnectionOptions(*c, &a);
    c->add_flag("--json", a.json, "print one JSON document");
    c->callback(
        [exit_code, name, cmd] { *exit_code = RunAdmin2(name, a, cmd); });
    return c;
  };

  auto* c = add("statsAll",
                "every topic's consumer groups with lag, TPS and 24-hour "
                "message counts",
                StatsAll);
  c->add_option("-t,--topic", a.topic, "only this topic");
  c->add_flag("-a,--activeTopic", a.active_only,
              "only rows with messages in or out in the last 24 hours");

  c = add("cleanExpiredCQ",
          "delete consume queues whose messages the CommitLog no longer has",
          CleanExpiredCq);
  c->add_option("-b,--brokerAddr", a.broker, "on this broker (host:port)");
  c->add_option("-c,--cluster", a.cluster, "on every master of this cluster");

  c = add("recallMessage",
          "cancel a timer message that is not due yet by its recall handle",
          RecallMessageCommand);
  c->set_help_flag("--help", "print this help message and exit");
  c->add_option("-t,--topic", a.topic, "topic name")->required();
  c->add_option("-h,--recallHandle", a.recall_handle,
                "the recall handle the send answered")
      ->required();
}

}  // namespace thruster::cli
