#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "ha/etcd_client.h"

// Controller mode on etcd (spec/ha.md §7, §7.10): the replicas of one broker
// group elect their master through etcd, in place of RocketMQ 5's controller.
//
// Keys, under /thruster/<brokerClusterName>/<brokerName>/:
//   nextId          next replica id to assign (decimal; only grows)
//   ids/<id>        the check code ("<brokerAddr>;<ms>") of the replica that
//                   claimed <id>; never deleted, so an id is never reused
//   alive/<id>      under the replica's lease: {"brokerId","address",
//                   "haAddress","epoch","maxOffset","confirmOffset","priority"}
//   master          under the master's lease: {"masterBrokerId","masterEpoch",
//                   "address","haAddress"}
//   masterEpoch     the last election's epoch (decimal, no lease)
//   syncStateSet    {"syncStateSet":[ids],"syncStateSetEpoch":n,
//                    "masterEpoch":e} (no lease)
//
// One round every lease TTL / 3: keep the lease alive, write alive/<id>, read
// the prefix, act. The master key disappears with its lease; then every alive
// replica computes the same winner from the alive keys (§7.4's policy: alive
// members of the in-sync set, unclean only when allowed; higher epoch, then
// higher max offset, then lower priority) and only the winner writes the
// master, masterEpoch + 1 and syncStateSet = {winner} in one transaction that
// compares the mod revisions of master, masterEpoch and syncStateSet with those
// it read. The master writes the in-sync set its HA connections maintain
// (Hooks::sync_state_set, spec §7.7: slaves join when caught up and leave
// after haMaxTimeSlaveNotCatchup) every round it differs from etcd's, in a
// transaction on the revisions of the master key (its term) and of the set, so
// a deposed master cannot change it; what etcd holds is handed back
// (Hooks::sync_state_set_recorded).
//
// Fencing: the master may acknowledge writes only until the time of the last
// keep-alive that etcd confirmed was *sent* + the granted TTL − a margin
// (TTL / 6): etcd cannot expire the lease before then. That deadline is handed
// to the store (set_write_deadline), which checks it on every answer, so a
// master that stalls (SIGSTOP, a partition from etcd) stops acknowledging on
// its own, before another replica can be elected. A replica that does not
// know the current master is fenced.
//
// Lifecycle: construct → Start() (returns once the replica id is known, or
// fails) → Stop(). Runs on its own thread `etcd-ctrl`; the hooks are called
// on it. Thread-safe.
namespace thruster::ha {

struct EtcdControllerOptions {
  std::string endpoints;  // etcdEndpoints
  std::string cluster_name;
  std::string broker_name;
  std::string store_root;  // where brokerIdentity lives
  std::string broker_addr;
  std::string ha_addr;
  int64_t lease_ttl_ms = 3000;             // controllerLeaseTtlMs
  int64_t election_priority = 2147483647;  // brokerElectionPriority
  bool elect_unclean = false;              // enableElectUncleanMaster
};

// What a replica reports in alive/<id> and what elections rank by.
struct ReplicaStatus {
  int64_t epoch = 0;
  int64_t max_offset = 0;
  int64_t confirm_offset = 0;
};

struct AliveReplica {
  int64_t id = 0;
  std::string address;
  std::string ha_address;
  ReplicaStatus status;
  int64_t priority = 0;
};

// The election policy (§7.4 step 3) on what etcd holds: the winner among
// `alive`, or nullopt. `sync_state_set` empty means the group never had a
// master (every alive replica may win).
std::optional<int64_t> ElectMaster(const std::vector<AliveReplica>& alive,
                                   const std::set<int64_t>& sync_state_set,
                                   bool elect_unclean);

class EtcdController {
 public:
  struct Hooks {
    std::function<ReplicaStatus()> status;
    // Become the master at `epoch` (brokerId 0).
    std::function<Status(int64_t epoch)> become_master;
    // Follow `master` at `epoch` (brokerId = own replica id).
    std::function<Status(int64_t epoch, const std::string& master_addr,
                         const std::string& master_ha_addr)>
        become_slave;
    // The store's write deadline (steady clock ms; 0: fenced).
    std::function<void(int64_t deadline_ms)> set_write_deadline;
    // The master this replica knows changed (or became unknown: empty).
    std::function<void()> on_role_change;
    // As the master: the in-sync set it wants (its own id is always added).
    // Unset: {itself}.
    std::function<std::set<int64_t>()> sync_state_set;
    // As the master: the set etcd records for its term.
    std::function<void(const std::set<int64_t>&)> sync_state_set_recorded;
  };

  EtcdController(EtcdControllerOptions options, Hooks hooks);
  ~EtcdController();
  EtcdController(const EtcdController&) = delete;
  EtcdController& operator=(const EtcdController&) = delete;

  // Assigns (or reads) the replica id, waiting up to `timeout_ms` for etcd,
  // then starts the election thread.
  Status Start(int64_t timeout_ms) TH_EXCLUDES(thread_mu_);
  // Stops the thread and revokes the lease (a master steps down at once).
  void Stop() TH_EXCLUDES(thread_mu_);

  int64_t replica_id() const TH_EXCLUDES(mu_);
  // -1: no known master (fenced); 0: this replica is the master; else its
  // replica id as a slave.
  int64_t registration_id() const TH_EXCLUDES(mu_);
  // The master's address as etcd names it ("" when unknown).
  std::string master_addr() const TH_EXCLUDES(mu_);
  int64_t acted_epoch() const TH_EXCLUDES(mu_);

  // Key prefix of a group: /thruster/<cluster>/<brokerName>/.
  static std::string Prefix(const std::string& cluster,
                            const std::string& broker_name);

  // One round now, on the caller's thread (tests).
  void RunOnceForTesting();
  // Runs the next round now (the master's in-sync set changed).
  void Wakeup() TH_EXCLUDES(thread_mu_);

 private:
  class Thread;
  Status AssignReplicaId();
  void Round();
  void Act(const std::vector<EtcdKeyValue>& kvs, int64_t lease_sent_ms);
  void Fence(const char* why);
  int64_t NowSteadyMs() const;

  EtcdControllerOptions options_;
  Hooks hooks_;
  std::string prefix_;
  std::unique_ptr<EtcdClient> etcd_;  // used by the round only
  // Start/Stop own it; Wakeup may come from any thread.
  Mutex thread_mu_;
  std::unique_ptr<Thread> thread_ TH_GUARDED_BY(thread_mu_);
  int64_t lease_ = 0;
  int64_t lease_ttl_ms_ = 0;  // as granted
  // The write deadline last handed to the store (steady clock ms).
  int64_t deadline_ms_ = 0;

  mutable Mutex mu_;
  int64_t replica_id_ TH_GUARDED_BY(mu_) = 0;
  int64_t registration_id_ TH_GUARDED_BY(mu_) = -1;
  int64_t acted_epoch_ TH_GUARDED_BY(mu_) = 0;
  std::string master_addr_ TH_GUARDED_BY(mu_);
  std::string master_ha_addr_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::ha
