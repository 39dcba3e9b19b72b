#include "ha/etcd_controller.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/logging.h"

namespace thruster::ha {
namespace {

using Json = nlohmann::json;

int64_t CtrlJsonInt(const Json& j, const char* field, int64_t def = 0) {
  auto it = j.find(field);
  if (it == j.end()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return def;
    }
  }
  return def;
}

std::string CtrlJsonStr(const Json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>()
                                          : std::string();
}

Json ParseObject(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : Json::object();
}

int64_t ParseDecimal(const std::string& text, int64_t def) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(text, &used);
    return used == text.size() ? v : def;
  } catch (...) {
    return def;
  }
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// MixAll.string2File's order: the previous content to `.bak`, then the file.
Status WriteIdentityFile(const std::string& path, const std::string& text) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    std::filesystem::copy_file(
        path, path + ".bak", std::filesystem::copy_options::overwrite_existing,
        ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::IOError("write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("rename " + tmp + ": " + ec.message());
  return Status::OK();
}

std::vector<std::string> SplitHash(const std::string& s) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == '#') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  return parts;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct MasterRecord {
  int64_t id = 0;
  int64_t epoch = 0;
  std::string address;
  std::string ha_address;
  int64_t lease = 0;
  int64_t mod_revision = 0;
};

}  // namespace

std::optional<int64_t> ElectMaster(const std::vector<AliveReplica>& alive,
                                   const std::set<int64_t>& sync_state_set,
                                   bool elect_unclean) {
  auto better = [](const AliveReplica& a, const AliveReplica& b) {
    if (a.status.epoch != b.status.epoch)
      return a.status.epoch > b.status.epoch;
    if (a.status.max_offset != b.status.max_offset)
      return a.status.max_offset > b.status.max_offset;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.id < b.id;  // a total order, so every replica picks the same
  };
  auto pick = [&](bool in_sync_only) -> std::optional<int64_t> {
    const AliveReplica* best = nullptr;
    for (const AliveReplica& r : alive) {
      if (in_sync_only && !sync_state_set.contains(r.id)) continue;
      if (best == nullptr || better(r, *best)) best = &r;
    }
    if (best == nullptr) return std::nullopt;
    return best->id;
  };
  if (sync_state_set.empty()) return pick(false);  // never had a master
  if (auto id = pick(true)) return id;
  if (elect_unclean) return pick(false);
  return std::nullopt;
}

class EtcdController::Thread : public ServiceThread {
 public:
  Thread(EtcdController* owner, int64_t period_ms)
      : ServiceThread("etcd-ctrl"), owner_(owner), period_ms_(period_ms) {}
  ~Thread() override { Stop(); }

 protected:
  void Run() override {
    while (!stopped()) {
      owner_->Round();
      WaitForRunning(period_ms_);
    }
  }

 private:
  EtcdController* owner_;
  int64_t period_ms_;
};

EtcdController::EtcdController(EtcdControllerOptions options, Hooks hooks)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      prefix_(Prefix(options_.cluster_name, options_.broker_name)) {
  // A request may take at most a third of the TTL, so a round (keep-alive,
  // put, range) fits in one.
  etcd_ = std::make_unique<EtcdClient>(
      options_.endpoints, std::max<int64_t>(300, options_.lease_ttl_ms / 3));
}

EtcdController::~EtcdController() { Stop(); }

std::string EtcdController::Prefix(const std::string& cluster,
                                   const std::string& broker_name) {
  return "/thruster/" + cluster + "/" + broker_name + "/";
}

int64_t EtcdController::NowSteadyMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status EtcdController::Start(int64_t timeout_ms) {
  if (EtcdClient::ParseEndpoints(options_.endpoints).empty())
    return Status::InvalidArgument("etcdEndpoints names no endpoint");
  hooks_.set_write_deadline(0);  // fenced until the master is known
  const int64_t deadline = NowSteadyMs() + timeout_ms;
  Status s;
  while (true) {
    s = AssignReplicaId();
    if (s.ok() || s.code() == Status::Code::kInvalidArgument) break;
    if (NowSteadyMs() >= deadline) break;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(200));  // etcd retry pause
  }
  if (!s.ok()) return s;
  MutexLock lock(&thread_mu_);
  thread_ = std::make_unique<Thread>(
      this, std::max<int64_t>(100, options_.lease_ttl_ms / 3));
  thread_->Start();
  return Status::OK();
}

void EtcdController::Stop() {
  std::unique_ptr<Thread> thread;
  {
    MutexLock lock(&thread_mu_);
    thread = std::move(thread_);
  }
  if (thread) {
    thread->Stop();
    thread.reset();
  }
  if (lease_ != 0) {
    // A master steps down at once: its master key goes with the lease.
    hooks_.set_write_deadline(0);
    etcd_->LeaseRevoke(lease_).IgnoreError();  // it expires anyway
    lease_ = 0;
  }
}

int64_t EtcdController::replica_id() const {
  MutexLock lock(&mu_);
  return replica_id_;
}
int64_t EtcdController::registration_id() const {
  MutexLock lock(&mu_);
  return registration_id_;
}
std::string EtcdController::master_addr() const {
  MutexLock lock(&mu_);
  return master_addr_;
}
int64_t EtcdController::acted_epoch() const {
  MutexLock lock(&mu_);
  return acted_epoch_;
}

// spec/ha.md §7.2-§7.3 steps 2-4, with etcd's compare-and-swap in place of the
// controller's id table.
Status EtcdController::AssignReplicaId() {
  const std::string identity = options_.store_root + "/brokerIdentity";
  const std::string temp = options_.store_root + "/brokerIdentity-temp";
  std::error_code ec;
  std::filesystem::create_directories(options_.store_root, ec);
  auto check_names = [&](const std::vector<std::string>& parts,
                         const std::string& file) -> Status {
    if (parts[0] != options_.cluster_name || parts[1] != options_.broker_name)
      return Status::InvalidArgument(
          file + " names " + parts[0] + "#" + parts[1] + ", not " +
          options_.cluster_name + "#" + options_.broker_name);
    return Status::OK();
  };
  if (std::filesystem::exists(identity, ec)) {
    const std::vector<std::string> parts = SplitHash(ReadSmallFile(identity));
    if (parts.size() != 3 || ParseDecimal(parts[2], 0) <= 0)
      return Status::InvalidArgument(identity + " is malformed");
    TH_RETURN_IF_ERROR(check_names(parts, identity));
    MutexLock lock(&mu_);
    replica_id_ = ParseDecimal(parts[2], 0);
    return Status::OK();
  }
  for (int attempt = 0; attempt < 16; ++attempt) {
    int64_t id = 0;
    std::string check_code;
    if (std::filesystem::exists(temp, ec)) {
      const std::vector<std::string> parts = SplitHash(ReadSmallFile(temp));
      if (parts.size() == 4 && ParseDecimal(parts[2], 0) > 0) {
        TH_RETURN_IF_ERROR(check_names(parts, temp));
        id = ParseDecimal(parts[2], 0);
        check_code = parts[3];
      }
    }
    if (id == 0) {
      Result<std::optional<EtcdKeyValue>> next = etcd_->Get(prefix_ + "nextId");
      if (!next.ok()) return next.status();
      id = next->has_value() ? ParseDecimal((*next)->value, 1) : 1;
      check_code = options_.broker_addr + ";" + std::to_string(WallMs());
      TH_RETURN_IF_ERROR(WriteIdentityFile(
          temp, options_.cluster_name + "#" + options_.broker_name + "#" +
                    std::to_string(id) + "#" + check_code));
    }
    const std::string id_key = prefix_ + "ids/" + std::to_string(id);
    Result<std::optional<EtcdKeyValue>> next = etcd_->Get(prefix_ + "nextId");
    if (!next.ok()) return next.status();
    const int64_t next_id =
        next->has_value() ? ParseDecimal((*next)->value, 1) : 1;
    Result<bool> applied = etcd_->Txn(
        {{id_key, EtcdCompare::Target::kCreateRevision, 0, {}},
         {prefix_ + "nextId",
          EtcdCompare::Target::kModRevision,
          next->has_value() ? (*next)->mod_revision : 0,
          {}}},
        {{id_key, check_code, 0},
         {prefix_ + "nextId", std::to_string(std::max(next_id, id + 1)), 0}});
    if (!applied.ok()) return applied.status();
    bool ours = *applied;
    if (!ours) {
      // A retry of our own claim, or someone else's id.
      Result<std::optional<EtcdKeyValue>> claimed = etcd_->Get(id_key);
      if (!claimed.ok()) return claimed.status();
      ours = claimed->has_value() && (*claimed)->value == check_code;
    }
    if (ours) {
      TH_RETURN_IF_ERROR(WriteIdentityFile(
          identity, options_.cluster_name + "#" + options_.broker_name + "#" +
                        std::to_string(id)));
      std::filesystem::remove(temp, ec);
      TH_LOG(ha, kInfo, "controller: replica id {} of {}/{}", id,
             options_.cluster_name, options_.broker_name);
      MutexLock lock(&mu_);
      replica_id_ = id;
      return Status::OK();
    }
    std::filesystem::remove(temp, ec);  // taken: start over with nextId
  }
  return Status::Busy("could not claim a replica id in etcd");
}

void EtcdController::Fence(const char* why) {
  hooks_.set_write_deadline(0);
  bool changed = false;
  {
    MutexLock lock(&mu_);
    if (registration_id_ == 0) {
      registration_id_ = -1;
      master_addr_.clear();
      master_ha_addr_.clear();
      changed = true;
    }
  }
  if (changed) {
    TH_LOG(ha, kWarn, "controller: fenced ({})", why);
    if (hooks_.on_role_change) hooks_.on_role_change();
  }
}

void EtcdController::RunOnceForTesting() { Round(); }

void EtcdController::Wakeup() {
  MutexLock lock(&thread_mu_);
  if (thread_) thread_->Wakeup();
}

void EtcdController::Round() {
  const int64_t sent = NowSteadyMs();
  if (lease_ == 0) {
    int64_t granted = 0;
    Result<int64_t> l = etcd_->LeaseGrant(
        std::max<int64_t>(1, (options_.lease_ttl_ms + 999) / 1000), &granted);
    if (!l.ok()) {
      TH_LOG(ha, kWarn, "controller: etcd lease grant failed: {}",
             l.status().ToString());
      return;
    }
    lease_ = *l;
    lease_ttl_ms_ = std::max<int64_t>(granted, 1) * 1000;
  } else {
    Result<int64_t> ttl = etcd_->LeaseKeepAlive(lease_);
    if (!ttl.ok()) {
      if (ttl.status().IsNotFound()) {
        lease_ = 0;
        Fence("lease expired");
      } else {
        // The store's deadline runs out on its own; say so once.
        TH_LOG(ha, kWarn, "controller: etcd keep-alive failed: {}",
               ttl.status().ToString());
        // Give up the name-server registration once the deadline passed.
        if (NowSteadyMs() >= deadline_ms_) Fence("etcd unreachable");
      }
      return;
    }
  }
  const ReplicaStatus st = hooks_.status();
  const int64_t id = replica_id();
  Json alive = {{"brokerId", id},
                {"address", options_.broker_addr},
                {"haAddress", options_.ha_addr},
                {"epoch", st.epoch},
                {"maxOffset", st.max_offset},
                {"confirmOffset", st.confirm_offset},
                {"priority", options_.election_priority}};
  if (Status s = etcd_->Put(
          {prefix_ + "alive/" + std::to_string(id), alive.dump(), lease_});
      !s.ok()) {
    TH_LOG(ha, kWarn, "controller: etcd put failed: {}", s.ToString());
    return;
  }
  Result<std::vector<EtcdKeyValue>> kvs = etcd_->RangePrefix(prefix_);
  if (!kvs.ok()) {
    TH_LOG(ha, kWarn, "controller: etcd range failed: {}",
           kvs.status().ToString());
    return;
  }
  Act(*kvs, sent);
}

void EtcdController::Act(const std::vector<EtcdKeyValue>& kvs,
                         int64_t lease_sent_ms) {
  std::optional<MasterRecord> master;
  int64_t master_epoch = 0, master_epoch_rev = 0;
  std::set<int64_t> sss;
  int64_t sss_epoch = 0, sss_rev = 0;
  std::vector<AliveReplica> alive;
  for (const EtcdKeyValue& kv : kvs) {
    const std::string name = kv.key.substr(prefix_.size());
    if (name == "master") {
      Json j = ParseObject(kv.value);
      MasterRecord m;
      m.id = CtrlJsonInt(j, "masterBrokerId");
      m.epoch = CtrlJsonInt(j, "masterEpoch");
      m.address = CtrlJsonStr(j, "address");
      m.ha_address = CtrlJsonStr(j, "haAddress");
      m.lease = kv.lease;
      m.mod_revision = kv.mod_revision;
      master = m;
    } else if (name == "masterEpoch") {
      master_epoch = ParseDecimal(kv.value, 0);
      master_epoch_rev = kv.mod_revision;
    } else if (name == "syncStateSet") {
      Json j = ParseObject(kv.value);
      if (j.contains("syncStateSet") && j["syncStateSet"].is_array())
        for (const Json& e : j["syncStateSet"])
          if (e.is_number_integer()) sss.insert(e.get<int64_t>());
      sss_epoch = CtrlJsonInt(j, "syncStateSetEpoch");
      sss_rev = kv.mod_revision;
    } else if (name.rfind("alive/", 0) == 0) {
      Json j = ParseObject(kv.value);
      AliveReplica r;
      r.id = CtrlJsonInt(j, "brokerId");
      r.address = CtrlJsonStr(j, "address");
      r.ha_address = CtrlJsonStr(j, "haAddress");
      r.status.epoch = CtrlJsonInt(j, "epoch");
      r.status.max_offset = CtrlJsonInt(j, "maxOffset");
      r.status.confirm_offset = CtrlJsonInt(j, "confirmOffset");
      r.priority = CtrlJsonInt(j, "priority", INT64_MAX);
      if (r.id > 0) alive.push_back(std::move(r));
    }
  }
  const int64_t me = replica_id();
  const int64_t margin = lease_ttl_ms_ / 6;
  int64_t acted, registration;
  {
    MutexLock lock(&mu_);
    acted = acted_epoch_;
    registration = registration_id_;
  }

  if (master && master->id == me && master->lease == lease_) {
    if (acted != master->epoch) {
      // Elected in a round whose answer was lost: act on it now.
      Status s = acted < master->epoch ? hooks_.become_master(master->epoch)
                                       : Status::InvalidArgument("stale");
      if (!s.ok()) {
        TH_LOG(ha, kWarn, "controller: cannot become master at epoch {}: {}",
               master->epoch, s.ToString());
        etcd_->LeaseRevoke(lease_).IgnoreError();  // let another win
        lease_ = 0;
        Fence("could not become master");
        return;
      }
      MutexLock lock(&mu_);
      acted_epoch_ = master->epoch;
    }
    deadline_ms_ = lease_sent_ms + lease_ttl_ms_ - margin;
    hooks_.set_write_deadline(deadline_ms_);
    bool changed = false;
    {
      MutexLock lock(&mu_);
      changed = registration_id_ != 0;
      registration_id_ = 0;
      master_addr_ = options_.broker_addr;
      master_ha_addr_ = options_.ha_addr;
    }
    if (changed && hooks_.on_role_change) hooks_.on_role_change();
    // The in-sync set the HA connections keep (§7.7), always with itself.
    std::set<int64_t> want = {me};
    if (hooks_.sync_state_set) {
      std::set<int64_t> local = hooks_.sync_state_set();
      want.insert(local.begin(), local.end());
    }
    if (want == sss) {
      if (hooks_.sync_state_set_recorded) hooks_.sync_state_set_recorded(sss);
    } else {
      Json j = {{"syncStateSet", want},
                {"syncStateSetEpoch", sss_epoch + 1},
                {"masterEpoch", master->epoch}};
      Result<bool> applied =
          etcd_->Txn({{prefix_ + "master",
                       EtcdCompare::Target::kModRevision,
                       master->mod_revision,
                       {}},
                      {prefix_ + "syncStateSet",
                       EtcdCompare::Target::kModRevision,
                       sss_rev,
                       {}}},
                     {{prefix_ + "syncStateSet", j.dump(), 0}});
      if (applied.ok() && *applied) {
        TH_LOG(ha, kInfo, "controller: syncStateSet {} (epoch {})",
               j["syncStateSet"].dump(), sss_epoch + 1);
        if (hooks_.sync_state_set_recorded)
          hooks_.sync_state_set_recorded(want);
      }
    }
    return;
  }

  if (master && master->id != me) {
    if (registration == 0) Fence("another replica is master");
    if (acted < master->epoch) {
      Status s = hooks_.become_slave(master->epoch, master->address,
                                     master->ha_address);
      if (!s.ok()) {
        TH_LOG(ha, kWarn, "controller: cannot follow {} at epoch {}: {}",
               master->address, master->epoch, s.ToString());
        return;
      }
      {
        MutexLock lock(&mu_);
        acted_epoch_ = master->epoch;
        registration_id_ = me;
        master_addr_ = master->address;
        master_ha_addr_ = master->ha_address;
      }
      TH_LOG(ha, kInfo, "controller: slave of {} (replica {}) at epoch {}",
             master->address, master->id, master->epoch);
      if (hooks_.on_role_change) hooks_.on_role_change();
    }
    return;
  }

  // No live master (or the key of an earlier life of this replica).
  if (registration == 0) Fence("the master key is gone");
  std::optional<int64_t> winner =
      ElectMaster(alive, master_epoch == 0 ? std::set<int64_t>() : sss,
                  options_.elect_unclean);
  if (!winner || *winner != me) return;
  const int64_t epoch = std::max(master_epoch, acted) + 1;
  Json m = {{"masterBrokerId", me},
            {"masterEpoch", epoch},
            {"address", options_.broker_addr},
            {"haAddress", options_.ha_addr}};
  Json set = {{"syncStateSet", std::set<int64_t>{me}},
              {"syncStateSetEpoch", sss_epoch + 1},
              {"masterEpoch", epoch}};
  Result<bool> applied =
      etcd_->Txn({{prefix_ + "master",
                   EtcdCompare::Target::kModRevision,
                   master ? master->mod_revision : 0,
                   {}},
                  {prefix_ + "masterEpoch",
                   EtcdCompare::Target::kModRevision,
                   master_epoch_rev,
                   {}},
                  {prefix_ + "syncStateSet",
                   EtcdCompare::Target::kModRevision,
                   sss_rev,
                   {}}},
                 {{prefix_ + "master", m.dump(), lease_},
                  {prefix_ + "masterEpoch", std::to_string(epoch), 0},
                  {prefix_ + "syncStateSet", set.dump(), 0}});
  if (!applied.ok()) {
    TH_LOG(ha, kWarn, "controller: election transaction failed: {}",
           applied.status().ToString());
    return;
  }
  if (!*applied) return;  // someone else changed the group first
  TH_LOG(ha, kInfo, "controller: replica {} elected master at epoch {}", me,
         epoch);
  if (Status s = hooks_.become_master(epoch); !s.ok()) {
    TH_LOG(ha, kWarn, "controller: cannot become master at epoch {}: {}", epoch,
           s.ToString());
    etcd_->LeaseRevoke(lease_).IgnoreError();  // let another replica win
    lease_ = 0;
    return;
  }
  if (hooks_.sync_state_set_recorded) hooks_.sync_state_set_recorded({me});
  {
    MutexLock lock(&mu_);
    acted_epoch_ = epoch;
    registration_id_ = 0;
    master_addr_ = options_.broker_addr;
    master_ha_addr_ = options_.ha_addr;
  }
  deadline_ms_ = lease_sent_ms + lease_ttl_ms_ - margin;
  hooks_.set_write_deadline(deadline_ms_);
  if (hooks_.on_role_change) hooks_.on_role_change();
}

}  // namespace thruster::ha
