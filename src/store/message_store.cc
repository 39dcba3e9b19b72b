#include "store/message_store.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>

#include "common/coding.h"
#include "common/logging.h"
#include "message/properties.h"
#include "store/cleaner.h"
#include "store/consume_queue_format.h"
#include "store/delay_level_table.h"
#include "store/flush_consume_queue_service.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
using message::MessageToStore;
using message::TagsCode;
namespace prop = message::prop;
using message::CheckRecord;
using message::DecodedRecord;
using message::FindProperty;
using message::kMagicV1;
using message::kMagicV2;
using message::kSysFlagPos;
using message::RecordCheck;
using message::RecordStatus;
using message::StoreTimestampPos;

std::string_view GetMessageStatusName(GetMessageStatus s) {
  switch (s) {
    case GetMessageStatus::kFound:
      return "FOUND";
    case GetMessageStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetMessageStatus::kMessageWasRemoving:
      return "MESSAGE_WAS_REMOVING";
    case GetMessageStatus::kOffsetFoundNull:
      return "OFFSET_FOUND_NULL";
    case GetMessageStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
    case GetMessageStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetMessageStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetMessageStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
    case GetMessageStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
  }
  return "UNKNOWN";
}

bool TagFilter::Matches(int64_t tags_code) const {
  if (codes.empty()) return true;
  return std::find(codes.begin(), codes.end(), tags_code) != codes.end();
}

namespace {

int64_t TotalRamBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t{24} << 30;
  return static_cast<int64_t>(pages) * page;
}

// STORETIMESTAMP of the record at the start of `rec` (spec §12.4
// pickupStoreTimestamp; by the record's own sysflag, §16 item 10).
int64_t PickupStoreTimestamp(std::span<const std::byte> rec) {
  if (rec.size() < static_cast<size_t>(kSysFlagPos) + sizeof(int32_t))
    return -1;
  int32_t sys_flag = LoadI32(rec.data() + kSysFlagPos);
  size_t pos = static_cast<size_t>(StoreTimestampPos(sys_flag));
  if (pos + sizeof(int64_t) > rec.size()) return -1;
  return LoadI64(rec.data() + pos);
}

}  // namespace

MessageStore::MessageStore(io::FileSystem* fs, MessageStoreConfig config,
                           const Clock* clock)
    : fs_(fs),
      config_(std::move(config)),
      clock_(clock),
      role_(config_.broker_role) {}

MessageStore::~MessageStore() { Shutdown(); }

Status MessageStore::Load() {
  const int64_t t0 = clock_->MonotonicNs();
  TH_RETURN_IF_ERROR(fs_->CreateDirs(config_.store_path_root_dir));
  // The lock comes first (spec §16 item 9): recovery must never run beside
  // another broker.
  TH_ASSIGN_OR_RETURN(lock_, fs_->LockFile(config_.LockPath()));
  bool last_exit_ok = !fs_->Exists(config_.AbortPath());
  recovery_.last_exit_ok = last_exit_ok;
  TH_ASSIGN_OR_RETURN(checkpoint_,
                      Checkpoint::Open(fs_, config_.CheckpointPath()));
  loaded_confirm_offset_ = checkpoint_->Get().confirm_phy_offset;
  commit_log_ =
      std::make_unique<CommitLog>(fs_, config_, checkpoint_.get(), clock_);
  commit_log_->set_broker_role(broker_role());
  TH_RETURN_IF_ERROR(commit_log_->Load());
  queues_ = std::make_unique<ConsumeQueueStore>(fs_, config_);
  TH_RETURN_IF_ERROR(queues_->Load());
  IndexServiceOptions io;
  io.max_hash_slot_num = config_.max_hash_slot_num;
  io.max_index_num = config_.max_index_num;
  io.max_msgs_num_batch = config_.max_msgs_num_batch;
  index_ = std::make_unique<IndexService>(fs_, config_.IndexDir(), clock_, io);
  TH_RETURN_IF_ERROR(
      index_->Load(last_exit_ok, checkpoint_->index_msg_timestamp()));
  reput_ = std::make_unique<ReputService>(commit_log_.get(), queues_.get(),
                                          index_.get(), config_, clock_);
  flush_cq_service_ = std::make_unique<FlushConsumeQueueService>(
      queues_.get(), index_.get(), checkpoint_.get(), reput_.get(), config_,
      clock_);
  cleaner_ = std::make_unique<Cleaner>(fs_, commit_log_.get(), queues_.get(),
                                       index_.get(), config_, clock_,
                                       flush_cq_service_.get());

  TH_RETURN_IF_ERROR(Recover(last_exit_ok));
  recovery_.seconds = static_cast<double>(clock_->MonotonicNs() - t0) / 1e9;
  TH_LOG(
      store, kInfo,
      "store loaded from {} in {:.3f} s: {} consume queues, commitlog [{}, {})",
      config_.store_path_root_dir, recovery_.seconds, recovery_.consume_queues,
      commit_log_->GetMinOffset(), commit_log_->GetMaxOffset());
  loaded_ = true;
  return Status::OK();
}

Status MessageStore::Recover(bool last_exit_ok) {
  Recovery recovery(commit_log_.get(), checkpoint_.get(), config_, clock_);
  recovery.set_index_rebuild_from(index_->rebuild_from_timestamp());
  // Consume queues first: their max phys offset tells the CommitLog what is
  // already dispatched.
  std::vector<std::shared_ptr<ConsumeQueue>> queues = queues_->All();
  TH_ASSIGN_OR_RETURN(int64_t cq_max_phy,
                      recovery.RecoverConsumeQueues(queues));
  recovery_.consume_queues = static_cast<int>(queues.size());
  if (commit_log_->queue().empty()) {
    // No CommitLog: nothing the queues or the index point at exists.
    TH_RETURN_IF_ERROR(queues_->DestroyAll());
    TH_RETURN_IF_ERROR(index_->DestroyAll());
  }
  // Records at or after cq_max_phy are dispatched again (spec §16 item 1: ">=",
  // idempotent); after an abnormal stop every scanned record is.
  Status dispatch_error;
  auto rs = recovery.RecoverCommitLog(
      last_exit_ok, std::max<int64_t>(cq_max_phy, 0),
      [&](const DecodedRecord& rec, int64_t phys, int32_t size) {
        Status st = reput_->Dispatch(rec, phys, size);
        if (!st.ok() && dispatch_error.ok()) dispatch_error = st;
      });
  if (!rs.ok()) return rs.status();
  TH_RETURN_IF_ERROR(dispatch_error);
  recovery_.commit_log = *rs;
  int64_t process_offset = rs->process_offset;
  TH_RETURN_IF_ERROR(recovery.FixConsumeQueues(queues_->All(), process_offset,
                                               commit_log_->GetMinOffset()));
  reput_->set_reput_from_offset(process_offset);
  return Status::OK();
}

Status MessageStore::Start() {
  if (!loaded_)
    return Status::InvalidArgument(
        "MessageStore::Start before a successful Load");
  if (started_) return Status::OK();
  commit_log_->SetDropFloor(reput_->reput_from_offset_floor());
  TH_RETURN_IF_ERROR(commit_log_->Start());
  reput_->Start();
  flush_cq_service_->Start();
  cleaner_->Start();
  // `abort` last: from here on an unclean stop must trigger abnormal recovery.
  TH_RETURN_IF_ERROR(
      fs_->WriteFile(config_.AbortPath(), std::to_string(::getpid())));
  TH_RETURN_IF_ERROR(fs_->SyncDir(config_.store_path_root_dir));
  started_ = true;
  return Status::OK();
}

void MessageStore::Shutdown() {
  if (shut_down_ || !loaded_) return;
  shut_down_ = true;
  cleaner_->Stop();
  commit_log_->Shutdown();  // final flush (and commit)
  reput_->Stop();           // drains what the CommitLog holds
  flush_cq_service_->Stop();
  Status st = flush_cq_service_->FlushAllAndCheckpoint();
  if (!st.ok())
    TH_LOG(store, kError, "shutdown flush failed: {}", st.ToString());
  bool clean =
      st.ok() && commit_log_->writeable() && dispatch_behind_bytes() <= 0;
  // Also after Load() alone (offline `thruster store recover`): recovery left a
  // consistent, flushed store.
  if (clean && fs_->Exists(config_.AbortPath())) {
    Status rm = fs_->Remove(config_.AbortPath());
    if (rm.ok()) rm = fs_->SyncDir(config_.store_path_root_dir);
    if (!rm.ok() && !rm.IsNotFound())
      TH_LOG(store, kError, "removing abort: {}", rm.ToString());
  } else if (!clean) {
    TH_LOG(store, kWarn,
           "leaving {} in place: the next start recovers abnormally",
           config_.AbortPath());
  }
  lock_.reset();
  TH_LOG(store, kInfo, "store shut down");
}

void MessageStore::SetMessageArrivingListener(
    MessageArrivingListener listener) {
  reput_->SetMessageArrivingListener(std::move(listener));
}

int64_t MessageStore::dispatch_behind_bytes() const {
  return reput_->dispatch_behind_bytes();
}

bool MessageStore::WaitForDispatch(int64_t timeout_ms) const {
  return reput_->WaitForDispatch(timeout_ms);
}

namespace {
PutResult DiskFullResult() {
  PutResult r;
  r.status = PutStatus::kServiceNotAvailable;
  r.error = "disk full: the store refuses writes until retention frees space";
  return r;
}
}  // namespace

bool MessageStore::disk_full() const { return cleaner_->disk_full(); }

bool MessageStore::write_fenced() const {
  const int64_t deadline = write_deadline_ms_.load(std::memory_order_acquire);
  if (deadline == INT64_MAX) return false;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  return now >= deadline;
}

namespace {
PutResult FencedPutResult() {
  PutResult r;
  r.status = PutStatus::kServiceNotAvailable;
  r.error = "broker is fenced: its controller lease is not confirmed";
  return r;
}
}  // namespace

void MessageStore::set_broker_role(BrokerRole role) {
  role_.store(role, std::memory_order_release);
  if (commit_log_ != nullptr) commit_log_->set_broker_role(role);
}

bool MessageStore::RefusedAsSlave(PutResult* refusal) const {
  if (broker_role() != BrokerRole::kSlave) {
    if (!write_fenced()) return false;
    *refusal = FencedPutResult();
    return true;
  }
  refusal->status = PutStatus::kServiceNotAvailable;
  refusal->error = "message store is in slave mode, so puts are forbidden";
  return true;
}

namespace {
// WAIT absent or "true" (case-insensitive), as RocketMQ's isWaitStoreMsgOK.
bool WaitsForStore(const MessageToStore& msg) {
  auto wait = message::FindProperty(msg.properties, message::prop::kWait);
  if (!wait) return true;
  std::string v(*wait);
  for (auto& c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true";
}
}  // namespace

bool MessageStore::RefusedByReplicas(const MessageToStore& msg,
                                     PutResult* refusal) const {
  ReplicaWaiter* waiter = replica_waiter_.load(std::memory_order_acquire);
  return waiter != nullptr && broker_role() == BrokerRole::kSyncMaster &&
         WaitsForStore(msg) && waiter->RefusePut(refusal);
}

void MessageStore::AfterPut(bool waits, PutResult result,
                            std::function<void(PutResult)> done) {
  ReplicaWaiter* waiter = replica_waiter_.load(std::memory_order_acquire);
  const bool stored = result.ok() ||
                      result.status == PutStatus::kFlushDiskTimeout;
  if (stored && write_fenced()) return done(FencedPutResult());
  if (waiter == nullptr || !stored ||
      broker_role() != BrokerRole::kSyncMaster || !waits) {
    return done(std::move(result));
  }
  const int64_t end = result.phys_offset + result.wrote_bytes;
  if (write_deadline_ms_.load(std::memory_order_acquire) == INT64_MAX)
    return waiter->AwaitReplica(end, std::move(result), std::move(done));
  // Fencing: the replica's ack may come after the deadline.
  waiter->AwaitReplica(
      end, std::move(result),
      [this, done = std::move(done)](PutResult r) {
        if (write_fenced()) r = FencedPutResult();
        done(std::move(r));
      });
}

PutResult MessageStore::AfterPutBlocking(const MessageToStore& msg,
                                         PutResult result) {
  if (replica_waiter_.load(std::memory_order_acquire) == nullptr ||
      broker_role() != BrokerRole::kSyncMaster)
    return (result.ok() && write_fenced()) ? FencedPutResult()
                                           : std::move(result);
  std::promise<PutResult> p;
  std::future<PutResult> f = p.get_future();
  AfterPut(WaitsForStore(msg), std::move(result),
           [&p](PutResult r) { p.set_value(std::move(r)); });
  return f.get();
}

PutResult MessageStore::PutMessage(const MessageToStore& msg) {
  if (disk_full()) return DiskFullResult();
  PutResult refusal;
  if (RefusedAsSlave(&refusal) || RefusedByReplicas(msg, &refusal))
    return refusal;
  return AfterPutBlocking(msg, commit_log_->PutMessage(msg));
}

void MessageStore::AsyncPutMessage(const MessageToStore& msg,
                                   std::function<void(PutResult)> done) {
  if (disk_full()) return done(DiskFullResult());
  PutResult refusal;
  if (RefusedAsSlave(&refusal) || RefusedByReplicas(msg, &refusal))
    return done(std::move(refusal));
  if (replica_waiter_.load(std::memory_order_acquire) == nullptr)
    return commit_log_->AsyncPutMessage(msg, std::move(done));
  commit_log_->AsyncPutMessage(
      msg, [this, waits = WaitsForStore(msg),
            done = std::move(done)](PutResult r) mutable {
        AfterPut(waits, std::move(r), std::move(done));
      });
}

PutResult MessageStore::PutMessages(const MessageToStore& batch) {
  if (disk_full()) return DiskFullResult();
  PutResult refusal;
  if (RefusedAsSlave(&refusal) || RefusedByReplicas(batch, &refusal))
    return refusal;
  return AfterPutBlocking(batch, commit_log_->PutMessages(batch));
}

void MessageStore::AsyncPutMessages(const MessageToStore& batch,
                                    std::function<void(PutResult)> done) {
  if (disk_full()) return done(DiskFullResult());
  PutResult refusal;
  if (RefusedAsSlave(&refusal) || RefusedByReplicas(batch, &refusal))
    return done(std::move(refusal));
  if (replica_waiter_.load(std::memory_order_acquire) == nullptr)
    return commit_log_->AsyncPutMessages(batch, std::move(done));
  commit_log_->AsyncPutMessages(
      batch, [this, waits = WaitsForStore(batch),
            done = std::move(done)](PutResult r) mutable {
        AfterPut(waits, std::move(r), std::move(done));
      });
}

Status MessageStore::AppendToCommitLog(int64_t offset,
                                       std::span<const std::byte> data) {
  if (broker_role() != BrokerRole::kSlave)
    return Status::InvalidArgument("only a slave appends replicated bytes");
  return commit_log_->AppendData(offset, data);
}

Result<int64_t> MessageStore::TruncateTo(int64_t offset) {
  if (!loaded_) return Status::InvalidArgument("TruncateTo before Load");
  // Everything written is committed and durable before the cut, so the
  // confirm offset is the max offset and nothing is pending in a pool buffer.
  TH_RETURN_IF_ERROR(commit_log_->FlushAll());
  return reput_->CutBack(offset, [this](int64_t cut) -> Status {
    TH_RETURN_IF_ERROR(commit_log_->TruncateTo(cut));
    for (const std::shared_ptr<ConsumeQueue>& cq : queues_->All()) {
      if (cq->max_phys_offset() > cut)
        TH_RETURN_IF_ERROR(cq->TruncateDirtyLogicFiles(PhysOffset{cut}));
      commit_log_->SetQueueOffset(cq->topic(), cq->queue_id(),
                                  QueueOffset{cq->GetMaxOffsetInQueue()});
    }
    TH_RETURN_IF_ERROR(index_->TruncateFrom(cut));
    if (checkpoint_->Get().confirm_phy_offset > cut) {
      checkpoint_->set_confirm_phy_offset(cut);
      TH_RETURN_IF_ERROR(checkpoint_->Flush());
    }
    return Status::OK();
  });
}

Status MessageStore::KeepConfirmOffset() {
  if (!loaded_) return Status::InvalidArgument("KeepConfirmOffset before Load");
  if (confirm_offset_kept_) return Status::OK();
  confirm_offset_kept_ = true;
  flush_cq_service_->set_keep_confirm_offset(true);
  if (loaded_confirm_offset_ <= 0) return Status::OK();
  const int64_t max = commit_log_->GetMaxOffset();
  const int64_t kept =
      std::clamp(loaded_confirm_offset_, commit_log_->GetMinOffset(), max);
  commit_log_->set_replica_confirm_offset(kept);
  const int64_t resume = reput_->RecordBoundaryAtOrBefore(kept);
  Result<int64_t> resumed =
      reput_->CutBack(resume, [this](int64_t cut) -> Status {
        for (const std::shared_ptr<ConsumeQueue>& cq : queues_->All()) {
          if (cq->max_phys_offset() > cut)
            TH_RETURN_IF_ERROR(cq->TruncateDirtyLogicFiles(PhysOffset{cut}));
        }
        return index_->TruncateFrom(cut);
      });
  if (!resumed.ok()) return resumed.status();
  TH_LOG(store, kInfo,
         "dispatch waits at the checkpoint's confirm offset {} (CommitLog "
         "ends at {}) until replication confirms more",
         kept, max);
  return Status::OK();
}

GetMessageResult MessageStore::GetMessage(
    std::string_view, std::string_view topic, int32_t queue_id, int64_t offset,
    int32_t max_msgs, int64_t max_total_bytes, const TagFilter* filter) {
  GetMessageResult r;
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) {
    r.status = GetMessageStatus::kNoMatchedLogicQueue;
    return r;
  }
  int64_t min = cq->GetMinOffsetInQueue();
  int64_t max = cq->GetMaxOffsetInQueue();
  r.min_offset = min;
  r.max_offset = max;
  if (max == 0) {
    r.status = GetMessageStatus::kNoMessageInQueue;
    return r;
  }
  if (offset < min) {
    r.status = GetMessageStatus::kOffsetTooSmall;
    r.next_begin_offset = min;
    return r;
  }
  if (offset == max) {
    r.status = GetMessageStatus::kOffsetOverflowOne;
    r.next_begin_offset = offset;
    return r;
  }
  if (offset > max) {
    r.status = GetMessageStatus::kOffsetOverflowBadly;
    r.next_begin_offset = max;
    return r;
  }
  auto units = cq->GetIndexBuffer(QueueOffset{offset});
  if (!units) {
    int64_t per_file =
        cq->file_size() / static_cast<int64_t>(cq_format::kEntrySize);
    r.status = GetMessageStatus::kOffsetFoundNull;
    r.next_begin_offset = offset + per_file - offset % per_file;
    return r;
  }
  static const int64_t kMemoryBytes = TotalRamBytes();
  const int64_t max_pull =
      std::clamp<int64_t>(max_total_bytes, 100, int64_t{128} << 20);
  const int64_t max_phy = commit_log_->GetMaxOffset();
  const int64_t in_memory_limit =
      kMemoryBytes * config_.access_message_in_memory_max_ratio / 100;
  const size_t scan_limit = static_cast<size_t>(std::max<int64_t>(
      config_.max_filter_message_size, int64_t{max_msgs} * 20));
  r.status = GetMessageStatus::kNoMatchedMessage;
  r.next_begin_offset = offset;
  int64_t removed_segment_end =
      -1;  // skip units pointing into a segment already deleted
  std::shared_ptr<MappedFile> seg;
  auto bytes = units->bytes;
  for (size_t pos = 0;
       pos + cq_format::kEntrySize <= bytes.size() && pos < scan_limit;
       pos += cq_format::kEntrySize) {
    int64_t phys = LoadI64(bytes.data() + pos + cq_format::kPhysOffsetPos);
    int32_t size = LoadI32(bytes.data() + pos + cq_format::kSizePos);
    int64_t tags_code = LoadI64(bytes.data() + pos + cq_format::kTagsCodePos);
    int64_t unit_offset =
        offset + static_cast<int64_t>(pos / cq_format::kEntrySize);
    bool in_memory = max_phy - phys <= in_memory_limit;
    if (!r.messages.empty()) {
      int64_t count = static_cast<int64_t>(r.messages.size());
      if (count + 1 > max_msgs || r.buffer_total_size + size > max_pull) break;
      if (in_memory
              ? (r.buffer_total_size + size >
                     config_.max_transfer_bytes_on_message_in_memory ||
                 count >= config_.max_transfer_count_on_message_in_memory)
              : (r.buffer_total_size + size >
                     config_.max_transfer_bytes_on_message_in_disk ||
                 count >= config_.max_transfer_count_on_message_in_disk)) {
        break;
      }
    }
    r.next_begin_offset = unit_offset + 1;
    if (phys < 0 || size <= 0 ||
        (phys == 0 && size == cq_format::kPreBlankSize))
      continue;  // filler
    if (phys < removed_segment_end) continue;
    if (filter != nullptr && !filter->Matches(tags_code)) continue;
    // Consecutive units mostly point into the same segment: look it up once.
    if (seg == nullptr || phys < seg->base_offset() ||
        phys >= seg->base_offset() + seg->file_size()) {
      seg = commit_log_->queue().FindMappedFileByOffset(phys);
    }
    std::optional<SelectResult> msg;
    if (seg != nullptr)
      msg = seg->Select(static_cast<int32_t>(phys - seg->base_offset()), size);
    if (!msg) {
      if (r.messages.empty()) r.status = GetMessageStatus::kMessageWasRemoving;
      removed_segment_end = commit_log_->RollNextFile(phys);
      continue;
    }
    r.buffer_total_size += size;
    r.messages.push_back(std::move(*msg));
    r.status = GetMessageStatus::kFound;
  }
  r.suggest_pulling_from_slave =
      max_phy -
          (r.messages.empty() ? max_phy : r.messages.back().start_offset) >
      in_memory_limit;
  return r;
}

int64_t MessageStore::GetMaxOffsetInQueue(std::string_view topic,
                                          int32_t queue_id) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  return cq == nullptr ? 0 : cq->GetMaxOffsetInQueue();
}

int64_t MessageStore::GetMinOffsetInQueue(std::string_view topic,
                                          int32_t queue_id) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  return cq == nullptr ? 0 : cq->GetMinOffsetInQueue();
}

int64_t MessageStore::GetCommitLogOffsetInQueue(std::string_view topic,
                                                int32_t queue_id,
                                                int64_t queue_offset) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return 0;
  auto e = cq->GetEntry(QueueOffset{queue_offset});
  return e && cq_format::IsValid(*e) ? e->phys_offset : 0;
}

std::optional<cq_format::Entry> MessageStore::GetQueueEntry(
    std::string_view topic, int32_t queue_id, int64_t queue_offset) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return std::nullopt;
  auto e = cq->GetEntry(QueueOffset{queue_offset});
  if (!e || !cq_format::IsValid(*e)) return std::nullopt;
  return e;
}

int64_t MessageStore::GetOffsetInQueueByTime(std::string_view topic,
                                             int32_t queue_id,
                                             int64_t timestamp,
                                             BoundaryType boundary) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return 0;
  return cq->GetOffsetInQueueByTime(
      timestamp, boundary, commit_log_->GetMinOffset(),
      [this](int64_t phys, int32_t size) -> int64_t {
        auto m = commit_log_->GetMessage(PhysOffset{phys}, size);
        return m ? PickupStoreTimestamp(m->bytes) : -1;
      });
}

int64_t MessageStore::GetMessageStoreTimestamp(std::string_view topic,
                                               int32_t queue_id,
                                               int64_t queue_offset) const {
  std::shared_ptr<ConsumeQueue> cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return -1;
  auto e = cq->GetEntry(QueueOffset{queue_offset});
  if (!e || !cq_format::IsValid(*e) || cq_format::IsPreBlank(*e)) return -1;
  auto m = commit_log_->GetMessage(PhysOffset{e->phys_offset}, e->size);
  return m ? PickupStoreTimestamp(m->bytes) : -1;
}

int64_t MessageStore::GetEarliestMessageTime(std::string_view topic,
                                             int32_t queue_id) const {
  return GetMessageStoreTimestamp(topic, queue_id,
                                  GetMinOffsetInQueue(topic, queue_id));
}

int64_t MessageStore::GetEarliestMessageTime() const {
  std::optional<SelectResult> first = LookMessageByOffset(GetMinPhyOffset());
  if (!first) return -1;
  RecordCheck c = CheckRecord(first->bytes, false);
  return c.status == RecordStatus::kOk ? c.record.store_timestamp : -1;
}

std::optional<SelectResult> MessageStore::LookMessageByOffset(
    int64_t phys) const {
  auto head = commit_log_->GetMessage(PhysOffset{phys}, 8);
  if (!head) return std::nullopt;
  int32_t size = LoadI32(head->bytes.data());
  int32_t magic = LoadI32(head->bytes.data() + 4);
  if (size <= 0 || (magic != kMagicV1 && magic != kMagicV2))
    return std::nullopt;
  return commit_log_->GetMessage(PhysOffset{phys}, size);
}

QueryMessageResult MessageStore::QueryMessage(std::string_view topic,
                                              std::string_view key,
                                              int32_t max_num, int64_t begin,
                                              int64_t end) const {
  QueryMessageResult r;
  int64_t last_end = end;
  for (int round = 0; round < 3; ++round) {
    QueryOffsetResult q =
        index_->QueryOffsets(topic, key, max_num, begin, last_end);
    r.index_last_update_timestamp = q.index_last_update_timestamp;
    r.index_last_update_phys_offset = q.index_last_update_phys_offset;
    if (q.phys_offsets.empty()) break;
    std::sort(q.phys_offsets.begin(), q.phys_offsets.end());
    bool first = true;
    for (int64_t phys : q.phys_offsets) {
      auto m = LookMessageByOffset(phys);
      if (!m) continue;
      RecordCheck c = CheckRecord(m->bytes, false);
      if (c.status != RecordStatus::kOk) continue;
      if (first) {
        last_end = c.record.store_timestamp;
        first = false;
      }
      // The index holds hashes only: keep a candidate only if it really carries
      // the key (spec §16 item 6).
      if (c.record.topic != topic || !MessageHasKey(c.record.properties, key))
        continue;
      if (c.record.store_timestamp < begin || c.record.store_timestamp > end)
        continue;
      r.buffer_total_size += m->bytes.size();
      r.messages.push_back(std::move(*m));
    }
    if (!r.messages.empty() || last_end < begin) break;
  }
  return r;
}

std::vector<std::pair<std::string, int32_t>> MessageStore::ListQueues() const {
  return queues_->ListQueues();
}

Status MessageStore::DeleteTopic(std::string_view topic) {
  TH_RETURN_IF_ERROR(queues_->DeleteTopic(topic));
  commit_log_->RemoveQueueOffsets(topic);
  return Status::OK();
}

Result<std::vector<MessageStore::ExpiredConsumeQueue>>
MessageStore::CleanExpiredConsumeQueues() {
  const int64_t min_phys = commit_log_->GetMinOffset();
  std::vector<ExpiredConsumeQueue> removed;
  for (const auto& [topic, queue_id] : queues_->ListQueues()) {
    if (topic == kScheduleTopic) continue;
    std::shared_ptr<ConsumeQueue> cq =
        queues_->FindConsumeQueue(topic, queue_id);
    if (cq == nullptr) continue;
    std::optional<cq_format::Entry> last = cq->GetLastEntry();
    if (!last) continue;  // empty: maybe created just now
    // An entry covers [phys, phys + size): all of it is gone when its end is
    // at or below the min offset.
    const int64_t end = last->phys_offset + last->size;
    if (end > min_phys) continue;
    TH_LOG(store, kInfo,
           "cleanExpiredConsumerQueue: {} {} consume queue destroyed, "
           "minCommitLogOffset {} maxCLOffsetInConsumeQueue {}",
           topic, queue_id, min_phys, end);
    commit_log_->RemoveQueueOffset(topic, queue_id);
    TH_RETURN_IF_ERROR(queues_->RemoveQueue(topic, queue_id));
    removed.push_back({topic, queue_id, end, min_phys});
  }
  return removed;
}

std::map<std::string, std::string> MessageStore::RuntimeInfo() const {
  std::map<std::string, std::string> m;
  m["commitLogMinOffset"] = std::to_string(commit_log_->GetMinOffset());
  m["commitLogMaxOffset"] = std::to_string(commit_log_->GetMaxOffset());
  m["commitLogFlushedOffset"] = std::to_string(commit_log_->flushed_where());
  m["dispatchBehindBytes"] = std::to_string(dispatch_behind_bytes());
  m["storeWriteable"] =
      commit_log_->writeable() && !disk_full() ? "true" : "false";
  m["consumeQueueCount"] = std::to_string(ListQueues().size());
  m["checkpointPhysicMsgTimestamp"] =
      std::to_string(checkpoint_->physic_msg_timestamp());
  m["checkpointLogicsMsgTimestamp"] =
      std::to_string(checkpoint_->logics_msg_timestamp());
  m["checkpointIndexMsgTimestamp"] =
      std::to_string(checkpoint_->index_msg_timestamp());
  auto usage = fs_->GetDiskUsage(config_.CommitLogDir());
  if (usage.ok() && usage->total_bytes > 0) {
    m["commitLogDiskRatio"] = std::to_string(
        static_cast<double>(usage->total_bytes - usage->free_bytes) /
        static_cast<double>(usage->total_bytes));
  }
  usage = fs_->GetDiskUsage(config_.ConsumeQueueDir());
  if (usage.ok() && usage->total_bytes > 0) {
    m["consumeQueueDiskRatio"] = std::to_string(
        static_cast<double>(usage->total_bytes - usage->free_bytes) /
        static_cast<double>(usage->total_bytes));
  }
  m["pageCacheLockTimeMills"] = std::to_string(commit_log_->lock_time_ms());
  m["remainTransientStoreBufferNumbs"] =
      std::to_string(commit_log_->remain_transient_store_buffers());
  // RocketMQ also keys the ratio by each CommitLog path.
  if (auto it = m.find("commitLogDiskRatio"); it != m.end())
    m["commitLogDiskRatio_" + config_.CommitLogDir()] = it->second;
  return m;
}

void MessageStore::CleanNowForTesting() { cleaner_->CleanOnce(); }

}  // namespace thruster::store
