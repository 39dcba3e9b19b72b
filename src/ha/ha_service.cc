#include "ha/ha_service.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <set>

#include "common/logging.h"
#include "common/service_thread.h"
#include "ha/auto_switch_protocol.h"
#include "ha/epoch_file.h"
#include "ha/ha_protocol.h"

namespace thruster::ha {

namespace {
constexpr int kAcceptPollMs = 500;
constexpr auto kIdleLook = std::chrono::milliseconds(100);
}  // namespace

// One slave's stream: `ha-read` takes its reports, `ha-write` sends it the
// CommitLog. Either thread ending (error, housekeeping, Stop) ends both.
class HaService::Connection {
 public:
  Connection(HaService* service, Socket socket, std::string peer)
      : service_(service), socket_(std::move(socket)), peer_(std::move(peer)) {}
  ~Connection() { Stop(); }

  void Start() {
    reader_ = std::thread([this] {
      SetCurrentThreadName("ha-read");
      ReadLoop();
      Close();
      // Only this thread registers the slave with the in-sync set, so it
      // also takes it out.
      if (const int64_t id = slave_id_.load(std::memory_order_acquire);
          id >= 0) {
        service_->sync_state_set_->OnDisconnected(id);
        service_->OnSyncStateSetChanged();
      }
      exited_.fetch_add(1, std::memory_order_acq_rel);
    });
    writer_ = std::thread([this] {
      SetCurrentThreadName("ha-write");
      WriteLoop();
      Close();
      exited_.fetch_add(1, std::memory_order_acq_rel);
    });
  }
  void Stop() {
    Close();
    if (reader_.joinable()) reader_.join();
    if (writer_.joinable()) writer_.join();
  }
  bool done() const { return exited_.load(std::memory_order_acquire) == 2; }
  SlaveInfo info() const {
    SlaveInfo s;
    s.address = peer_;
    s.ack_offset = ack_offset_.load(std::memory_order_acquire);
    s.slave_id = slave_id_.load(std::memory_order_acquire);
    return s;
  }

 private:
  bool stopped() const {
    return closed_.load(std::memory_order_acquire) ||
           service_->stopped_.load(std::memory_order_acquire);
  }
  void Close() {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    socket_.ShutdownBoth();
    service_->NotifyTransferSome();
    TH_LOG(ha, kInfo, "HA connection from slave {} closed", peer_);
  }
  void ReadLoop();
  void WriteLoop();
  // The slave's reports, by either stream's rules: the first fixes the
  // transfer start, each one is an ack. False: close the connection.
  bool OnReport(int64_t report);
  // Auto-switch stream (§7.8): the transfer header of [next, next + n), with n
  // cut at the end of the epoch holding `next`.
  AutoSwitchTransferHeader TransferHeader(int64_t next, size_t* n) const;

  HaService* service_;
  Socket socket_;
  const std::string peer_;
  std::atomic<bool> closed_{false};
  std::atomic<int> exited_{0};
  // Where the transfer starts, fixed by the slave's first report; -1 before.
  std::atomic<int64_t> transfer_from_{-1};
  std::atomic<int64_t> ack_offset_{-1};
  // Auto-switch: set by the reader once the slave handshake arrived.
  std::atomic<bool> handshake_received_{false};
  std::atomic<bool> sync_from_last_file_{false};
  // Auto-switch: the slave's controller id from its handshake; -1 before.
  std::atomic<int64_t> slave_id_{-1};
  std::thread reader_;
  std::thread writer_;
};

void HaService::Connection::ReadLoop() {
  const store::MessageStoreConfig& config = service_->store_->config();
  std::array<std::byte, 1024> buf;
  size_t have = 0;
  int64_t last_read_ns = service_->clock_->MonotonicNs();
  while (!stopped()) {
    Result<size_t> n =
        socket_.ReadSome(std::span(buf).subspan(have), kReadPollMs);
    if (!n.ok()) {
      if (!stopped())
        TH_LOG(ha, kInfo, "HA slave {}: {}", peer_, n.status().ToString());
      return;
    }
    const int64_t now = service_->clock_->MonotonicNs();
    if (*n == 0) {
      if (now - last_read_ns >
          int64_t{config.ha_housekeeping_interval} * 1000000) {
        TH_LOG(ha, kWarn,
               "HA slave {} sent no report for {} ms, closing the connection",
               peer_, config.ha_housekeeping_interval);
        return;
      }
      continue;
    }
    last_read_ns = now;
    have += *n;
    size_t consumed = 0;
    std::optional<int64_t> report;
    if (service_->epochs_ == nullptr) {
      report = LastCompleteReport(std::span(buf.data(), have), &consumed);
    } else {
      for (;;) {
        Result<std::optional<SlaveMessage>> m = DecodeSlaveMessage(
            std::span<const std::byte>(buf.data() + consumed, have - consumed));
        if (!m.ok()) {
          TH_LOG(ha, kError, "HA slave {}: {}", peer_, m.status().ToString());
          return;
        }
        if (!m->has_value()) break;
        consumed += (*m)->size;
        if ((*m)->state == HaState::kHandshake) {
          TH_LOG(ha, kInfo, "HA slave {} (controller id {}) handshake", peer_,
                 (*m)->handshake.slave_id);
          sync_from_last_file_.store((*m)->handshake.sync_from_last_file,
                                     std::memory_order_release);
          // Learners (asyncLearner) never join the in-sync set (§7.7).
          if (slave_id_.load(std::memory_order_acquire) < 0 &&
              !(*m)->handshake.async_learner) {
            slave_id_.store((*m)->handshake.slave_id,
                            std::memory_order_release);
            service_->sync_state_set_->OnConnected((*m)->handshake.slave_id);
          }
          handshake_received_.store(true, std::memory_order_release);
          service_->NotifyTransferSome();
        } else {
          report = (*m)->report;
        }
      }
    }
    std::memmove(buf.data(), buf.data() + consumed, have - consumed);
    have -= consumed;
    if (!report) continue;
    if (!OnReport(*report)) return;
  }
}

bool HaService::Connection::OnReport(int64_t report_value) {
  const std::optional<int64_t> report = report_value;
  {
    if (transfer_from_.load(std::memory_order_acquire) < 0) {
      // The start is fixed when the request arrives (§2.2): its offset, or
      // for an empty slave the start of the master's last segment now.
      const int64_t max = service_->store_->GetMaxPhyOffset();
      const int64_t file_size = service_->store_->commit_log().file_size();
      // Auto-switch (§7.8 step 4): an empty slave takes the whole log unless
      // it asked for the last file only.
      const bool whole_log =
          service_->epochs_ != nullptr &&
          !sync_from_last_file_.load(std::memory_order_acquire);
      const int64_t from =
          *report != 0 ? *report
          : whole_log
              ? std::max<int64_t>(0, service_->store_->GetMinPhyOffset())
              : max - max % file_size;
      transfer_from_.store(from, std::memory_order_release);
      TH_LOG(ha, kInfo,
             "HA slave {} asks for data from offset {}: transferring from {}",
             peer_, *report, from);
      service_->NotifyTransferSome();
    } else {
      const int64_t max =
          service_->store_->commit_log().queue().GetMaxWrotePosition();
      if (*report > max) {
        TH_LOG(ha, kError,
               "HA slave {} reports offset {} beyond this master's max {}: "
               "its log has diverged, closing the connection",
               peer_, *report, max);
        return false;
      }
    }
    ack_offset_.store(*report, std::memory_order_release);
    if (const int64_t id = slave_id_.load(std::memory_order_acquire); id >= 0)
      service_->sync_state_set_->OnAck(id, *report,
                                       service_->store_->GetMaxPhyOffset());
    service_->OnAck(*report);
  }
  return true;
}

AutoSwitchTransferHeader HaService::Connection::TransferHeader(
    int64_t next, size_t* n) const {
  store::MessageStore* store = service_->store_;
  const int64_t max = store->GetMaxPhyOffset();
  AutoSwitchTransferHeader h;
  h.offset = next;
  h.confirm_offset = service_->sync_state_set_->ConfirmOffset(max);
  std::optional<EpochEntry> e = service_->epochs_->FindByOffset(next, max);
  if (!e) {
    std::vector<EpochEntry> all = service_->epochs_->Entries(max);
    if (!all.empty()) e = all.front();
  }
  if (e) {
    h.epoch = e->epoch;
    h.epoch_start_offset = e->start_offset;
    // Never across an epoch end (the last epoch has none).
    std::optional<EpochEntry> last = service_->epochs_->LastEntry();
    if (last && last->epoch != e->epoch && e->end_offset > next)
      *n = std::min(*n, static_cast<size_t>(e->end_offset - next));
  }
  h.body_size = static_cast<int32_t>(*n);
  return h;
}

void HaService::Connection::WriteLoop() {
  store::MessageStore* store = service_->store_;
  const store::MessageStoreConfig& config = store->config();
  const int write_timeout_ms = config.ha_housekeeping_interval;
  std::array<std::byte, kTransferHeaderSize> header;
  const bool auto_switch = service_->epochs_ != nullptr;
  // Sends the header of [next, next + n) of either stream (n may shrink: an
  // auto-switch frame ends with its epoch).
  // The confirm offset of the last auto-switch header sent.
  int64_t sent_confirm = -1;
  auto write_header = [&](int64_t from, size_t* n) -> Status {
    if (!auto_switch) {
      EncodeTransferHeader(from, static_cast<int32_t>(*n), header);
      return socket_.WriteAll(header, write_timeout_ms);
    }
    const AutoSwitchTransferHeader th = TransferHeader(from, n);
    sent_confirm = th.confirm_offset;
    auto h = EncodeAutoSwitchTransferHeader(th);
    return socket_.WriteAll(h, write_timeout_ms);
  };
  int64_t next = -1;
  int64_t last_write_ns = 0;
  bool handshake_sent = false;
  while (!stopped()) {
    const uint64_t seen = service_->TransferEpoch();
    if (auto_switch && !handshake_sent) {
      if (!handshake_received_.load(std::memory_order_acquire)) {
        service_->WaitTransfer(seen);
        continue;
      }
      // §7.8 step 2: every epoch entry, with the max offset and last epoch.
      const int64_t max = store->GetMaxPhyOffset();
      std::vector<std::byte> hs =
          EncodeMasterHandshake(max, service_->epochs_->last_epoch(),
                                service_->epochs_->Entries(max));
      if (Status s = socket_.WriteAll(hs, write_timeout_ms); !s.ok()) {
        if (!stopped())
          TH_LOG(ha, kWarn, "HA slave {}: {}", peer_, s.ToString());
        return;
      }
      handshake_sent = true;
      last_write_ns = service_->clock_->MonotonicNs();
      continue;
    }
    if (next < 0) {
      next = transfer_from_.load(std::memory_order_acquire);
      if (next < 0) {  // no request yet
        service_->WaitTransfer(seen);
        continue;
      }
    }
    const int64_t min = store->GetMinPhyOffset();
    if (next < min) {
      TH_LOG(ha, kError,
             "HA slave {} needs offset {} but this master's log starts at {}: "
             "the slave must be emptied and started again",
             peer_, next, min);
      return;
    }
    std::optional<store::SelectResult> data =
        store->commit_log().GetData(store::PhysOffset{next});
    const int64_t now = service_->clock_->MonotonicNs();
    if (data && !data->bytes.empty()) {
      size_t n = std::min(data->bytes.size(),
                          static_cast<size_t>(config.ha_transfer_batch_size));
      if (const int64_t id = slave_id_.load(std::memory_order_acquire);
          id >= 0)
        service_->sync_state_set_->OnTransfer(id, store->GetMaxPhyOffset());
      Status s = write_header(next, &n);
      if (s.ok()) s = socket_.WriteAll(data->bytes.first(n), write_timeout_ms);
      if (!s.ok()) {
        if (!stopped())
          TH_LOG(ha, kWarn, "HA slave {}: {}", peer_, s.ToString());
        return;
      }
      next += static_cast<int64_t>(n);
      last_write_ns = now;
      continue;
    }
    // An empty frame also carries a confirm offset that moved since the last
    // frame, so a slave's dispatch (bounded by it) follows without waiting
    // for the heartbeat.
    const bool confirm_moved =
        auto_switch && service_->sync_state_set_->ConfirmOffset(
                           store->GetMaxPhyOffset()) != sent_confirm;
    if (confirm_moved ||
        now - last_write_ns >=
            int64_t{config.ha_send_heartbeat_interval} * 1000000) {
      size_t none = 0;
      if (Status s = write_header(next, &none); !s.ok()) {
        if (!stopped())
          TH_LOG(ha, kWarn, "HA slave {}: {}", peer_, s.ToString());
        return;
      }
      last_write_ns = now;
    }
    service_->WaitTransfer(seen);
  }
}

HaService::HaService(store::MessageStore* store, HaServiceOptions options,
                     const Clock* clock)
    : store_(store), options_(std::move(options)), clock_(clock) {
  if (options_.controller_mode) {
    const store::MessageStoreConfig& c = store_->config();
    SyncStateSetOptions o;
    o.max_time_not_catchup_ms = c.ha_max_time_slave_not_catchup;
    o.all_ack = c.all_ack_in_sync_state_set;
    o.in_sync_replicas = c.in_sync_replicas;
    o.min_in_sync_replicas = c.min_in_sync_replicas;
    sync_state_set_ = std::make_unique<SyncStateSet>(o, clock_);
  }
}

HaService::~HaService() { Shutdown(); }

Status HaService::Start() {
  TH_ASSIGN_OR_RETURN(listener_, Listen(options_.bind_address, options_.port));
  port_ = LocalPort(listener_);
  started_ = true;
  accept_thread_ = std::thread([this] {
    SetCurrentThreadName("ha-accept");
    AcceptLoop();
  });
  group_thread_ = std::thread([this] {
    SetCurrentThreadName("ha-group-xfer");
    GroupTransferLoop();
  });
  if (sync_state_set_ != nullptr) {
    sync_state_set_checker_ = std::make_unique<SyncStateSetChecker>(
        [this] { return CheckSyncStateSet(); },
        store_->config().ha_max_time_slave_not_catchup, clock_);
    sync_state_set_checker_->Start();
  }
  TH_LOG(ha, kInfo, "HA service listening on {}:{}", options_.bind_address,
         port_);
  return Status::OK();
}

void HaService::Shutdown() {
  if (!started_ || stopped_.exchange(true, std::memory_order_acq_rel)) return;
  if (sync_state_set_checker_ != nullptr) sync_state_set_checker_->Stop();
  // Wakes the accept thread's poll at once (a listening socket shut down
  // reads as ready and accept fails), rather than at its next timeout.
  if (listener_.valid()) ::shutdown(listener_.fd(), SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  listener_.Close();
  std::vector<std::unique_ptr<Connection>> conns;
  {
    MutexLock lock(&conns_mu_);
    conns.swap(conns_);
  }
  NotifyTransferSome();
  for (auto& c : conns) c->Stop();
  conns.clear();
  {
    MutexLock lock(&wait_mu_);
    wait_cv_.SignalAll();
  }
  if (group_thread_.joinable()) group_thread_.join();
}

int64_t HaService::CheckSyncStateSet() {
  // A slave's set is the one it kept from its last term as master (if any):
  // nothing to shrink, and its confirm offset is its master's.
  if (store_->broker_role() == store::BrokerRole::kSlave)
    return clock_->NowMs() + store_->config().ha_max_time_slave_not_catchup;
  if (sync_state_set_->ShrinkOnTimer(store_->GetMaxPhyOffset()))
    OnSyncStateSetChanged();
  return sync_state_set_->NextShrinkMs();
}

void HaService::AcceptLoop() {
  while (!stopped_.load(std::memory_order_acquire)) {
    std::string peer;
    Result<Socket> s = Accept(listener_, kAcceptPollMs, &peer);
    ReapClosed();
    if (stopped_.load(std::memory_order_acquire)) break;
    if (!s.ok()) {
      TH_LOG(ha, kWarn, "HA accept failed: {}", s.status().ToString());
      continue;
    }
    if (!s->valid()) continue;
    TH_LOG(ha, kInfo, "HA connection from slave {}", peer);
    auto conn = std::make_unique<Connection>(this, std::move(*s), peer);
    conn->Start();
    MutexLock lock(&conns_mu_);
    conns_.push_back(std::move(conn));
  }
}

void HaService::ReapClosed() {
  std::vector<std::unique_ptr<Connection>> closed;
  {
    MutexLock lock(&conns_mu_);
    auto it = std::partition(
        conns_.begin(), conns_.end(),
        [](const std::unique_ptr<Connection>& c) { return !c->done(); });
    std::move(it, conns_.end(), std::back_inserter(closed));
    conns_.erase(it, conns_.end());
  }
  for (auto& c : closed) c->Stop();
}

int HaService::connection_count() const {
  MutexLock lock(&conns_mu_);
  return static_cast<int>(std::count_if(
      conns_.begin(), conns_.end(),
      [](const std::unique_ptr<Connection>& c) { return !c->done(); }));
}

std::vector<SlaveInfo> HaService::Slaves() const {
  std::vector<SlaveInfo> out;
  MutexLock lock(&conns_mu_);
  for (const auto& c : conns_)
    if (!c->done()) out.push_back(c->info());
  return out;
}

HaRuntimeInfo HaService::RuntimeInfo(int64_t max_offset,
                                     int64_t max_gap_not_in_sync) const {
  HaRuntimeInfo info;
  info.slaves = Slaves();
  if (sync_state_set_ != nullptr) {
    // A slave's set is the one it kept from its last term as master, if any.
    if (store_->broker_role() == store::BrokerRole::kSlave) return info;
    const std::set<int64_t> members = sync_state_set_->local();
    for (SlaveInfo& s : info.slaves)
      s.in_sync = s.slave_id >= 0 && members.contains(s.slave_id);
    info.in_sync_slave_nums =
        std::max<int64_t>(0, static_cast<int64_t>(members.size()) - 1);
    return info;
  }
  for (SlaveInfo& s : info.slaves) {
    // Before its first report a slave's position is unknown: not in sync.
    s.in_sync =
        s.ack_offset >= 0 && max_offset - s.ack_offset < max_gap_not_in_sync;
    if (s.in_sync) ++info.in_sync_slave_nums;
  }
  return info;
}

uint64_t HaService::TransferEpoch() {
  MutexLock lock(&transfer_mu_);
  return transfer_epoch_;
}

void HaService::WaitTransfer(uint64_t seen) {
  MutexLock lock(&transfer_mu_);
  if (transfer_epoch_ != seen || stopped_.load(std::memory_order_acquire))
    return;
  transfer_cv_.WaitFor(&transfer_mu_, kIdleLook);
}

void HaService::NotifyTransferSome() {
  {
    MutexLock lock(&transfer_mu_);
    ++transfer_epoch_;
  }
  transfer_cv_.SignalAll();
}

void HaService::OnAck(int64_t offset) {
  int64_t cur = push_to_slave_max_offset_.load(std::memory_order_acquire);
  bool raised = false;
  while (offset > cur) {
    if (push_to_slave_max_offset_.compare_exchange_weak(
            cur, offset, std::memory_order_acq_rel)) {
      raised = true;
      break;
    }
  }
  // In controller mode every slave's ack counts, not only the best one's,
  // and a confirm offset it moved goes to the slaves at once.
  if (sync_state_set_ != nullptr) {
    UpdateReplicaConfirmOffset();
    raised = true;
    if (store_->config().all_ack_in_sync_state_set) NotifyTransferSome();
  }
  if (!raised) return;
  {
    MutexLock lock(&wait_mu_);
    changed_ = true;
  }
  wait_cv_.SignalAll();
}

void HaService::UpdateReplicaConfirmOffset() {
  if (sync_state_set_ == nullptr || !store_->config().all_ack_in_sync_state_set)
    return;
  store_->commit_log().set_replica_confirm_offset(
      sync_state_set_->NeedsAcks()
          ? sync_state_set_->ConfirmOffset(store_->GetMaxPhyOffset())
          : -1);
}

void HaService::OnSyncStateSetChanged() {
  UpdateReplicaConfirmOffset();
  NotifyTransferSome();
  {
    MutexLock lock(&wait_mu_);
    changed_ = true;
  }
  wait_cv_.SignalAll();
}

bool HaService::Covered(int64_t end) const {
  return sync_state_set_ != nullptr ? sync_state_set_->Covered(end)
                                    : push_to_slave_max_offset() >= end;
}

bool HaService::RefusePut(store::PutResult* refusal) const {
  if (sync_state_set_ == nullptr || sync_state_set_->EnoughReplicas())
    return false;
  refusal->status = store::PutStatus::kInSyncReplicasNotEnough;
  refusal->error = "in-sync replicas not enough";
  return true;
}

void HaService::AwaitReplica(int64_t end, store::PutResult result,
                             std::function<void(store::PutResult)> done) {
  if (sync_state_set_ != nullptr) {
    // Controller mode (§4.2, §7.7): no SLAVE_NOT_AVAILABLE; a put that needs
    // no other copy does not wait.
    if (!sync_state_set_->NeedsAcks() || sync_state_set_->Covered(end))
      return done(std::move(result));
  } else {
    const int64_t best = push_to_slave_max_offset();
    const int64_t max_gap = store_->config().ha_max_gap_not_in_sync;
    if (stopped_.load(std::memory_order_acquire) || connection_count() == 0 ||
        end - best >= max_gap) {
      result.status = store::PutStatus::kSlaveNotAvailable;
      result.error =
          "no slave is connected, or the best one is too far behind";
      return done(std::move(result));
    }
    if (best >= end) return done(std::move(result));
  }
  const int64_t deadline =
      clock_->MonotonicNs() + int64_t{store_->config().slave_timeout} * 1000000;
  bool queued = false;
  bool first = false;
  {
    MutexLock lock(&wait_mu_);
    // Acks wake `ha-group-xfer`, and each wake-up completes every waiter the
    // ack covers (group commit); a new request wakes it only when the list was
    // empty (it then sleeps without a deadline to watch). No ack is missed:
    // one that raised the max before this point is read here; a later one
    // takes wait_mu_ after the push, then signals.
    if (!Covered(end)) {
      first = waits_.empty();
      waits_.push_back(
          WaitRequest{end, deadline, std::move(result), std::move(done)});
      queued = true;
      if (first) changed_ = true;
    }
  }
  if (!queued) return done(std::move(result));
  if (first) wait_cv_.SignalAll();
  NotifyTransferSome();
}

void HaService::GroupTransferLoop() {
  std::vector<WaitRequest> finished;
  for (;;) {
    bool stopping = false;
    {
      MutexLock lock(&wait_mu_);
      for (;;) {
        stopping = stopped_.load(std::memory_order_acquire);
        const int64_t now = clock_->MonotonicNs();
        int64_t earliest = now + 1000000000;
        // Requests are in append order, but deadlines and offsets are checked
        // one by one (a batch may end past a later single).
        // One pass: O(waiters) per wake-up, however many it completes.
        std::deque<WaitRequest> remaining;
        for (WaitRequest& w : waits_) {
          if (Covered(w.next_offset)) {
            finished.push_back(std::move(w));
          } else if (now >= w.deadline_ns || stopping) {
            w.result.status = store::PutStatus::kFlushSlaveTimeout;
            w.result.error = stopping
                                 ? "HA service is shutting down"
                                 : "no slave confirmed it within slaveTimeout";
            finished.push_back(std::move(w));
          } else {
            earliest = std::min(earliest, w.deadline_ns);
            remaining.push_back(std::move(w));
          }
        }
        waits_.swap(remaining);
        if (!finished.empty() || stopping) break;
        // One wake-up per ack serves every waiter.
        changed_ = false;
        const int64_t wait_ns = std::max<int64_t>(earliest - now, 1000000);
        while (!changed_ && !stopped_.load(std::memory_order_acquire)) {
          if (wait_cv_.WaitFor(&wait_mu_, std::chrono::nanoseconds(wait_ns)) ==
              std::cv_status::timeout)
            break;
        }
      }
    }
    for (WaitRequest& w : finished) w.done(std::move(w.result));
    finished.clear();
    if (stopping) return;
  }
}

}  // namespace thruster::ha
