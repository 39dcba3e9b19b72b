#include "namesrv/route_info_manager.h"

#include "common/logging.h"

namespace thruster::namesrv {

using remoting::BrokerData;
using remoting::QueueData;

Result<RegisterBrokerResult> RouteInfoManager::RegisterBroker(
    const RegisterBrokerRequest& req) {
  MutexLock lock(&mu_);
  auto existing = broker_addr_table_.find(req.broker_name);
  bool id_known = existing != broker_addr_table_.end() &&
                  existing->second.broker_addrs.contains(req.broker_id);
  if (!id_known && req.body.topic_configs.size() == 1) {
    // An incremental single-topic registration before the full one (§3.5.1 step
    // 4).
    return Status::InvalidArgument("register broker failed");
  }

  cluster_addr_table_[req.cluster_name].insert(req.broker_name);
  BrokerData& broker = broker_addr_table_[req.broker_name];
  broker.cluster = req.cluster_name;
  broker.broker_name = req.broker_name;
  // The same address under another id means a role change: drop the old entry
  // first.
  for (auto it = broker.broker_addrs.begin();
       it != broker.broker_addrs.end();) {
    if (it->second == req.broker_addr && it->first != req.broker_id) {
      it = broker.broker_addrs.erase(it);
    } else {
      ++it;
    }
  }
  broker.broker_addrs[req.broker_id] = req.broker_addr;

  LiveKey key{req.cluster_name, req.broker_addr};
  auto live = broker_live_table_.find(key);
  bool first_registration = live == broker_live_table_.end();
  bool version_changed = first_registration ||
                         !(live->second.data_version == req.body.data_version);

  if (req.broker_id == 0) {
    for (const auto& t : req.body.topic_configs) {
      auto& queues = topic_queue_table_[t.topic_name];
      auto q = queues.find(req.broker_name);
      if (q != queues.end() && !version_changed) continue;
      QueueData data;
      data.broker_name = req.broker_name;
      data.read_queue_nums = t.read_queue_nums;
      data.write_queue_nums = t.write_queue_nums;
      data.perm = t.perm;
      data.topic_sys_flag = t.topic_sys_flag;
      queues[req.broker_name] = std::move(data);
    }
  }

  LiveInfo& info = broker_live_table_[key];
  info.last_update_ms = clock_->NowMs();
  info.timeout_ms =
      req.timeout_ms > 0 ? req.timeout_ms : kDefaultBrokerTimeoutMs;
  info.data_version = req.body.data_version;
  info.connection_id = req.connection_id;
  info.ha_server_addr = req.ha_server_addr;
  if (first_registration) {
    TH_LOG(namesrv, kInfo, "new broker registered: {} {} id {} in {}",
           req.broker_name, req.broker_addr, req.broker_id, req.cluster_name);
  }

  RegisterBrokerResult result;
  if (req.broker_id != 0) {
    auto master = broker.broker_addrs.find(0);
    if (master != broker.broker_addrs.end()) {
      auto master_live =
          broker_live_table_.find(LiveKey{req.cluster_name, master->second});
      if (master_live != broker_live_table_.end()) {
        result.master_addr = master->second;
        result.ha_server_addr = master_live->second.ha_server_addr;
      }
    }
  }
  return result;
}

void RouteInfoManager::UnregisterBroker(std::string_view cluster_name,
                                        std::string_view broker_addr,
                                        std::string_view broker_name,
                                        int64_t broker_id) {
  MutexLock lock(&mu_);
  broker_live_table_.erase(
      LiveKey{std::string(cluster_name), std::string(broker_addr)});
  auto it = broker_addr_table_.find(broker_name);
  if (it == broker_addr_table_.end()) return;
  auto addr = it->second.broker_addrs.find(broker_id);
  if (addr != it->second.broker_addrs.end() && addr->second == broker_addr)
    it->second.broker_addrs.erase(addr);
  TH_LOG(namesrv, kInfo, "broker unregistered: {} {} id {}", broker_name,
         broker_addr, broker_id);
  if (it->second.broker_addrs.empty())
    RemoveBrokerNameLocked(std::string(cluster_name), std::string(broker_name));
}

void RouteInfoManager::RemoveBrokerAddrLocked(const std::string& cluster_name,
                                              const std::string& broker_addr) {
  broker_live_table_.erase(LiveKey{cluster_name, broker_addr});
  std::vector<std::string> emptied;
  for (auto& [name, broker] : broker_addr_table_) {
    if (broker.cluster != cluster_name) continue;
    for (auto it = broker.broker_addrs.begin();
         it != broker.broker_addrs.end();) {
      it = it->second == broker_addr ? broker.broker_addrs.erase(it)
                                     : std::next(it);
    }
    if (broker.broker_addrs.empty()) emptied.push_back(name);
  }
  for (const auto& name : emptied) RemoveBrokerNameLocked(cluster_name, name);
}

void RouteInfoManager::RemoveBrokerNameLocked(const std::string& cluster_name,
                                              const std::string& broker_name) {
  broker_addr_table_.erase(broker_name);
  if (auto c = cluster_addr_table_.find(cluster_name);
      c != cluster_addr_table_.end()) {
    c->second.erase(broker_name);
    if (c->second.empty()) cluster_addr_table_.erase(c);
  }
  for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
    it->second.erase(broker_name);
    it = it->second.empty() ? topic_queue_table_.erase(it) : std::next(it);
  }
}

std::optional<remoting::TopicRouteData> RouteInfoManager::GetTopicRoute(
    std::string_view topic) const {
  MutexLock lock(&mu_);
  auto t = topic_queue_table_.find(topic);
  if (t == topic_queue_table_.end() || t->second.empty()) return std::nullopt;
  remoting::TopicRouteData route;
  for (const auto& [broker_name, queues] : t->second) {
    route.queue_datas.push_back(queues);
    auto b = broker_addr_table_.find(broker_name);
    if (b != broker_addr_table_.end() && !b->second.broker_addrs.empty())
      route.broker_datas.push_back(b->second);
  }
  if (route.broker_datas.empty()) return std::nullopt;
  return route;
}

remoting::ClusterInfo RouteInfoManager::GetClusterInfo() const {
  MutexLock lock(&mu_);
  remoting::ClusterInfo info;
  for (const auto& [name, broker] : broker_addr_table_)
    info.broker_addr_table[name] = broker;
  for (const auto& [cluster, names] : cluster_addr_table_) {
    info.cluster_addr_table[cluster] =
        std::vector<std::string>(names.begin(), names.end());
  }
  return info;
}

bool RouteInfoManager::DeleteTopic(std::string_view topic,
                                   std::string_view cluster_name) {
  MutexLock lock(&mu_);
  auto it = topic_queue_table_.find(topic);
  if (it == topic_queue_table_.end()) return false;
  if (cluster_name.empty()) {
    topic_queue_table_.erase(it);
    return true;
  }
  auto cluster = cluster_addr_table_.find(cluster_name);
  if (cluster == cluster_addr_table_.end()) return false;
  bool removed = false;
  for (const auto& broker_name : cluster->second)
    removed |= it->second.erase(broker_name) > 0;
  if (it->second.empty()) topic_queue_table_.erase(it);
  return removed;
}

remoting::TopicList RouteInfoManager::GetAllTopicList() const {
  MutexLock lock(&mu_);
  remoting::TopicList list;
  for (const auto& [topic, queues] : topic_queue_table_)
    list.topic_list.push_back(topic);
  return list;
}

size_t RouteInfoManager::ScanNotActiveBrokers() {
  MutexLock lock(&mu_);
  int64_t now = clock_->NowMs();
  std::vector<LiveKey> expired;
  for (const auto& [key, info] : broker_live_table_) {
    if (info.last_update_ms + info.timeout_ms < now) expired.push_back(key);
  }
  for (const auto& [cluster, addr] : expired) {
    TH_LOG(namesrv, kWarn,
           "broker {} of {} expired: no registration for over its timeout",
           addr, cluster);
    RemoveBrokerAddrLocked(cluster, addr);
  }
  return expired.size();
}

size_t RouteInfoManager::OnConnectionClosed(uint64_t connection_id) {
  if (connection_id == 0) return 0;
  MutexLock lock(&mu_);
  std::vector<LiveKey> gone;
  for (const auto& [key, info] : broker_live_table_) {
    if (info.connection_id == connection_id) gone.push_back(key);
  }
  for (const auto& [cluster, addr] : gone) {
    TH_LOG(namesrv, kInfo, "connection of broker {} of {} closed; removing it",
           addr, cluster);
    RemoveBrokerAddrLocked(cluster, addr);
  }
  return gone.size();
}

std::optional<remoting::DataVersion> RouteInfoManager::QueryDataVersion(
    std::string_view cluster_name, std::string_view broker_addr, bool touch) {
  MutexLock lock(&mu_);
  auto it = broker_live_table_.find(
      LiveKey{std::string(cluster_name), std::string(broker_addr)});
  if (it == broker_live_table_.end()) return std::nullopt;
  if (touch) it->second.last_update_ms = clock_->NowMs();
  return it->second.data_version;
}

int32_t RouteInfoManager::WipeWritePermOfBroker(std::string_view broker_name) {
  MutexLock lock(&mu_);
  int32_t count = 0;
  for (auto& [topic, queues] : topic_queue_table_) {
    auto it = queues.find(std::string(broker_name));
    if (it == queues.end()) continue;
    it->second.perm &= ~remoting::kPermWrite;
    ++count;
  }
  TH_LOG(namesrv, kInfo, "wiped the write permission of broker {} ({} topics)",
         broker_name, count);
  return count;
}

int32_t RouteInfoManager::AddWritePermOfBroker(std::string_view broker_name) {
  MutexLock lock(&mu_);
  int32_t count = 0;
  for (auto& [topic, queues] : topic_queue_table_) {
    auto it = queues.find(std::string(broker_name));
    if (it == queues.end()) continue;
    // RocketMQ sets read+write here, which also drops PERM_INHERIT (TBW102
    // would stop auto-creating topics); only the bit wiping took is given
    // back.
    it->second.perm |= remoting::kPermWrite;
    ++count;
  }
  TH_LOG(namesrv, kInfo, "added the write permission of broker {} ({} topics)",
         broker_name, count);
  return count;
}

}  // namespace thruster::namesrv
