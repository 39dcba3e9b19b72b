#include "store/message_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "common/coding.h"
#include "common/logging.h"
#include "common/service_thread.h"
#include "message/properties.h"
#include "store/consume_queue_format.h"

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
  if (rec.size() < 76) return -1;
  int32_t sys_flag = LoadI32(rec.data() + kSysFlagPos);
  size_t pos = static_cast<size_t>(StoreTimestampPos(sys_flag));
  if (pos + 8 > rec.size()) return -1;
  return LoadI64(rec.data() + pos);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// `dispatch` (reput, spec §9.1): follows the CommitLog and turns records into
// consume-queue units and index entries, strictly in log order.
class MessageStore::DispatchService final : public ServiceThread {
 public:
  explicit DispatchService(MessageStore* store)
      : ServiceThread("dispatch"), store_(store) {}
  ~DispatchService() override { Stop(); }

  // Runs until caught up with the confirm offset. Returns true when it moved.
  bool DoReput() {
    MessageStore* s = store_;
    bool moved = false;
    int64_t min = s->commit_log_->GetMinOffset();
    int64_t reput = s->reput_from_offset_.load(std::memory_order_acquire);
    if (min > 0 && reput < min) {
      TH_LOG(store, kWarn,
             "dispatch: offset {} was deleted before it was dispatched, "
             "jumping to {}",
             reput, min);
      reput = min;
    }
    int64_t end = s->commit_log_->GetConfirmOffset();
    while (reput < end && !stopped()) {
      auto data = s->commit_log_->GetData(reput);
      if (!data || data->bytes.empty()) {
        // Past the readable end of a full segment: the next one starts at the
        // roll offset.
        if (data &&
            reput == data->file->base_offset() + data->file->file_size()) {
          reput = s->commit_log_->RollNextFile(reput);
          continue;
        }
        break;
      }
      auto bytes = data->bytes;
      size_t pos = 0;
      bool roll = false;
      bool failed = false;
      while (pos < bytes.size() && reput < end) {
        RecordCheck c = CheckRecord(bytes.subspan(pos), false);
        if (c.status == RecordStatus::kOk) {
          if (reput + c.size > end) break;
          Status st = s->Dispatch(c.record, reput, c.size);
          if (!st.ok()) {
            // Never skip a record: retry it on the next pass (both dispatchers
            // are idempotent).
            int64_t now = s->clock_->MonotonicNs();
            if (now - last_error_log_ns_ > 1000000000) {
              last_error_log_ns_ = now;
              TH_LOG(store, kError,
                     "dispatch of record at {} failed, retrying: {}", reput,
                     st.ToString());
            }
            failed = true;
            break;
          }
          pos += static_cast<size_t>(c.size);
          reput += c.size;
          moved = true;
          continue;
        }
        if (c.status == RecordStatus::kBlank) {
          roll = true;
          break;
        }
        if (c.status == RecordStatus::kLengthMismatch && c.size > 0) {
          TH_LOG(store, kError,
                 "dispatch: record at {} has inconsistent lengths, skipping {} "
                 "bytes",
                 reput, c.size);
          pos += static_cast<size_t>(c.size);
          reput += c.size;
          continue;
        }
        // Not a record: nothing more is readable here yet.
        break;
      }
      s->reput_from_offset_.store(reput, std::memory_order_release);
      if (failed) break;
      if (roll) {
        reput = s->commit_log_->RollNextFile(reput);
        s->reput_from_offset_.store(reput, std::memory_order_release);
        continue;
      }
      if (pos < bytes.size() || pos == 0) break;
    }
    s->reput_from_offset_.store(reput, std::memory_order_release);
    return moved;
  }

 protected:
  void Run() override {
    while (!stopped()) {
      if (!DoReput()) WaitForRunning(1);
    }
    // Drain what is left (up to 5 s), so shutdown leaves nothing undispatched.
    for (int i = 0; i < 50 && store_->dispatch_behind_bytes() > 0; ++i) {
      if (!DoReputIgnoringStop())
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  bool DoReputIgnoringStop() {
    draining_ = true;
    bool moved = DoReput();
    draining_ = false;
    return moved;
  }
  bool stopped() const { return !draining_ && ServiceThread::stopped(); }

  MessageStore* store_;
  bool draining_ = false;          // confined to this thread
  int64_t last_error_log_ns_ = 0;  // confined to this thread
};

// `flush-cq` (spec §8.4): flushes consume queues and rolled index files, then
// writes the checkpoint with timestamps that name only durable data.
class MessageStore::FlushConsumeQueueService final : public ServiceThread {
 public:
  explicit FlushConsumeQueueService(MessageStore* store)
      : ServiceThread("flush-cq"), store_(store) {}
  ~FlushConsumeQueueService() override { Stop(); }

  void FlushOnce(bool thorough) {
    MessageStore* s = store_;
    int64_t logics = s->logics_msg_timestamp_.load(std::memory_order_acquire);
    Status st = s->FlushConsumeQueues(
        thorough ? 0 : s->config_.flush_consume_queue_least_pages);
    if (st.ok()) st = s->index_->FlushRolledFiles();
    if (!st.ok()) {
      TH_LOG(store, kError, "flush-cq: {}", st.ToString());
      return;
    }
    // Consume queues are durable up to at least `logics` only after a thorough
    // pass.
    if (thorough && logics > 0)
      s->checkpoint_->set_logics_msg_timestamp(logics);
    int64_t idx = s->index_->index_msg_timestamp();
    if (idx > 0) s->checkpoint_->set_index_msg_timestamp(idx);
    st = s->checkpoint_->Flush();
    if (!st.ok())
      TH_LOG(store, kError, "flush-cq: checkpoint: {}", st.ToString());
  }

 protected:
  void Run() override {
    int64_t last_thorough = store_->clock_->MonotonicNs();
    while (!stopped()) {
      WaitForRunning(store_->config_.flush_interval_consume_queue);
      int64_t now = store_->clock_->MonotonicNs();
      bool thorough =
          now - last_thorough >=
          int64_t{store_->config_.flush_consume_queue_thorough_interval} *
              1000000;
      if (thorough) last_thorough = now;
      FlushOnce(thorough);
    }
  }

 private:
  MessageStore* store_;
};

// `clean` (spec §11): retention of CommitLog segments by age and disk usage,
// then of consume-queue and index files below the new CommitLog minimum.
class MessageStore::CleanService final : public ServiceThread {
 public:
  explicit CleanService(MessageStore* store)
      : ServiceThread("clean"), store_(store) {}
  ~CleanService() override { Stop(); }

 protected:
  void Run() override {
    // RocketMQ waits 60 s before the first pass; a cleaner that starts at once
    // would race recovery's own bookkeeping for no gain.
    int64_t waited = 0;
    while (!stopped() && waited < 60000) {
      WaitForRunning(1000);
      waited += 1000;
    }
    while (!stopped()) {
      store_->CleanOnce();
      WaitForRunning(store_->config_.clean_resource_interval);
    }
  }

 private:
  MessageStore* store_;
};

// ---------------------------------------------------------------------------------------------------

MessageStore::MessageStore(io::FileSystem* fs, MessageStoreConfig config,
                           const Clock* clock)
    : fs_(fs), config_(std::move(config)), clock_(clock) {}

MessageStore::~MessageStore() { Shutdown(); }

Status MessageStore::Load() {
  auto t0 = std::chrono::steady_clock::now();
  TH_RETURN_IF_ERROR(fs_->CreateDirs(config_.store_path_root_dir));
  // The lock comes first (spec §16 item 9): recovery must never run beside
  // another broker.
  TH_ASSIGN_OR_RETURN(lock_, fs_->LockFile(config_.LockPath()));
  bool last_exit_ok = !fs_->Exists(config_.AbortPath());
  recovery_.last_exit_ok = last_exit_ok;
  TH_ASSIGN_OR_RETURN(checkpoint_,
                      Checkpoint::Open(fs_, config_.CheckpointPath()));
  commit_log_ =
      std::make_unique<CommitLog>(fs_, config_, checkpoint_.get(), clock_);
  TH_RETURN_IF_ERROR(commit_log_->Load());
  TH_RETURN_IF_ERROR(LoadConsumeQueues());
  IndexServiceOptions io;
  io.max_hash_slot_num = config_.max_hash_slot_num;
  io.max_index_num = config_.max_index_num;
  io.max_msgs_num_batch = config_.max_msgs_num_batch;
  index_ = std::make_unique<IndexService>(fs_, config_.IndexDir(), clock_, io);
  TH_RETURN_IF_ERROR(
      index_->Load(last_exit_ok, checkpoint_->index_msg_timestamp()));

  // Consume queues first: their max phys offset tells the CommitLog what is
  // already dispatched.
  int64_t cq_max_phy = -1;
  {
    MutexLock lock(&cq_mu_);
    for (auto& [topic, by_id] : queues_) {
      for (auto& [id, cq] : by_id) {
        TH_RETURN_IF_ERROR(cq->Recover());
        cq_max_phy = std::max(cq_max_phy, cq->max_phys_offset());
        ++recovery_.consume_queues;
      }
    }
  }
  if (commit_log_->queue().empty()) {
    // No CommitLog: nothing the queues or the index point at exists.
    MutexLock lock(&cq_mu_);
    for (auto& [topic, by_id] : queues_) {
      for (auto& [id, cq] : by_id) TH_RETURN_IF_ERROR(cq->Destroy());
    }
    queues_.clear();
    TH_RETURN_IF_ERROR(index_->DestroyAll());
  }
  // Records at or after cq_max_phy are dispatched again (spec §16 item 1: ">=",
  // idempotent); after an abnormal stop every scanned record is.
  Status dispatch_error;
  auto rs = commit_log_->Recover(
      last_exit_ok, std::max<int64_t>(cq_max_phy, 0),
      [&](const DecodedRecord& rec, int64_t phys, int32_t size) {
        Status st = Dispatch(rec, phys, size);
        if (!st.ok() && dispatch_error.ok()) dispatch_error = st;
      });
  if (!rs.ok()) return rs.status();
  TH_RETURN_IF_ERROR(dispatch_error);
  recovery_.commit_log = *rs;
  int64_t process_offset = rs->process_offset;
  int64_t min_phy = commit_log_->GetMinOffset();
  {
    MutexLock lock(&cq_mu_);
    for (auto& [topic, by_id] : queues_) {
      for (auto& [id, cq] : by_id) {
        if (cq->max_phys_offset() > process_offset)
          TH_RETURN_IF_ERROR(cq->TruncateDirtyLogicFiles(process_offset));
        TH_RETURN_IF_ERROR(FlushConsumeQueue(*cq, 0));
        cq->CorrectMinOffset(std::max<int64_t>(min_phy, 0));
        commit_log_->SetQueueOffset(topic, id, cq->GetMaxOffsetInQueue());
      }
    }
  }
  reput_from_offset_.store(process_offset, std::memory_order_release);
  recovery_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  TH_LOG(
      store, kInfo,
      "store loaded from {} in {:.3f} s: {} consume queues, commitlog [{}, {})",
      config_.store_path_root_dir, recovery_.seconds, recovery_.consume_queues,
      commit_log_->GetMinOffset(), commit_log_->GetMaxOffset());
  loaded_ = true;
  return Status::OK();
}

Status MessageStore::LoadConsumeQueues() {
  std::string root = config_.ConsumeQueueDir();
  TH_RETURN_IF_ERROR(fs_->CreateDirs(root));
  TH_ASSIGN_OR_RETURN(auto topics, fs_->ListDir(root));
  MutexLock lock(&cq_mu_);
  for (const auto& t : topics) {
    if (!t.is_dir) continue;
    auto ids = fs_->ListDir(io::JoinPath(root, t.name));
    if (!ids.ok()) return ids.status();
    for (const auto& q : *ids) {
      if (!q.is_dir || q.name.empty() || q.name.size() > 9 ||
          !std::all_of(q.name.begin(), q.name.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        continue;  // spec §1: a non-numeric queue directory is skipped
      }
      int32_t id = std::stoi(q.name);
      auto cq = std::make_unique<ConsumeQueue>(
          fs_, root, t.name, id, config_.mapped_file_size_consume_queue);
      TH_RETURN_IF_ERROR(cq->Load());
      queues_[t.name][id] = std::move(cq);
    }
  }
  return Status::OK();
}

Status MessageStore::Start() {
  if (!loaded_)
    return Status::InvalidArgument(
        "MessageStore::Start before a successful Load");
  if (started_) return Status::OK();
  commit_log_->SetDropFloor(&reput_from_offset_);
  TH_RETURN_IF_ERROR(commit_log_->Start());
  dispatch_service_ = std::make_unique<DispatchService>(this);
  dispatch_service_->Start();
  flush_cq_service_ = std::make_unique<FlushConsumeQueueService>(this);
  flush_cq_service_->Start();
  clean_service_ = std::make_unique<CleanService>(this);
  clean_service_->Start();
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
  if (clean_service_) clean_service_->Stop();
  commit_log_->Shutdown();  // final flush (and commit)
  if (dispatch_service_)
    dispatch_service_->Stop();  // drains what the CommitLog holds
  if (flush_cq_service_) flush_cq_service_->Stop();
  Status st = FlushConsumeQueues(0);
  if (st.ok()) st = index_->Flush();
  if (st.ok()) {
    int64_t logics = logics_msg_timestamp_.load(std::memory_order_acquire);
    if (logics > 0) checkpoint_->set_logics_msg_timestamp(logics);
    if (index_->index_msg_timestamp() > 0)
      checkpoint_->set_index_msg_timestamp(index_->index_msg_timestamp());
    st = checkpoint_->Flush();
  }
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
  MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

int64_t MessageStore::dispatch_behind_bytes() const {
  return commit_log_->GetConfirmOffset() -
         reput_from_offset_.load(std::memory_order_acquire);
}

bool MessageStore::WaitForDispatch(int64_t timeout_ms) const {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (dispatch_behind_bytes() > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

ConsumeQueue* MessageStore::FindConsumeQueue(std::string_view topic,
                                             int32_t queue_id) const {
  MutexLock lock(&cq_mu_);
  auto t = queues_.find(topic);
  if (t == queues_.end()) return nullptr;
  auto q = t->second.find(queue_id);
  return q == t->second.end() ? nullptr : q->second.get();
}

Result<ConsumeQueue*> MessageStore::FindOrCreateConsumeQueue(
    std::string_view topic, int32_t queue_id) {
  MutexLock lock(&cq_mu_);
  auto& by_id = queues_[std::string(topic)];
  auto it = by_id.find(queue_id);
  if (it != by_id.end()) return it->second.get();
  auto cq = std::make_unique<ConsumeQueue>(
      fs_, config_.ConsumeQueueDir(), std::string(topic), queue_id,
      config_.mapped_file_size_consume_queue);
  TH_RETURN_IF_ERROR(cq->Load());
  ConsumeQueue* raw = cq.get();
  by_id[queue_id] = std::move(cq);
  return raw;
}

Status MessageStore::Dispatch(const DecodedRecord& rec, int64_t phys,
                              int32_t size) {
  int32_t tx = sysflag::TransactionType(rec.sys_flag);
  auto tags = FindProperty(rec.properties, prop::kTags);
  int64_t tags_code = TagsCode(tags);
  if (tx == sysflag::kTransactionNotType ||
      tx == sysflag::kTransactionCommitType) {
    TH_ASSIGN_OR_RETURN(ConsumeQueue * cq,
                        FindOrCreateConsumeQueue(rec.topic, rec.queue_id));
    TH_RETURN_IF_ERROR(
        cq->PutMessagePositionInfo(phys, size, tags_code, rec.queue_offset));
    logics_msg_timestamp_.store(rec.store_timestamp, std::memory_order_release);
  }
  if (config_.message_index_enable) {
    TH_RETURN_IF_ERROR(index_->BuildIndex(IndexRecord::FromProperties(
        rec.topic, rec.properties, phys, rec.store_timestamp, rec.sys_flag)));
  }
  if (tx == sysflag::kTransactionNotType ||
      tx == sysflag::kTransactionCommitType) {
    MutexLock lock(&listener_mu_);
    if (listener_)
      listener_(rec.topic, rec.queue_id, rec.queue_offset + 1, tags_code,
                rec.store_timestamp);
  }
  return Status::OK();
}

Status MessageStore::FlushConsumeQueue(ConsumeQueue& cq, int least_pages) {
  for (int i = 0; i < 1000; ++i) {
    TH_ASSIGN_OR_RETURN(bool unchanged, cq.Flush(least_pages));
    if (unchanged) return Status::OK();
  }
  return Status::OK();
}

Status MessageStore::FlushConsumeQueues(int least_pages) {
  std::vector<ConsumeQueue*> all;
  {
    MutexLock lock(&cq_mu_);
    for (auto& [topic, by_id] : queues_) {
      for (auto& [id, cq] : by_id) all.push_back(cq.get());
    }
  }
  for (ConsumeQueue* cq : all)
    TH_RETURN_IF_ERROR(FlushConsumeQueue(*cq, least_pages));
  return Status::OK();
}

namespace {
PutResult DiskFullResult() {
  PutResult r;
  r.status = PutStatus::kServiceNotAvailable;
  r.error = "disk full: the store refuses writes until retention frees space";
  return r;
}
}  // namespace

bool MessageStore::disk_full() const {
  return disk_full_.load(std::memory_order_acquire);
}

PutResult MessageStore::PutMessage(const MessageToStore& msg) {
  if (disk_full()) return DiskFullResult();
  return commit_log_->PutMessage(msg);
}

void MessageStore::AsyncPutMessage(const MessageToStore& msg,
                                   std::function<void(PutResult)> done) {
  if (disk_full()) return done(DiskFullResult());
  commit_log_->AsyncPutMessage(msg, std::move(done));
}

PutResult MessageStore::PutMessages(const MessageToStore& batch) {
  if (disk_full()) return DiskFullResult();
  return commit_log_->PutMessages(batch);
}

void MessageStore::AsyncPutMessages(const MessageToStore& batch,
                                    std::function<void(PutResult)> done) {
  if (disk_full()) return done(DiskFullResult());
  commit_log_->AsyncPutMessages(batch, std::move(done));
}

GetMessageResult MessageStore::GetMessage(
    std::string_view, std::string_view topic, int32_t queue_id, int64_t offset,
    int32_t max_msgs, int64_t max_total_bytes, const TagFilter* filter) {
  GetMessageResult r;
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
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
  auto units = cq->GetIndexBuffer(offset);
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
    int64_t phys = LoadI64(bytes.data() + pos);
    int32_t size = LoadI32(bytes.data() + pos + 8);
    int64_t tags_code = LoadI64(bytes.data() + pos + 12);
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
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
  return cq == nullptr ? 0 : cq->GetMaxOffsetInQueue();
}

int64_t MessageStore::GetMinOffsetInQueue(std::string_view topic,
                                          int32_t queue_id) const {
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
  return cq == nullptr ? 0 : cq->GetMinOffsetInQueue();
}

int64_t MessageStore::GetCommitLogOffsetInQueue(std::string_view topic,
                                                int32_t queue_id,
                                                int64_t queue_offset) const {
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return 0;
  auto e = cq->GetEntry(queue_offset);
  return e && cq_format::IsValid(*e) ? e->phys_offset : 0;
}

int64_t MessageStore::GetOffsetInQueueByTime(std::string_view topic,
                                             int32_t queue_id,
                                             int64_t timestamp,
                                             BoundaryType boundary) const {
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return 0;
  return cq->GetOffsetInQueueByTime(
      timestamp, boundary, commit_log_->GetMinOffset(),
      [this](int64_t phys, int32_t size) -> int64_t {
        auto m = commit_log_->GetMessage(phys, size);
        return m ? PickupStoreTimestamp(m->bytes) : -1;
      });
}

int64_t MessageStore::GetMessageStoreTimestamp(std::string_view topic,
                                               int32_t queue_id,
                                               int64_t queue_offset) const {
  ConsumeQueue* cq = FindConsumeQueue(topic, queue_id);
  if (cq == nullptr) return -1;
  auto e = cq->GetEntry(queue_offset);
  if (!e || !cq_format::IsValid(*e) || cq_format::IsPreBlank(*e)) return -1;
  auto m = commit_log_->GetMessage(e->phys_offset, e->size);
  return m ? PickupStoreTimestamp(m->bytes) : -1;
}

int64_t MessageStore::GetEarliestMessageTime(std::string_view topic,
                                             int32_t queue_id) const {
  return GetMessageStoreTimestamp(topic, queue_id,
                                  GetMinOffsetInQueue(topic, queue_id));
}

std::optional<SelectResult> MessageStore::LookMessageByOffset(
    int64_t phys) const {
  auto head = commit_log_->GetMessage(phys, 8);
  if (!head) return std::nullopt;
  int32_t size = LoadI32(head->bytes.data());
  int32_t magic = LoadI32(head->bytes.data() + 4);
  if (size <= 0 || (magic != kMagicV1 && magic != kMagicV2))
    return std::nullopt;
  return commit_log_->GetMessage(phys, size);
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
  std::vector<std::pair<std::string, int32_t>> out;
  MutexLock lock(&cq_mu_);
  for (const auto& [topic, by_id] : queues_) {
    for (const auto& [id, cq] : by_id) out.emplace_back(topic, id);
  }
  return out;
}

Status MessageStore::DeleteTopic(std::string_view topic) {
  std::map<int32_t, std::unique_ptr<ConsumeQueue>> gone;
  {
    MutexLock lock(&cq_mu_);
    auto it = queues_.find(topic);
    if (it == queues_.end())
      return Status::NotFound("no consume queues for topic " +
                              std::string(topic));
    gone = std::move(it->second);
    queues_.erase(it);
  }
  for (auto& [id, cq] : gone) TH_RETURN_IF_ERROR(cq->Destroy());
  commit_log_->RemoveQueueOffsets(topic);
  return Status::OK();
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
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Retention (spec §11).

namespace {

bool IsTimeToDelete(std::string_view delete_when, int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm local{};
  localtime_r(&t, &local);
  size_t pos = 0;
  while (pos <= delete_when.size()) {
    size_t semi = delete_when.find(';', pos);
    std::string_view h = delete_when.substr(pos, semi == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : semi - pos);
    if (!h.empty() &&
        std::all_of(h.begin(), h.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        std::stoi(std::string(h)) == local.tm_hour) {
      return true;
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return false;
}

// ceil(100 × used / (used + available)) / 100, spec §11.2; -1 when it cannot be
// measured.
double DiskRatio(io::FileSystem* fs, const std::string& path) {
  auto u = fs->GetDiskUsage(path);
  if (!u.ok() || u->total_bytes == 0) return -1;
  double used = static_cast<double>(u->total_bytes - u->free_bytes);
  double denom = used + static_cast<double>(u->avail_bytes);
  if (denom <= 0) return -1;
  return std::ceil(100.0 * used / denom) / 100.0;
}

}  // namespace

void MessageStore::CleanOnce() {
  const auto& c = config_;
  int64_t now = clock_->NowMs();
  double warning = std::clamp(c.disk_space_warning_level_ratio, 35, 90) / 100.0;
  double forcibly =
      std::clamp(c.disk_space_clean_forcibly_ratio, 30, 85) / 100.0;
  double max_used = std::clamp(c.disk_max_used_space_ratio, 10, 95) / 100.0;
  double cl_ratio = DiskRatio(fs_, c.CommitLogDir());
  double cq_ratio = DiskRatio(fs_, c.ConsumeQueueDir());
  bool clean_immediately = false;
  if (cl_ratio > warning || cq_ratio > warning) {
    if (!disk_full_.exchange(true)) {
      TH_LOG(store, kError,
             "disk usage {:.2f} above {:.2f}: the store refuses writes",
             std::max(cl_ratio, cq_ratio), warning);
    }
    clean_immediately = true;
  } else {
    if (disk_full_.exchange(false))
      TH_LOG(store, kInfo, "disk usage back below {:.2f}: writes accepted",
             warning);
  }
  if (cl_ratio > forcibly || cq_ratio > forcibly) clean_immediately = true;
  bool space = clean_immediately || cl_ratio > max_used ||
               cq_ratio > max_used || cl_ratio < 0;
  bool time_up = IsTimeToDelete(c.delete_when, now);
  if (!time_up && !space) return;
  bool at_once = c.clean_file_forcibly_enable && clean_immediately;
  int64_t age = int64_t{c.file_reserved_time} * 3600 * 1000;
  int64_t min_before = commit_log_->GetMinOffset();
  auto deleted = commit_log_->queue().DeleteExpired(
      [&](const MappedFile& f) {
        if (at_once) return true;
        auto mtime = f.LastModifiedMs();
        return mtime.ok() && now >= *mtime + age;
      },
      c.delete_file_batch_max);
  if (!deleted.ok()) {
    TH_LOG(store, kError, "retention: deleting CommitLog segments failed: {}",
           deleted.status().ToString());
    return;
  }
  int64_t min_after = commit_log_->GetMinOffset();
  if (*deleted > 0) {
    TH_LOG(store, kInfo,
           "retention: deleted {} CommitLog segments, min offset {} -> {}",
           *deleted, min_before, min_after);
  }
  if (min_after <= min_before && *deleted == 0) return;
  std::vector<ConsumeQueue*> all;
  {
    MutexLock lock(&cq_mu_);
    for (auto& [topic, by_id] : queues_) {
      for (auto& [id, cq] : by_id) all.push_back(cq.get());
    }
  }
  for (ConsumeQueue* cq : all) {
    auto r = cq->DeleteExpiredFile(min_after);
    if (!r.ok())
      TH_LOG(store, kError, "retention: {}: {}", cq->dir(),
             r.status().ToString());
  }
  auto r = index_->DeleteExpiredFile(min_after);
  if (!r.ok())
    TH_LOG(store, kError, "retention: index: {}", r.status().ToString());
}

void MessageStore::CleanNowForTesting() { CleanOnce(); }

}  // namespace thruster::store
