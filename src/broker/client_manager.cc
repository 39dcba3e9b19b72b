#include "broker/client_manager.h"

#include <algorithm>

#include "common/logging.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "common/strings.h"

namespace thruster::broker {
namespace {

namespace json = remoting::json;

bool SameSubscriptions(
    const std::map<std::string, SubscriptionData, std::less<>>& a,
    const std::map<std::string, SubscriptionData, std::less<>>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first ||
        ia->second.sub_string != ib->second.sub_string ||
        ia->second.expression_type != ib->second.expression_type) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::string> ClientManager::Heartbeat(
    const HeartbeatData& hb, const ClientChannel& channel) {
  std::vector<std::string> changed;
  MutexLock lock(&mu_);
  for (const std::string& g : hb.producer_groups) {
    ClientChannel& ch = producers_[g].channels[channel.connection_id];
    ch = channel;
    ch.client_id = hb.client_id;
  }
  for (const ConsumerData& cd : hb.consumers) {
    ConsumerGroupInfo& info = consumers_[cd.group_name];
    bool group_changed = false;
    auto [it, inserted] =
        info.channels.try_emplace(channel.connection_id, channel);
    if (inserted || it->second.client_id != hb.client_id) group_changed = true;
    it->second = channel;
    it->second.client_id = hb.client_id;
    info.consume_type = cd.consume_type;
    info.message_model = cd.message_model;
    info.consume_from_where = cd.consume_from_where;

    std::map<std::string, SubscriptionData, std::less<>> subs;
    for (const SubscriptionData& sd : cd.subscriptions) {
      auto old = info.subscriptions.find(sd.topic);
      if (old != info.subscriptions.end() &&
          old->second.sub_version > sd.sub_version) {
        subs[sd.topic] = old->second;
      } else {
        subs[sd.topic] = sd;
      }
    }
    if (!SameSubscriptions(subs, info.subscriptions)) group_changed = true;
    info.subscriptions = std::move(subs);
    if (group_changed) {
      TH_LOG(broker, kInfo,
             "consumer group {}: client {} registered from {} ({} members)",
             cd.group_name, hb.client_id, channel.remote_address,
             info.channels.size());
      changed.push_back(cd.group_name);
    }
  }
  return changed;
}

std::vector<std::string> ClientManager::Unregister(
    uint64_t connection_id, std::string_view producer_group,
    std::string_view consumer_group) {
  std::vector<std::string> changed;
  MutexLock lock(&mu_);
  if (!producer_group.empty()) {
    if (auto it = producers_.find(producer_group); it != producers_.end()) {
      it->second.channels.erase(connection_id);
      if (it->second.channels.empty()) producers_.erase(it);
    }
  }
  if (!consumer_group.empty()) {
    if (auto it = consumers_.find(consumer_group); it != consumers_.end()) {
      if (it->second.channels.erase(connection_id) > 0) {
        TH_LOG(broker, kInfo,
               "consumer group {}: a client unregistered ({} members left)",
               consumer_group, it->second.channels.size());
        changed.emplace_back(consumer_group);
      }
      if (it->second.channels.empty()) consumers_.erase(it);
    }
  }
  return changed;
}

std::vector<std::string> ClientManager::OnConnectionClosed(
    uint64_t connection_id) {
  std::vector<std::string> changed;
  MutexLock lock(&mu_);
  for (auto it = producers_.begin(); it != producers_.end();) {
    it->second.channels.erase(connection_id);
    it = it->second.channels.empty() ? producers_.erase(it) : std::next(it);
  }
  for (auto it = consumers_.begin(); it != consumers_.end();) {
    if (it->second.channels.erase(connection_id) > 0)
      changed.push_back(it->first);
    it = it->second.channels.empty() ? consumers_.erase(it) : std::next(it);
  }
  return changed;
}

std::vector<std::string> ClientManager::ScanExpired(int64_t now_ms,
                                                    int64_t timeout_ms) {
  std::vector<std::string> changed;
  MutexLock lock(&mu_);
  auto expired = [&](const ClientChannel& ch) {
    return now_ms - ch.last_update_ms > timeout_ms;
  };
  for (auto it = producers_.begin(); it != producers_.end();) {
    std::erase_if(it->second.channels,
                  [&](const auto& kv) { return expired(kv.second); });
    it = it->second.channels.empty() ? producers_.erase(it) : std::next(it);
  }
  for (auto it = consumers_.begin(); it != consumers_.end();) {
    size_t n = std::erase_if(it->second.channels, [&](const auto& kv) {
      if (!expired(kv.second)) return false;
      TH_LOG(broker, kWarn,
             "consumer {} of group {} expired (no heartbeat for {} ms)",
             kv.second.client_id, it->first, now_ms - kv.second.last_update_ms);
      return true;
    });
    if (n > 0) changed.push_back(it->first);
    it = it->second.channels.empty() ? consumers_.erase(it) : std::next(it);
  }
  return changed;
}

std::optional<SubscriptionData> ClientManager::FindSubscription(
    std::string_view group, std::string_view topic) const {
  MutexLock lock(&mu_);
  auto it = consumers_.find(group);
  if (it == consumers_.end()) return std::nullopt;
  auto s = it->second.subscriptions.find(topic);
  if (s == it->second.subscriptions.end()) return std::nullopt;
  return s->second;
}

std::vector<std::string> ClientManager::ConsumerIds(
    std::string_view group) const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  auto it = consumers_.find(group);
  if (it == consumers_.end()) return out;
  for (const auto& [id, ch] : it->second.channels) {
    if (!ch.connection.expired()) out.push_back(ch.client_id);
  }
  return out;
}

std::string ClientManager::ClientIdOfConnection(uint64_t connection_id) const {
  MutexLock lock(&mu_);
  for (const auto& [name, info] : consumers_) {
    if (auto it = info.channels.find(connection_id); it != info.channels.end())
      return it->second.client_id;
  }
  for (const auto& [name, info] : producers_) {
    if (auto it = info.channels.find(connection_id); it != info.channels.end())
      return it->second.client_id;
  }
  return {};
}

std::vector<std::shared_ptr<remoting::Connection>>
ClientManager::ConsumerConnections(std::string_view group) const {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<remoting::Connection>> out;
  auto it = consumers_.find(group);
  if (it == consumers_.end()) return out;
  for (const auto& [id, ch] : it->second.channels) {
    if (auto conn = ch.connection.lock(); conn && conn->is_open())
      out.push_back(std::move(conn));
  }
  return out;
}

void ClientManager::NotifyConsumerIdsChanged(
    const std::vector<std::string>& groups) const {
  for (const std::string& group : groups) {
    if (!IsClustering(group)) continue;
    for (const auto& conn : ConsumerConnections(group)) {
      remoting::RemotingCommand req = remoting::RemotingCommand::CreateRequest(
          remoting::request_code::kNotifyConsumerIdsChanged);
      req.SetExt("consumerGroup", group);
      Status s = conn->InvokeOneway(std::move(req));
      if (!s.ok())
        TH_LOG(broker, kDebug, "notify {} of group {}: {}",
               conn->remote_address(), group, s.ToString());
    }
  }
}

bool ClientManager::IsClustering(std::string_view group) const {
  MutexLock lock(&mu_);
  auto it = consumers_.find(group);
  return it != consumers_.end() && it->second.message_model != "BROADCASTING";
}

std::vector<std::string> ClientManager::GroupsSubscribing(
    std::string_view topic) const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [group, info] : consumers_) {
    if (info.subscriptions.count(topic) != 0) out.push_back(group);
  }
  return out;
}

std::optional<json::Value> ClientManager::ConsumerConnectionJson(
    std::string_view group) const {
  MutexLock lock(&mu_);
  auto it = consumers_.find(group);
  if (it == consumers_.end() || it->second.channels.empty())
    return std::nullopt;
  const ConsumerGroupInfo& info = it->second;
  json::Value root = json::Value::Object();
  json::Value conns = json::Value::Array();
  for (const auto& [id, ch] : info.channels) {
    json::Value c = json::Value::Object();
    c.Set("clientAddr", json::Value::String(ch.remote_address));
    c.Set("clientId", json::Value::String(ch.client_id));
    c.Set("language", json::Value::String(ch.language));
    c.Set("version", json::Value::Int(ch.version));
    conns.Push(std::move(c));
  }
  root.Set("connectionSet", std::move(conns));
  root.Set("consumeFromWhere", json::Value::String(info.consume_from_where));
  root.Set("consumeType", json::Value::String(info.consume_type));
  root.Set("messageModel", json::Value::String(info.message_model));
  json::Value subs = json::Value::Object();
  for (const auto& [topic, sd] : info.subscriptions)
    subs.Set(topic, sd.ToJson());
  root.Set("subscriptionTable", std::move(subs));
  return root;
}

std::optional<json::Value> ClientManager::ProducerConnectionJson(
    std::string_view group) const {
  MutexLock lock(&mu_);
  auto it = producers_.find(group);
  if (it == producers_.end() || it->second.channels.empty())
    return std::nullopt;
  json::Value conns = json::Value::Array();
  for (const auto& [id, ch] : it->second.channels) {
    json::Value c = json::Value::Object();
    c.Set("clientAddr", json::Value::String(ch.remote_address));
    c.Set("clientId", json::Value::String(ch.client_id));
    c.Set("language", json::Value::String(ch.language));
    c.Set("version", json::Value::Int(ch.version));
    conns.Push(std::move(c));
  }
  json::Value root = json::Value::Object();
  root.Set("connectionSet", std::move(conns));
  return root;
}

size_t ClientManager::producer_count() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [g, info] : producers_) n += info.channels.size();
  return n;
}

size_t ClientManager::consumer_count() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [g, info] : consumers_) n += info.channels.size();
  return n;
}

std::shared_ptr<remoting::Connection> ClientManager::ProducerConnection(
    std::string_view group) const {
  MutexLock lock(&mu_);
  auto it = producers_.find(group);
  if (it == producers_.end() || it->second.channels.empty()) return nullptr;
  std::vector<std::shared_ptr<remoting::Connection>> open;
  for (const auto& [id, ch] : it->second.channels) {
    if (auto c = ch.connection.lock(); c && c->is_open())
      open.push_back(std::move(c));
  }
  if (open.empty()) return nullptr;
  const uint64_t n = next_producer_.fetch_add(1, std::memory_order_relaxed);
  return open[n % open.size()];
}

std::shared_ptr<remoting::Connection> ClientManager::FindConnectionByClientId(
    std::string_view client_id) const {
  MutexLock lock(&mu_);
  auto find = [&](const std::map<uint64_t, ClientChannel>& channels)
      -> std::shared_ptr<remoting::Connection> {
    for (const auto& [id, ch] : channels) {
      if (ch.client_id != client_id) continue;
      if (auto c = ch.connection.lock(); c && c->is_open()) return c;
    }
    return nullptr;
  };
  for (const auto& [g, info] : producers_)
    if (auto c = find(info.channels)) return c;
  for (const auto& [g, info] : consumers_)
    if (auto c = find(info.channels)) return c;
  return nullptr;
}

}  // namespace thruster::broker
