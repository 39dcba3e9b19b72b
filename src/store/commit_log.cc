#include "store/commit_log.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/coding.h"
#include "common/logging.h"
#include "message/batch_codec.h"
#include "message/properties.h"
#include "store/commit_real_time_service.h"
#include "store/flush_disk_watcher.h"
#include "store/flush_real_time_service.h"
#include "store/group_commit_service.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
using message::MessageToStore;
namespace prop = message::prop;
using message::CheckRecord;
using message::EncodeBlank;
using message::EncodeRecord;
using message::EncodeRecordWithoutBody;
using message::FindProperty;
using message::kBlankMinLength;
using message::kMaxPropertiesLength;
using message::PatchInLockFields;
using message::RecordCheck;
using message::RecordStatus;

std::string_view PutStatusName(PutStatus s) {
  switch (s) {
    case PutStatus::kPutOk:
      return "PUT_OK";
    case PutStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case PutStatus::kCreateMappedFileFailed:
      return "CREATE_MAPPED_FILE_FAILED";
    case PutStatus::kMessageIllegal:
      return "MESSAGE_ILLEGAL";
    case PutStatus::kPropertiesSizeExceeded:
      return "PROPERTIES_SIZE_EXCEEDED";
    case PutStatus::kServiceNotAvailable:
      return "SERVICE_NOT_AVAILABLE";
    case PutStatus::kOsPageCacheBusy:
      return "OS_PAGE_CACHE_BUSY";
    case PutStatus::kUnknownError:
      return "UNKNOWN_ERROR";
    case PutStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case PutStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
    case PutStatus::kInSyncReplicasNotEnough:
      return "IN_SYNC_REPLICAS_NOT_ENOUGH";
  }
  return "UNKNOWN_ERROR";
}

CommitLog::CommitLog(io::FileSystem* fs, const MessageStoreConfig& config,
                     Checkpoint* checkpoint, const Clock* clock)
    : config_(config),
      checkpoint_(checkpoint),
      clock_(clock),
      pool_(config.transient_store_pool_enable
                ? std::make_unique<TransientStorePool>(
                      config.transient_store_pool_size,
                      config.mapped_file_size_commit_log)
                : nullptr),
      allocator_(std::make_unique<AllocateService>(
          fs, pool_.get(),
          AllocateOptions{config.warm_maped_file_enable,
                          config.pre_touch_mapped_file,
                          config.flush_disk_type == FlushDiskType::kSync,
                          !config.data_read_ahead_enable, 5000},
          clock)),
      cache_keep_(config.commit_log_cache_keep_mb,
                  CacheKeepPolicy::InMemoryBytes(
                      config.access_message_in_memory_max_ratio),
                  clock),
      queue_(fs, config.CommitLogDir(), config.mapped_file_size_commit_log,
             allocator_.get(), pool_.get()),
      positional_writes_(!config.transient_store_pool_enable &&
                         (config.write_without_mmap ||
                          config.flush_disk_type == FlushDiskType::kSync)),
      touch_ahead_(config.pre_touch_mapped_file &&
                   !config.warm_maped_file_enable &&
                   config.flush_disk_type == FlushDiskType::kAsync &&
                   !config.write_without_mmap) {
  // Appends store through the mapping: unmap what the flush thread writes back
  // (one TLB shootdown per range instead of one per page).
  if (pool_ == nullptr && !positional_writes_)
    queue_.set_unmap_before_writeback(true);
  if (touch_ahead_ && pool_ == nullptr) {
    // The flush thread's drops (commitLogCacheKeepMb) wait for the allocate
    // thread, which frees them right before it faults in as many pages ahead
    // of the writer.
    queue_.set_defer_drops(kMaxDeferredDropBytes);
    allocator_->SetFrameSource(
        [q = &queue_](int64_t bytes) { q->DropDeferred(bytes); });
  }
}

CommitLog::~CommitLog() { Shutdown(); }

Status CommitLog::Load() {
  TH_RETURN_IF_ERROR(queue_.Load());
  if (!config_.data_read_ahead_enable) {
    for (auto& f : queue_.Snapshot()) f->Advise(io::Advice::kRandom);
  }
  TH_LOG(store, kInfo, "commitlog: loaded {} segments from {}", queue_.size(),
         queue_.dir());
  return Status::OK();
}

Status CommitLog::Start() {
  if (started_) return Status::OK();
  if (pool_ != nullptr) TH_RETURN_IF_ERROR(pool_->Init());
  allocator_->Start();
  if (config_.flush_disk_type == FlushDiskType::kSync) {
    group_commit_service_ =
        std::make_unique<GroupCommitService>(this, clock_, checkpoint_);
    group_commit_service_->Start();
    flush_watcher_ =
        std::make_unique<FlushDiskWatcher>(clock_, group_commit_service_.get());
    flush_watcher_->Start();
  } else {
    flush_service_ = std::make_unique<FlushRealTimeService>(
        this, config_, clock_, checkpoint_);
    flush_service_->Start();
  }
  if (pool_ != nullptr) {
    commit_service_ = std::make_unique<CommitRealTimeService>(
        this, config_, clock_,
        flush_service_ ? static_cast<ServiceThread*>(flush_service_.get())
                       : group_commit_service_.get());
    commit_service_->Start();
  }
  started_ = true;
  return Status::OK();
}

void CommitLog::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (commit_service_) commit_service_->Stop();
  if (flush_service_) flush_service_->Stop();
  if (group_commit_service_) group_commit_service_->Stop();
  if (flush_watcher_) flush_watcher_->Stop();
  if (started_ && writeable()) {
    if (pool_ != nullptr) {
      for (int i = 0; i < 10 && !CommitOnce(0); ++i) {
      }
    }
    FlushAll().IgnoreError();  // a failure is logged by MarkNotWriteable and
                               // keeps `abort` in place
  }
  allocator_->Shutdown();
}

Status CommitLog::error() const {
  MutexLock lock(&error_mu_);
  return error_;
}

void CommitLog::MarkNotWriteable(const Status& s) {
  {
    MutexLock lock(&error_mu_);
    if (!error_.ok()) return;
    error_ = s;
  }
  writeable_.store(false, std::memory_order_release);
  TH_LOG(store, kError, "commitlog is now read-only: {}", s.ToString());
}

bool CommitLog::CommitOnce(int least_pages) {
  if (!writeable()) return true;
  auto r = queue_.Commit(least_pages);
  if (!r.ok()) {
    MarkNotWriteable(r.status());
    return true;
  }
  return *r;
}

Status CommitLog::FlushAll() {
  for (int i = 0; i < 100000; ++i) {
    if (!writeable()) return error();
    if (pool_ != nullptr) CommitOnce(0);
    auto r = queue_.Flush(0);
    if (!r.ok()) {
      MarkNotWriteable(r.status());
      return r.status();
    }
    if (*r && queue_.flushed_where() >= queue_.GetMaxWrotePosition()) break;
  }
  int64_t ts = queue_.store_timestamp();
  if (ts > 0) checkpoint_->set_physic_msg_timestamp(ts);
  return Status::OK();
}

int64_t CommitLog::GetConfirmOffset() const {
  // A slave dispatches what it received (nothing asks its group commit for a
  // flush), as RocketMQ's 4.x dispatch reads up to the max offset; in
  // controller mode only up to its master's confirm offset (RocketMQ 5).
  const int64_t end =
      role_.load(std::memory_order_acquire) != BrokerRole::kSlave &&
              config_.flush_disk_type == FlushDiskType::kSync
          ? queue_.flushed_where()
          : queue_.GetMaxOffset();
  const int64_t replicated =
      replica_confirm_offset_.load(std::memory_order_acquire);
  return replicated >= 0 ? std::min(end, replicated) : end;
}

std::optional<SelectResult> CommitLog::GetData(PhysOffset phys) const {
  const int64_t offset = phys.value;
  auto f = queue_.FindMappedFileByOffset(offset, offset == 0);
  if (f == nullptr) return std::nullopt;
  int64_t pos = offset - f->base_offset();
  if (pos < 0) return std::nullopt;
  return f->Select(static_cast<int32_t>(pos));
}

std::optional<SelectResult> CommitLog::GetMessage(PhysOffset phys,
                                                  int32_t size) const {
  const int64_t offset = phys.value;
  auto f = queue_.FindMappedFileByOffset(offset);
  if (f == nullptr) return std::nullopt;
  return f->Select(static_cast<int32_t>(offset - f->base_offset()), size);
}

namespace {
void QueueKey(std::string* key, std::string_view topic, int32_t queue_id) {
  key->assign(topic);
  key->push_back('-');
  char buf[16];
  const char* end = std::to_chars(buf, buf + sizeof(buf), queue_id).ptr;
  key->append(buf, static_cast<size_t>(end - buf));
}
}  // namespace

void CommitLog::SetQueueOffset(std::string_view topic, int32_t queue_id,
                               QueueOffset next) {
  std::string key;
  QueueKey(&key, topic, queue_id);
  MutexLock lock(&put_mu_);
  queue_offsets_[key] = next.value;
}

QueueOffset CommitLog::GetQueueOffset(std::string_view topic,
                                      int32_t queue_id) const {
  std::string key;
  QueueKey(&key, topic, queue_id);
  MutexLock lock(&put_mu_);
  auto it = queue_offsets_.find(key);
  return QueueOffset{it == queue_offsets_.end() ? 0 : it->second};
}

int CommitLog::remain_transient_store_buffers() const {
  return pool_ ? pool_->available() : std::numeric_limits<int32_t>::max();
}

void CommitLog::RemoveQueueOffset(std::string_view topic, int32_t queue_id) {
  std::string key;
  QueueKey(&key, topic, queue_id);
  MutexLock lock(&put_mu_);
  queue_offsets_.erase(key);
}

void CommitLog::RemoveQueueOffsets(std::string_view topic) {
  std::string prefix(topic);
  prefix.push_back('-');
  MutexLock lock(&put_mu_);
  for (auto it = queue_offsets_.begin(); it != queue_offsets_.end();) {
    if (it->first.rfind(prefix, 0) == 0 &&
        it->first.find('-', prefix.size()) == std::string::npos) {
      it = queue_offsets_.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {

PutResult Failed(PutStatus status, std::string error) {
  PutResult r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// Expands a producer batch (§2.8) into full records appended to `out`; returns
// each record's size.
Status EncodeBatch(const MessageToStore& header, int32_t max_message_size,
                   std::string* out, std::vector<int32_t>* sizes) {
  MessageToStore m = header;
  m.prepared_transaction_offset = 0;
  return message::ForEachBatchEntry(
      header.body, max_message_size, [&](const message::BatchEntry& e) {
        m.flag = e.flag;
        m.body = e.body;
        m.properties = e.properties;
        TH_ASSIGN_OR_RETURN(int32_t size,
                            EncodeRecord(m, max_message_size, out));
        sizes->push_back(size);
        return Status::OK();
      });
}

}  // namespace

// A batch is all or none across a process crash (kill -9): the first record's
// TOTALSIZE is zeroed, every other byte copied, and the TOTALSIZE stored last.
// Until that store, the batch's first record reads as the end of the data
// (TOTALSIZE 0), so recovery truncates the whole batch; after it, every byte of
// the batch is in place. (Positional writes, writeWithoutMmap and SYNC_FLUSH,
// do not get this ordering.)
bool CommitLog::CopyBatch(std::span<std::byte> dest, std::string_view records) {
  constexpr size_t kSizeField = sizeof(int32_t);
  const int64_t stop = stop_batch_copy_after_;
  stop_batch_copy_after_ = -1;
  std::memset(dest.data(), 0, kSizeField);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const size_t rest = records.size() - kSizeField;
  if (stop >= 0 && static_cast<size_t>(stop) <= rest) {
    std::memcpy(dest.data() + kSizeField, records.data() + kSizeField,
                static_cast<size_t>(stop));
    return false;
  }
  std::memcpy(dest.data() + kSizeField, records.data() + kSizeField, rest);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(dest.data(), records.data(), kSizeField);
  return true;
}

PutResult CommitLog::Append(const MessageToStore& msg, bool batch) {
  if (!writeable())
    return Failed(PutStatus::kServiceNotAvailable,
                  "store is not writeable: " + error().ToString());
  thread_local std::string buf;
  thread_local std::vector<int32_t> sizes;
  thread_local std::string key;
  buf.clear();
  sizes.clear();
  // Set when `buf` holds the record without its body (see below): where the
  // body goes.
  size_t body_pos = std::string::npos;
  if (batch) {
    if (sysflag::TransactionType(msg.sys_flag) !=
        sysflag::kTransactionNotType) {
      return Failed(PutStatus::kMessageIllegal,
                    "a batch cannot be transactional");
    }
    Status s = EncodeBatch(msg, config_.max_message_size, &buf, &sizes);
    if (!s.ok())
      return Failed(PutStatus::kMessageIllegal, std::string(s.message()));
  } else {
    // Positional writes need the whole record in one buffer; a copy into the
    // mapping takes the body straight from `msg` (one copy of it, not two).
    auto r = positional_writes_
                 ? EncodeRecord(msg, config_.max_message_size, &buf)
                 : EncodeRecordWithoutBody(msg, config_.max_message_size, &buf,
                                           &body_pos);
    if (!r.ok()) {
      bool props =
          msg.properties.size() > static_cast<size_t>(kMaxPropertiesLength);
      return Failed(props ? PutStatus::kPropertiesSizeExceeded
                          : PutStatus::kMessageIllegal,
                    std::string(r.status().message()));
    }
    sizes.push_back(*r);
  }
  const int32_t total = body_pos == std::string::npos
                            ? static_cast<int32_t>(buf.size())
                            : sizes[0];
  if (static_cast<int64_t>(total) + kBlankMinLength >
      config_.mapped_file_size_commit_log) {
    return Failed(
        PutStatus::kMessageIllegal,
        fmt::format("record of {} bytes does not fit a {}-byte segment", total,
                    config_.mapped_file_size_commit_log));
  }
  int32_t tx_type = sysflag::TransactionType(msg.sys_flag);
  bool takes_queue_offset = tx_type == sysflag::kTransactionNotType ||
                            tx_type == sysflag::kTransactionCommitType;
  QueueKey(&key, msg.topic, msg.queue_id);

  PutResult result;
  SpinningMutexLock lock(&put_mu_);
  if (puts_fenced_.load(std::memory_order_acquire)) {
    return Failed(PutStatus::kServiceNotAvailable,
                  "writes are fenced: this broker is not the elected master");
  }
  int64_t now = std::max(clock_->NowMs(), last_store_timestamp_);
  last_store_timestamp_ = now;
  begin_time_in_lock_.store(now, std::memory_order_relaxed);
  struct ClearLockTime {
    std::atomic<int64_t>* t;
    StoreStats* stats;
    const Clock* clock;
    int64_t start_ns;
    ~ClearLockTime() {
      t->store(0, std::memory_order_relaxed);
      if (start_ns >= 0) {
        stats->append_lock_seconds.Observe(
            static_cast<double>(clock->MonotonicNs() - start_ns) / 1e9);
      }
    }
  } clear_lock_time{&begin_time_in_lock_, &stats_, clock_,
                    stats_.enabled() ? clock_->MonotonicNs() : -1};
  auto file_r = LastFileForAppend();
  if (!file_r.ok()) {
    return Failed(
        PutStatus::kCreateMappedFileFailed,
        "cannot create a CommitLog segment: " + file_r.status().ToString());
  }
  MappedFile* file = *file_r;
  std::span<std::byte> dest = file->WritableSpan();
  if (static_cast<int64_t>(total) + kBlankMinLength >
      static_cast<int64_t>(dest.size())) {
    // END_OF_FILE: close the segment with a blank record and append at the
    // start of the next one.
    if (positional_writes_ && !file->has_pool_buffer()) {
      std::string blank(dest.size(), '\0');
      if (dest.size() >= static_cast<size_t>(kBlankMinLength)) {
        EncodeBlank(reinterpret_cast<std::byte*>(blank.data()),
                    static_cast<int32_t>(dest.size()));
      }
      Status s = file->AppendThroughFile(AsBytes(blank));
      if (!s.ok()) {
        MarkNotWriteable(s);
        return Failed(PutStatus::kServiceNotAvailable, s.ToString());
      }
    } else {
      if (dest.size() >= static_cast<size_t>(kBlankMinLength)) {
        EncodeBlank(dest.data(), static_cast<int32_t>(dest.size()));
      }
      file->AdvanceWritePos(static_cast<int32_t>(dest.size()));
    }
    if (config_.warm_maped_file_enable) {
      allocator_->ScheduleMunlock(append_file_,
                                  clock_->MonotonicNs() / 1000000 + 6000);
    }
    file_r = LastFileForAppend();
    if (!file_r.ok()) {
      return Failed(
          PutStatus::kCreateMappedFileFailed,
          "cannot create a CommitLog segment: " + file_r.status().ToString());
    }
    file = *file_r;
    dest = file->WritableSpan();
  }
  auto [it, inserted] = queue_offsets_.try_emplace(key, 0);
  int64_t queue_offset = it->second;
  int64_t phys = file->base_offset() + file->write_pos();
  result.phys_offset = phys;
  result.queue_offset = takes_queue_offset ? queue_offset : 0;
  std::byte* rec = reinterpret_cast<std::byte*>(buf.data());
  int64_t p = phys;
  for (size_t i = 0; i < sizes.size(); ++i) {
    PatchInLockFields(
        rec, takes_queue_offset ? queue_offset + static_cast<int64_t>(i) : 0, p,
        now);
    if (batch) result.batch_phys_offsets.push_back(p);
    if (i + 1 < sizes.size()) rec += sizes[i];
    p += sizes[i];
  }
  if (positional_writes_ && !file->has_pool_buffer()) {
    Status s = file->AppendThroughFile(AsBytes(buf));
    if (!s.ok()) {
      MarkNotWriteable(s);
      return Failed(PutStatus::kServiceNotAvailable, s.ToString());
    }
  } else if (batch && sizes.size() > 1) {
    if (!CopyBatch(dest, buf))
      return Failed(PutStatus::kUnknownError, "batch copy stopped for a test");
    file->AdvanceWritePos(total);
  } else if (body_pos != std::string::npos) {
    std::byte* to = dest.data();
    std::memcpy(to, buf.data(), body_pos);
    to += body_pos;
    if (!msg.body.empty()) std::memcpy(to, msg.body.data(), msg.body.size());
    to += msg.body.size();
    std::memcpy(to, buf.data() + body_pos, buf.size() - body_pos);
    file->AdvanceWritePos(total);
  } else {
    std::memcpy(dest.data(), buf.data(), buf.size());
    file->AdvanceWritePos(total);
  }
  file->set_store_timestamp(now);
  if (takes_queue_offset)
    it->second = queue_offset + static_cast<int64_t>(sizes.size());
  if (touch_ahead_) {
    int32_t w = file->write_pos();
    if (w + AllocateService::kTouchAhead > file->touch_requested_end() &&
        file->touch_requested_end() < file->file_size() &&
        file->RaiseTouchRequest(w + 2 * AllocateService::kTouchAhead)) {
      allocator_->RequestPreTouch(append_file_);
    }
  }
  result.status = PutStatus::kPutOk;
  result.wrote_bytes = total;
  result.msg_num = static_cast<int32_t>(sizes.size());
  result.store_timestamp = now;
  return result;
}

Result<MappedFile*> CommitLog::LastFileForAppend() {
  // Read before the queue is asked: a change after it makes the next call ask
  // again.
  const uint64_t version = queue_.version();
  if (append_file_ != nullptr && append_file_version_ == version &&
      !append_file_->IsFull()) {
    return append_file_.get();
  }
  append_file_ = nullptr;
  TH_ASSIGN_OR_RETURN(append_file_, queue_.GetLastMappedFile(0));
  append_file_version_ = version;
  return append_file_.get();
}

int64_t CommitLog::lock_time_ms() const {
  const int64_t begin = begin_time_in_lock_.load(std::memory_order_relaxed);
  return begin > 0 ? std::max<int64_t>(0, clock_->NowMs() - begin) : 0;
}

bool CommitLog::PendingFlush::Complete(bool flushed) {
  if (completed.exchange(true, std::memory_order_acq_rel)) return false;
  if (!flushed) log->SetNotFlushed(result);
  done(std::move(result));
  return true;
}

void CommitLog::SetNotFlushed(PutResult& result) const {
  bool w = writeable();
  result.status =
      w ? PutStatus::kFlushDiskTimeout : PutStatus::kServiceNotAvailable;
  result.error =
      w ? "flush did not complete within syncFlushTimeout" : error().ToString();
}

void CommitLog::SetShuttingDown(PutResult& result) {
  // The record is in the log but nobody will confirm its flush.
  result.status = PutStatus::kServiceNotAvailable;
  result.error = "store is shutting down";
}

bool CommitLog::WaitsForFlush(const MessageToStore& msg) const {
  auto wait = FindProperty(msg.properties, prop::kWait);
  if (!wait) return true;
  std::string v(*wait);
  for (auto& c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true";
}

void CommitLog::HandleDiskFlush(PutResult result, const MessageToStore& msg,
                                std::function<void(PutResult)> done) {
  if (!result.ok()) {
    done(std::move(result));
    return;
  }
  if (commit_service_ && config_.flush_disk_type == FlushDiskType::kAsync)
    commit_service_->Wakeup();
  if (config_.flush_disk_type == FlushDiskType::kSync &&
      group_commit_service_) {
    if (!WaitsForFlush(msg)) {
      group_commit_service_->Wakeup();
      done(std::move(result));
      return;
    }
    int64_t next = result.phys_offset + result.wrote_bytes;
    int64_t deadline =
        clock_->MonotonicNs() + int64_t{config_.sync_flush_timeout} * 1000000;
    auto pending = std::make_shared<PendingFlush>();
    pending->log = this;
    pending->result = std::move(result);
    pending->done = std::move(done);
    if (!group_commit_service_->Add(FlushRequest{next, deadline, pending})) {
      pending->completed.store(true, std::memory_order_release);
      SetShuttingDown(pending->result);
      pending->done(std::move(pending->result));
    }
    return;
  }
  done(std::move(result));
}

void CommitLog::AsyncPutMessage(const MessageToStore& msg,
                                std::function<void(PutResult)> done) {
  HandleDiskFlush(Append(msg, false), msg, std::move(done));
}

void CommitLog::AsyncPutMessages(const MessageToStore& msg,
                                 std::function<void(PutResult)> done) {
  HandleDiskFlush(Append(msg, true), msg, std::move(done));
}

PutResult CommitLog::WaitForGroupCommit(PutResult result,
                                        const MessageToStore& msg) {
  if (!result.ok()) return result;
  if (!WaitsForFlush(msg)) {
    group_commit_service_->Wakeup();
    return result;
  }
  int64_t next = result.phys_offset + result.wrote_bytes;
  if (!group_commit_service_->RequestFlush(next)) {
    SetShuttingDown(result);
    return result;
  }
  int64_t deadline =
      clock_->MonotonicNs() + int64_t{config_.sync_flush_timeout} * 1000000;
  if (!group_commit_service_->WaitFlushed(next, deadline))
    SetNotFlushed(result);
  return result;
}

PutResult CommitLog::PutMessage(const MessageToStore& msg) {
  if (config_.flush_disk_type == FlushDiskType::kAsync ||
      !group_commit_service_) {
    PutResult r = Append(msg, false);
    if (r.ok() && commit_service_) commit_service_->Wakeup();
    return r;
  }
  return WaitForGroupCommit(Append(msg, false), msg);
}

PutResult CommitLog::PutMessages(const MessageToStore& msg) {
  if (config_.flush_disk_type == FlushDiskType::kAsync ||
      !group_commit_service_) {
    PutResult r = Append(msg, true);
    if (r.ok() && commit_service_) commit_service_->Wakeup();
    return r;
  }
  return WaitForGroupCommit(Append(msg, true), msg);
}

void CommitLog::set_puts_fenced(bool fenced) {
  // Under the put lock: once this returns, no put is between its check and
  // its copy.
  MutexLock lock(&put_mu_);
  puts_fenced_.store(fenced, std::memory_order_release);
}

Status CommitLog::TruncateTo(int64_t offset) {
  if (!writeable()) return error();
  MutexLock lock(&put_mu_);
  const int64_t max = queue_.GetMaxWrotePosition();
  if (offset < 0 || offset > max) {
    return Status::InvalidArgument(
        fmt::format("cannot truncate the commitlog to {}: it holds [{}, {})",
                    offset, queue_.GetMinOffset(), max));
  }
  if (offset < queue_.GetMinOffset() && offset != 0) {
    return Status::InvalidArgument(fmt::format(
        "cannot truncate the commitlog to {}, below its min offset {}", offset,
        queue_.GetMinOffset()));
  }
  queue_offsets_.clear();
  if (offset == max) return Status::OK();
  std::shared_ptr<MappedFile> keep = queue_.FindMappedFileByOffset(offset);
  const int32_t old_pos = keep != nullptr ? keep->write_pos() : 0;
  TH_RETURN_IF_ERROR(queue_.TruncateDirtyFiles(offset));
  if (keep != nullptr && keep->base_offset() <= offset &&
      offset < keep->base_offset() + keep->file_size()) {
    const auto pos = static_cast<int32_t>(offset - keep->base_offset());
    if (old_pos > pos) {
      std::span<std::byte> m = keep->mutable_mapping();
      std::memset(m.data() + pos, 0, static_cast<size_t>(old_pos - pos));
      Status s = keep->SyncRange(pos, old_pos);
      if (!s.ok()) {
        MarkNotWriteable(s);
        return s;
      }
    }
  }
  TH_LOG(store, kInfo, "commitlog truncated from {} to {}", max, offset);
  return Status::OK();
}

Status CommitLog::AppendData(int64_t offset, std::span<const std::byte> data) {
  if (!writeable()) return error();
  MutexLock lock(&put_mu_);
  const bool empty = queue_.empty();
  if (empty && offset % file_size() != 0) {
    return Status::InvalidArgument(fmt::format(
        "replicated bytes at {} would start an empty log inside a segment",
        offset));
  }
  const int64_t max = queue_.GetMaxWrotePosition();
  if (!empty && offset != max) {
    return Status::InvalidArgument(fmt::format(
        "replicated bytes at {} do not continue the log, which ends at {}",
        offset, max));
  }
  while (!data.empty()) {
    auto file_r = queue_.GetLastMappedFile(offset);
    if (!file_r.ok()) return file_r.status();
    std::shared_ptr<MappedFile> file = std::move(file_r).value();
    if (file->base_offset() + file->write_pos() != offset) {
      return Status::InvalidArgument(fmt::format(
          "replicated bytes at {} do not match segment {} ending at {}", offset,
          file->base_offset(), file->base_offset() + file->write_pos()));
    }
    std::span<std::byte> dest = file->WritableSpan();
    const size_t n = std::min(dest.size(), data.size());
    if (positional_writes_ && !file->has_pool_buffer()) {
      Status s = file->AppendThroughFile(data.first(n));
      if (!s.ok()) {
        MarkNotWriteable(s);
        return s;
      }
    } else {
      std::memcpy(dest.data(), data.data(), n);
      file->AdvanceWritePos(static_cast<int32_t>(n));
    }
    file->set_store_timestamp(clock_->NowMs());
    data = data.subspan(n);
    offset += static_cast<int64_t>(n);
  }
  return Status::OK();
}

}  // namespace thruster::store
