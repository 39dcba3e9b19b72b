#include "store/commit_log.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>

#include "common/coding.h"
#include "common/logging.h"
#include "common/service_thread.h"
#include "message/batch_codec.h"
#include "message/properties.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
using message::MessageToStore;
namespace prop = message::prop;
using message::CheckRecord;
using message::EncodeBlank;
using message::EncodeRecord;
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
  }
  return "UNKNOWN_ERROR";
}

// ---------------------------------------------------------------------------------------------------
// `flush` (ASYNC_FLUSH, §8.1): every flushIntervalCommitLog ms, flush at least
// flushCommitLogLeastPages, or everything once per thorough interval; then
// publish the flushed store time into the checkpoint. Between flushes it polls
// every kWritebackPollMs and starts the disk write of new whole pages
// (commitLogWritebackKb, see MessageStoreConfig).
class CommitLog::FlushService final : public ServiceThread {
 public:
  explicit FlushService(CommitLog* log) : ServiceThread("flush"), log_(log) {}
  ~FlushService() override { Stop(); }

 protected:
  void Run() override {
    const auto& c = log_->config_;
    const int64_t interval_ns = int64_t{c.flush_interval_commit_log} * 1000000;
    const int64_t writeback_bytes = int64_t{c.commit_log_writeback_kb} * 1024;
    int64_t last_thorough = log_->clock_->MonotonicNs();
    int64_t last_flush = last_thorough;
    while (!stopped()) {
      int64_t wait_ms = c.flush_interval_commit_log;
      if (writeback_bytes > 0) {
        int64_t until_flush =
            last_flush + interval_ns - log_->clock_->MonotonicNs();
        wait_ms = std::clamp<int64_t>(until_flush / 1000000, 0,
                                      std::min(wait_ms, kWritebackPollMs));
      }
      bool woken = WaitForRunning(wait_ms);
      int64_t now = log_->clock_->MonotonicNs();
      if (writeback_bytes > 0 && !woken && now - last_flush < interval_ns) {
        StartWriteback(writeback_bytes);
        continue;
      }
      last_flush = now;
      int least = c.flush_commit_log_least_pages;
      if (now - last_thorough >=
          int64_t{c.flush_commit_log_thorough_interval} * 1000000) {
        last_thorough = now;
        least = 0;
      }
      FlushOnce(least);
    }
    // Final pass: everything, retried a few times (a segment roll may sit
    // between two calls).
    for (int i = 0; i < 10; ++i) {
      if (FlushOnce(0)) break;
    }
  }

 private:
  static constexpr int64_t kWritebackPollMs = 5;
  static constexpr int64_t kWritebackStepsInFlight = 8;

  void StartWriteback(int64_t step_bytes) {
    if (!log_->writeable()) return;
    // commitLogCacheKeepMb: pages that far behind the writer leave the cache,
    // but never ones dispatch has yet to read.
    int64_t drop_below = -1;
    if (int64_t keep = int64_t{log_->config_.commit_log_cache_keep_mb} << 20;
        keep > 0) {
      drop_below =
          std::max<int64_t>(0, log_->queue_.GetMaxWrotePosition() - keep);
      if (const auto* floor = log_->drop_floor_.load(std::memory_order_acquire))
        drop_below =
            std::min(drop_below, floor->load(std::memory_order_acquire));
    }
    Status s = log_->queue_.Writeback(
        step_bytes, step_bytes * kWritebackStepsInFlight, drop_below);
    if (!s.ok()) log_->MarkNotWriteable(s);
  }
  // Returns true when nothing was left to flush.
  bool FlushOnce(int least) {
    if (!log_->writeable()) return true;
    auto r = log_->queue_.Flush(least);
    if (!r.ok()) {
      log_->MarkNotWriteable(r.status());
      return true;
    }
    int64_t ts = log_->queue_.store_timestamp();
    if (ts > 0) log_->checkpoint_->set_physic_msg_timestamp(ts);
    return *r;
  }
  CommitLog* log_;
};

// ---------------------------------------------------------------------------------------------------
// `commit` (transient store pool only, §8.2): moves bytes from the pool buffers
// into the files.
class CommitLog::CommitService final : public ServiceThread {
 public:
  CommitService(CommitLog* log, ServiceThread* flush)
      : ServiceThread("commit"), log_(log), flush_(flush) {}
  ~CommitService() override { Stop(); }

 protected:
  void Run() override {
    const auto& c = log_->config_;
    int64_t last = log_->clock_->MonotonicNs();
    while (!stopped()) {
      int least = c.commit_commit_log_least_pages;
      int64_t now = log_->clock_->MonotonicNs();
      if (now - last >=
          int64_t{c.commit_commit_log_thorough_interval} * 1000000)
        least = 0;
      bool unchanged = log_->CommitOnce(least);
      if (!unchanged) {
        last = now;
        if (flush_ != nullptr) flush_->Wakeup();
      }
      WaitForRunning(c.commit_interval_commit_log);
    }
    for (int i = 0; i < 10; ++i) {
      if (log_->CommitOnce(0)) break;
    }
  }

 private:
  CommitLog* log_;
  ServiceThread* flush_;
};

// `group-commit` (SYNC_FLUSH, §8.3): requests arriving while one group is being
// synced form the next group; one sync covers the whole group, then every
// request whose end offset is durable completes.
class CommitLog::GroupCommitService final : public ServiceThread {
 public:
  explicit GroupCommitService(CommitLog* log)
      : ServiceThread("group-commit"), log_(log) {}
  ~GroupCommitService() override { Stop(); }

  // False once the service is stopping: the request was not taken.
  bool Add(FlushRequest req) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!accepting_) return false;
      watched_.emplace_back(req.deadline_ns, req.pending);
      writes_.push_back(std::move(req));
    }
    Wakeup();
    return true;
  }

  // A blocking put asks for everything up to `next_offset` to be synced; false
  // once the service is stopping.
  bool RequestFlush(int64_t next_offset) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!accepting_) return false;
    }
    int64_t cur = requested_.load(std::memory_order_relaxed);
    while (cur < next_offset &&
           !requested_.compare_exchange_weak(cur, next_offset,
                                             std::memory_order_release)) {
    }
    Wakeup();
    return true;
  }

  // Waits until flushed_where reaches `next_offset` (true), or until
  // `deadline`, a read-only store or a stop (false).
  bool WaitFlushed(int64_t next_offset,
                   std::chrono::steady_clock::time_point deadline) {
    auto flushed = [&] { return log_->queue_.flushed_where() >= next_offset; };
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_until(lock, deadline, [&] {
      return flushed() || !log_->writeable() || wait_stopped_;
    });
    if (!flushed()) return false;
    ++blocking_served_;
    return true;
  }

  // Completes with FLUSH_DISK_TIMEOUT every request whose deadline passed while
  // a sync hangs (RocketMQ's FlushDiskWatcher). Deadlines grow with arrival
  // (one timeout for all), so the front expires first.
  void ExpireOverdue(int64_t now_ns) {
    std::vector<std::shared_ptr<PendingFlush>> overdue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!watched_.empty() && (watched_.front().second->completed.load(
                                       std::memory_order_acquire) ||
                                   watched_.front().first <= now_ns)) {
        if (!watched_.front().second->completed.load(
                std::memory_order_acquire)) {
          overdue.push_back(std::move(watched_.front().second));
        }
        watched_.pop_front();
      }
    }
    for (auto& p : overdue) p->Complete(false);
  }

 protected:
  void OnStop() override {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
  }
  // Wakes every blocking waiter to look at flushed_where again.
  void NotifyWaiters(bool stopped) {
    {
      std::lock_guard<std::mutex> lock(wait_mu_);
      wait_stopped_ = wait_stopped_ || stopped;
    }
    wait_cv_.notify_all();
  }

  void Run() override {
    while (!stopped()) {
      WaitForRunning(10);
      DoCommit();
    }
    // Serve whatever arrived before the stop.
    DoCommit();
    NotifyWaiters(/*stopped=*/true);
    int64_t requests = requests_ + blocking_served_;
    TH_LOG(store, kDebug,
           "group-commit: {} groups, {} requests ({:.1f} a group), {:.1f} us a "
           "sync on average",
           groups_, requests,
           groups_
               ? static_cast<double>(requests) / static_cast<double>(groups_)
               : 0.0,
           groups_ ? static_cast<double>(sync_ns_) /
                         static_cast<double>(groups_) / 1000.0
                   : 0.0);
  }

 private:
  void DoCommit() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reads_.swap(writes_);
    }
    int64_t target = requested_.load(std::memory_order_acquire);
    bool blocking = target > log_->queue_.flushed_where();
    for (const auto& r : reads_) target = std::max(target, r.next_offset);
    int64_t t0 = log_->clock_->MonotonicNs();
    // Flush until the group's end is durable; a group may span a segment roll
    // (one segment per call), and with the pool the bytes must be committed
    // first.
    for (int i = 0; i < 1000 && log_->writeable(); ++i) {
      if (log_->pool_ != nullptr) log_->CommitOnce(0);
      auto r = log_->queue_.Flush(0);
      if (!r.ok()) {
        log_->MarkNotWriteable(r.status());
        break;
      }
      if (log_->queue_.flushed_where() >= target) break;
      if (*r) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int64_t flushed = log_->queue_.flushed_where();
    if (blocking || !reads_.empty()) {
      ++groups_;
      requests_ += static_cast<int64_t>(reads_.size());
      sync_ns_ += log_->clock_->MonotonicNs() - t0;
    }
    if (blocking) NotifyWaiters(/*stopped=*/false);
    for (auto& r : reads_) r.pending->Complete(flushed >= r.next_offset);
    reads_.clear();
    int64_t ts = log_->queue_.store_timestamp();
    if (ts > 0) log_->checkpoint_->set_physic_msg_timestamp(ts);
  }

  CommitLog* log_;
  std::mutex mu_;
  std::vector<FlushRequest> writes_;  // guarded by mu_
  std::deque<std::pair<int64_t, std::shared_ptr<PendingFlush>>>
      watched_;                      // guarded by mu_
  bool accepting_ = true;            // guarded by mu_
  std::vector<FlushRequest> reads_;  // confined to this thread
  // Blocking puts: the highest end offset asked for, and the signal they wait
  // on.
  std::atomic<int64_t> requested_{0};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool wait_stopped_ = false;    // guarded by wait_mu_
  int64_t blocking_served_ = 0;  // guarded by wait_mu_ (debug statistics)
  int64_t groups_ = 0, requests_ = 0,
          sync_ns_ = 0;  // confined to this thread (debug statistics)
};

// `flush-watcher`: times out sync puts whose flush hangs past syncFlushTimeout.
class CommitLog::FlushWatcher final : public ServiceThread {
 public:
  FlushWatcher(CommitLog* log, GroupCommitService* gc)
      : ServiceThread("flush-watcher"), log_(log), gc_(gc) {}
  ~FlushWatcher() override { Stop(); }

 protected:
  void Run() override {
    while (!stopped()) {
      WaitForRunning(10);
      gc_->ExpireOverdue(log_->clock_->MonotonicNs());
    }
  }

 private:
  CommitLog* log_;
  GroupCommitService* gc_;
};

// ---------------------------------------------------------------------------------------------------

CommitLog::CommitLog(io::FileSystem* fs, const MessageStoreConfig& config,
                     Checkpoint* checkpoint, const Clock* clock)
    : fs_(fs),
      config_(config),
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
                          !config.data_read_ahead_enable, 5000})),
      queue_(fs, config.CommitLogDir(), config.mapped_file_size_commit_log,
             allocator_.get(), pool_.get()),
      positional_writes_(!config.transient_store_pool_enable &&
                         (config.write_without_mmap ||
                          config.flush_disk_type == FlushDiskType::kSync)),
      touch_ahead_(config.pre_touch_mapped_file &&
                   !config.warm_maped_file_enable &&
                   config.flush_disk_type == FlushDiskType::kAsync &&
                   !config.write_without_mmap) {}

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
    group_commit_service_ = std::make_unique<GroupCommitService>(this);
    group_commit_service_->Start();
    flush_watcher_ =
        std::make_unique<FlushWatcher>(this, group_commit_service_.get());
    flush_watcher_->Start();
  } else {
    flush_service_ = std::make_unique<FlushService>(this);
    flush_service_->Start();
  }
  if (pool_ != nullptr) {
    commit_service_ = std::make_unique<CommitService>(
        this, flush_service_ ? static_cast<ServiceThread*>(flush_service_.get())
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
  return config_.flush_disk_type == FlushDiskType::kSync
             ? queue_.flushed_where()
             : queue_.GetMaxOffset();
}

std::optional<SelectResult> CommitLog::GetData(int64_t offset) const {
  auto f = queue_.FindMappedFileByOffset(offset, offset == 0);
  if (f == nullptr) return std::nullopt;
  int64_t pos = offset - f->base_offset();
  if (pos < 0) return std::nullopt;
  return f->Select(static_cast<int32_t>(pos));
}

std::optional<SelectResult> CommitLog::GetMessage(int64_t offset,
                                                  int32_t size) const {
  auto f = queue_.FindMappedFileByOffset(offset);
  if (f == nullptr) return std::nullopt;
  return f->Select(static_cast<int32_t>(offset - f->base_offset()), size);
}

namespace {
void QueueKey(std::string* key, std::string_view topic, int32_t queue_id) {
  key->assign(topic);
  key->push_back('-');
  char buf[16];
  auto n = fmt::format_to_n(buf, sizeof(buf), "{}", queue_id).size;
  key->append(buf, n);
}
}  // namespace

void CommitLog::SetQueueOffset(std::string_view topic, int32_t queue_id,
                               int64_t next) {
  std::string key;
  QueueKey(&key, topic, queue_id);
  MutexLock lock(&put_mu_);
  queue_offsets_[key] = next;
}

int64_t CommitLog::GetQueueOffset(std::string_view topic,
                                  int32_t queue_id) const {
  std::string key;
  QueueKey(&key, topic, queue_id);
  MutexLock lock(&put_mu_);
  auto it = queue_offsets_.find(key);
  return it == queue_offsets_.end() ? 0 : it->second;
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

PutResult CommitLog::Append(const MessageToStore& msg, bool batch) {
  if (!writeable())
    return Failed(PutStatus::kServiceNotAvailable,
                  "store is not writeable: " + error().ToString());
  thread_local std::string buf;
  thread_local std::vector<int32_t> sizes;
  thread_local std::string key;
  buf.clear();
  sizes.clear();
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
    auto r = EncodeRecord(msg, config_.max_message_size, &buf);
    if (!r.ok()) {
      bool props =
          msg.properties.size() > static_cast<size_t>(kMaxPropertiesLength);
      return Failed(props ? PutStatus::kPropertiesSizeExceeded
                          : PutStatus::kMessageIllegal,
                    std::string(r.status().message()));
    }
    sizes.push_back(*r);
  }
  int32_t total = static_cast<int32_t>(buf.size());
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
  MutexLock lock(&put_mu_);
  int64_t now = std::max(clock_->NowMs(), last_store_timestamp_);
  last_store_timestamp_ = now;
  auto file_r = queue_.GetLastMappedFile(0);
  if (!file_r.ok()) {
    return Failed(
        PutStatus::kCreateMappedFileFailed,
        "cannot create a CommitLog segment: " + file_r.status().ToString());
  }
  std::shared_ptr<MappedFile> file = std::move(file_r).value();
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
      int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
      allocator_->ScheduleMunlock(file, now_ms + 6000);
    }
    file_r = queue_.GetLastMappedFile(0);
    if (!file_r.ok()) {
      return Failed(
          PutStatus::kCreateMappedFileFailed,
          "cannot create a CommitLog segment: " + file_r.status().ToString());
    }
    file = std::move(file_r).value();
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
    rec += sizes[i];
    p += sizes[i];
  }
  if (positional_writes_ && !file->has_pool_buffer()) {
    Status s = file->AppendThroughFile(AsBytes(buf));
    if (!s.ok()) {
      MarkNotWriteable(s);
      return Failed(PutStatus::kServiceNotAvailable, s.ToString());
    }
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
      allocator_->RequestPreTouch(file);
    }
  }
  result.status = PutStatus::kPutOk;
  result.wrote_bytes = total;
  result.msg_num = static_cast<int32_t>(sizes.size());
  result.store_timestamp = now;
  return result;
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
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(config_.sync_flush_timeout);
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

// ---------------------------------------------------------------------------------------------------
// Recovery

namespace {

// Validates the record at `pos` of a segment: §2.9 plus the hardening of §10.5
// (stored phys offset must equal the position).
RecordCheck CheckAt(const MappedFile& f, int32_t pos, bool check_crc) {
  auto bytes = f.mapping().subspan(static_cast<size_t>(pos));
  RecordCheck c = CheckRecord(bytes, check_crc);
  if (c.status == RecordStatus::kOk &&
      c.record.phys_offset != f.base_offset() + pos) {
    c.status = RecordStatus::kCorrupt;
    c.error = "stored phys offset differs from the record's position";
  }
  return c;
}

}  // namespace

Result<RecoveryStats> CommitLog::Recover(bool last_exit_ok,
                                         int64_t dispatch_from,
                                         const RecoveryDispatchFn& dispatch) {
  auto t0 = std::chrono::steady_clock::now();
  RecoveryStats stats;
  auto files = queue_.Snapshot();
  const bool crc = config_.check_crc_on_recover;
  if (files.empty()) {
    queue_.set_flushed_where(0);
    queue_.set_committed_where(0);
    TH_LOG(store, kInfo, "recovery: empty commitlog");
    return stats;
  }
  // Start segment: walking back from the newest, the first whose first record
  // is valid and old enough.
  size_t start = 0;
  CheckpointData cp = checkpoint_->Get();
  int64_t min_ts = MinTimestamp(cp);
  // The newest index file is only durable once rolled or at a clean stop, and
  // abnormal loading drops index files newer than the checkpoint: start early
  // enough to index those records again (RocketMQ's messageIndexSafe rule,
  // always on), so every recovered record is reachable by key.
  if (config_.message_index_enable)
    min_ts = std::min(min_ts, cp.index_msg_timestamp);
  for (size_t i = files.size(); i-- > 0;) {
    RecordCheck c = CheckAt(*files[i], 0, crc);
    if (c.status != RecordStatus::kOk || c.record.store_timestamp == 0)
      continue;
    bool ok = last_exit_ok
                  ? c.record.phys_offset <= std::max(dispatch_from, int64_t{0})
                  : c.record.store_timestamp <= min_ts;
    if (ok) {
      start = i;
      break;
    }
  }
  int64_t process_offset = files[start]->base_offset();
  std::string stop_reason = "end of data";
  for (size_t i = start; i < files.size(); ++i) {
    const MappedFile& f = *files[i];
    ++stats.files_scanned;
    int32_t pos = 0;
    bool next_file = false;
    while (pos < f.file_size()) {
      RecordCheck c = CheckAt(f, pos, crc);
      if (c.status == RecordStatus::kOk) {
        int64_t phys = f.base_offset() + pos;
        if (!last_exit_ok || phys >= dispatch_from)
          dispatch(c.record, phys, c.size);
        ++stats.records;
        pos += c.size;
        process_offset = f.base_offset() + pos;
        continue;
      }
      if (c.status == RecordStatus::kBlank) {
        next_file = i + 1 < files.size();
        if (next_file) process_offset = files[i + 1]->base_offset();
        break;
      }
      bool all_zero =
          c.size <= 0 && f.mapping()[static_cast<size_t>(pos)] == std::byte{0};
      if (!all_zero || c.status != RecordStatus::kTorn) {
        stop_reason = fmt::format("{} at {} (file pos {}): {}", f.path(),
                                  f.base_offset() + pos, pos, c.error);
      }
      break;
    }
    if (!next_file) break;
  }
  // What lies beyond the recovered end and looked like data: from the cut (and
  // from the start of every later segment) up to the first all-zero page.
  for (auto& f : files) {
    int64_t end = f->base_offset() + f->file_size();
    if (end <= process_offset) continue;
    int64_t from = std::max<int64_t>(0, process_offset - f->base_offset());
    auto m = f->mapping();
    int64_t p = from;
    while (p < f->file_size()) {
      int64_t page_end = std::min<int64_t>((p / kOsPageSize + 1) * kOsPageSize,
                                           f->file_size());
      bool zero = true;
      for (int64_t q = p; q < page_end && zero; ++q)
        zero = m[static_cast<size_t>(q)] == std::byte{0};
      if (zero) break;
      p = page_end;
    }
    stats.bytes_truncated += p - from;
  }
  stats.process_offset = process_offset;
  queue_.set_flushed_where(process_offset);
  queue_.set_committed_where(process_offset);
  TH_RETURN_IF_ERROR(queue_.TruncateDirtyFiles(process_offset));
  // Zero the 8 bytes at the new end so a second crash cannot resurrect a stale
  // record behind the cut.
  if (auto last = queue_.GetLastMappedFile(); last != nullptr) {
    int32_t pos = last->write_pos();
    if (pos + kBlankMinLength <= last->file_size()) {
      auto m = last->mutable_mapping();
      bool dirty = false;
      for (int k = 0; k < kBlankMinLength; ++k)
        dirty |= m[static_cast<size_t>(pos + k)] != std::byte{0};
      if (dirty) {
        std::memset(m.data() + pos, 0, kBlankMinLength);
        TH_RETURN_IF_ERROR(last->SyncRange(pos, pos + kBlankMinLength));
      }
    }
  }
  stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  TH_LOG(store, kInfo,
         "recovery ({}): scanned {} files, {} records, recovered end {}, "
         "dropped {} bytes ({}), {:.3f} s",
         last_exit_ok ? "normal" : "abnormal", stats.files_scanned,
         stats.records, process_offset, stats.bytes_truncated, stop_reason,
         stats.seconds);
  return stats;
}

}  // namespace thruster::store
