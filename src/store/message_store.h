#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"
#include "store/consume_queue.h"
#include "store/consume_queue_store.h"
#include "store/index_service.h"
#include "store/io/file_system.h"
#include "store/message_store_config.h"
#include "store/recovery.h"
#include "store/replica_waiter.h"
#include "store/reput_service.h"

// The store facade (store spec §9, §10, §12, §14): the only thing the broker
// uses. Owns the CommitLog, every ConsumeQueue (ConsumeQueueStore), the
// IndexService, the checkpoint, the `lock` and `abort` files, and the services
// it wires together: `dispatch` (ReputService), `flush-cq`
// (FlushConsumeQueueService) and `clean` (Cleaner); Recovery runs in Load().
// Pulls and queries run here, on the caller's thread.
//
// Lifecycle: construct → Load() (lock, load, recover) → Start() →
// Put…/Get…/Query… → Shutdown() → destroy. Thread-safety: every public method
// is thread-safe once Load() returned OK.
namespace thruster::store {

class Cleaner;
class FlushConsumeQueueService;

// RocketMQ's GetMessageStatus.
enum class GetMessageStatus {
  kFound,
  kNoMatchedMessage,
  kMessageWasRemoving,
  kOffsetFoundNull,
  kOffsetOverflowBadly,
  kOffsetOverflowOne,
  kOffsetTooSmall,
  kNoMatchedLogicQueue,
  kNoMessageInQueue,
};
std::string_view GetMessageStatusName(GetMessageStatus s);

// Broker-side tag filtering by tagsCode (the tag's jhash), as RocketMQ's
// ExpressionType.TAG "codeSet". Empty → every message matches.
struct TagFilter {
  std::vector<int64_t> codes;
  bool Matches(int64_t tags_code) const;
};

// A pulled batch. Each message is one whole stored record, a zero-copy view
// into its CommitLog segment (the SelectResult holds the segment mapped until
// it is dropped).
struct GetMessageResult {
  GetMessageStatus status = GetMessageStatus::kNoMessageInQueue;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  std::vector<SelectResult> messages;
  int64_t buffer_total_size = 0;
  bool suggest_pulling_from_slave = false;
};

struct QueryMessageResult {
  std::vector<SelectResult>
      messages;  // whole records whose KEYS or UNIQ_KEY equals the key
  int64_t index_last_update_timestamp = 0;
  int64_t index_last_update_phys_offset = 0;
  int64_t buffer_total_size = 0;
};

struct StoreRecoveryReport {
  bool last_exit_ok = true;
  RecoveryStats commit_log;
  int consume_queues = 0;
  double seconds = 0;
};

class MessageStore {
 public:
  // `fs` and `clock` must outlive the store.
  MessageStore(io::FileSystem* fs, MessageStoreConfig config,
               const Clock* clock = SystemClock::Default());
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // Takes the `lock` (Busy when another process holds the store), loads every
  // file and recovers (normal, or abnormal when `abort` is present): afterwards
  // every CommitLog record is reachable by queue offset and by key, and nothing
  // beyond it is.
  Status Load();
  // Starts the CommitLog services, dispatch, flush-cq and clean, then creates
  // `abort`.
  Status Start();
  // Stops every thread, flushes everything, writes the checkpoint, removes
  // `abort` (when writeable and dispatch caught up) and releases `lock`.
  // Idempotent.
  void Shutdown();

  void SetMessageArrivingListener(MessageArrivingListener listener);

  // See CommitLog::PutMessage and friends.
  PutResult PutMessage(const message::MessageToStore& msg);
  void AsyncPutMessage(const message::MessageToStore& msg,
                       std::function<void(PutResult)> done);
  PutResult PutMessages(const message::MessageToStore& batch);
  void AsyncPutMessages(const message::MessageToStore& batch,
                        std::function<void(PutResult)> done);

  // Spec §12.1: up to `max_msgs` messages (and about `max_total_bytes`) of
  // topic/queue from `offset`, filtered by tag code.
  GetMessageResult GetMessage(std::string_view group, std::string_view topic,
                              int32_t queue_id, int64_t offset,
                              int32_t max_msgs, int64_t max_total_bytes,
                              const TagFilter* filter = nullptr);

  int64_t GetMaxOffsetInQueue(std::string_view topic, int32_t queue_id) const;
  int64_t GetMinOffsetInQueue(std::string_view topic, int32_t queue_id) const;
  // Phys offset of the message at `queue_offset`, 0 when there is none.
  int64_t GetCommitLogOffsetInQueue(std::string_view topic, int32_t queue_id,
                                    int64_t queue_offset) const;
  // The consume-queue unit at `queue_offset` (phys offset, size, tagsCode);
  // nullopt when the queue has no valid unit there. The schedule service reads
  // delivery times from SCHEDULE_TOPIC_XXXX's tagsCodes this way.
  std::optional<cq_format::Entry> GetQueueEntry(std::string_view topic,
                                                int32_t queue_id,
                                                int64_t queue_offset) const;
  // Spec §12.4: the queue offset of the first message stored at or after
  // `timestamp` (upper boundary: the last one at or before it).
  int64_t GetOffsetInQueueByTime(
      std::string_view topic, int32_t queue_id, int64_t timestamp,
      BoundaryType boundary = BoundaryType::kLower) const;
  // Store time of the queue's first message; -1 when none.
  int64_t GetEarliestMessageTime(std::string_view topic,
                                 int32_t queue_id) const;
  // Store time of the CommitLog's first message (the one at the min phys
  // offset, whatever its topic); -1 when the CommitLog holds none.
  int64_t GetEarliestMessageTime() const;
  int64_t GetMessageStoreTimestamp(std::string_view topic, int32_t queue_id,
                                   int64_t queue_offset) const;

  // The whole record at phys offset `phys` (msgId lookup, spec §12.2); nullopt
  // when not a readable record.
  std::optional<SelectResult> LookMessageByOffset(int64_t phys) const;
  // Records whose KEYS or UNIQ_KEY is `key`, newest first, stored in [begin,
  // end] ms (spec §12.3); hash collisions are filtered out by comparing the
  // real key.
  QueryMessageResult QueryMessage(std::string_view topic, std::string_view key,
                                  int32_t max_num, int64_t begin,
                                  int64_t end) const;

  int64_t GetMinPhyOffset() const { return commit_log_->GetMinOffset(); }
  int64_t GetMaxPhyOffset() const { return commit_log_->GetMaxOffset(); }
  int64_t dispatch_behind_bytes() const;
  // Every (topic, queueId) that has a consume queue.
  std::vector<std::pair<std::string, int32_t>> ListQueues() const;
  // Removes the consume queues of `topic` and forgets its queue offsets
  // (deleteTopic).
  Status DeleteTopic(std::string_view topic);
  // A consume queue CleanExpiredConsumeQueues() destroyed: its newest entry
  // ended at `last_phys_end`, at or below the CommitLog's min offset then.
  struct ExpiredConsumeQueue {
    std::string topic;
    int32_t queue_id = 0;
    int64_t last_phys_end = 0;
    int64_t commit_log_min_offset = 0;
  };
  // CLEAN_EXPIRED_CONSUMEQUEUE (RocketMQ's cleanExpiredConsumerQueue):
  // destroys every consume queue, but the schedule topic's, whose entries all
  // point below the CommitLog's min offset (the messages are gone), and
  // forgets its queue offset. An empty queue is kept (it may have been created
  // just now). Returns what it removed.
  Result<std::vector<ExpiredConsumeQueue>> CleanExpiredConsumeQueues();
  // Key/value figures for GET_BROKER_RUNTIME_INFO and `thruster store info`.
  std::map<std::string, std::string> RuntimeInfo() const;
  // Size and free space of the disk holding storePathRootDir.
  Result<io::DiskUsage> RootDiskUsage() const {
    return fs_->GetDiskUsage(config_.store_path_root_dir);
  }

  const MessageStoreConfig& config() const { return config_; }
  io::FileSystem* file_system() const { return fs_; }
  // The role now (brokerRole at start; a controller may change it later). A
  // SLAVE refuses every put with SERVICE_NOT_AVAILABLE (ha spec §3.3).
  BrokerRole broker_role() const {
    return role_.load(std::memory_order_acquire);
  }
  void set_broker_role(BrokerRole role);
  // Controller mode's fencing (spec/ha.md §7.10): unless the steady clock
  // (std::chrono::steady_clock, ms) is before `deadline_ms`, every put is
  // refused and a put already in the CommitLog is answered
  // SERVICE_NOT_AVAILABLE instead of being acknowledged. The check runs when
  // each answer is made, so a process that was paused past its deadline finds
  // itself fenced before it acknowledges anything. INT64_MAX (the default):
  // never fenced; 0: fenced now.
  void set_write_deadline(int64_t deadline_ms) {
    write_deadline_ms_.store(deadline_ms, std::memory_order_release);
  }
  bool write_fenced() const;
  // SYNC_MASTER: puts that wait (WAIT absent or true) complete only through
  // `waiter` (ha spec §4.1). Null: no replication wait. `waiter` must outlive
  // every put; set before Start() or while no put runs.
  void SetReplicaWaiter(ReplicaWaiter* waiter) {
    replica_waiter_.store(waiter, std::memory_order_release);
  }
  // After a successful Load(). commitLogCacheKeepMb=-1: `source` tells the
  // flush thread the lowest phys offset a live consumer group still has to read
  // (see CacheKeepPolicy). It is called on the `flush` thread about once a
  // second and must stay callable until Shutdown() returns or another source
  // replaces it.
  void SetReaderFloorSource(CacheKeepPolicy::ReaderFloorSource source) {
    commit_log_->cache_keep().SetReaderFloorSource(std::move(source));
  }
  // A slave's copy (ha spec §3.1): appends `data`, the master's bytes at
  // `offset`, which must equal the max phys offset (or start a new log).
  Status AppendToCommitLog(int64_t offset, std::span<const std::byte> data);
  // Controller mode (ha spec §7.6, §7.8 step 1, §7.9; RocketMQ's
  // truncateFiles): cuts the CommitLog back to min(`offset`, the end of its
  // last complete record), so bytes received but not parseable go too, and
  // makes the rest follow: every record before the cut is dispatched first
  // (only up to the replica confirm offset, when one holds dispatch back),
  // consume queues drop their units at or after the cut
  // (truncateDirtyLogicFiles), the index forgets them, each queue's next
  // offset comes from its consume queue again, dispatch resumes at the cut
  // (or where the confirm offset held it), the checkpoint's confirm offset is
  // capped by it. Runs beside the store's
  // threads; puts must be fenced (FenceWrites) or the role SLAVE with no
  // replication running. Returns the cut; INT64_MAX cuts only the tail.
  Result<int64_t> TruncateTo(int64_t offset);
  // Controller mode, once after Load (ReplicationManager::Start; RocketMQ 5
  // loads its confirm offset from the checkpoint, store spec §9.1 "Start
  // value"): dispatch goes no further than the confirm offset the checkpoint
  // held at Load (within the CommitLog) until replication sets another
  // (CommitLog::set_replica_confirm_offset); the queue units and index entries
  // recovery made for records past it are dropped again; from then on every
  // checkpoint keeps the confirm offset. So a slave's consumers never see,
  // after a restart, a record its master did not confirm. A checkpoint
  // holding 0 (a store that never kept one) limits nothing. Later calls do
  // nothing; without it the checkpoint's field keeps its loaded value, as
  // static roles need.
  Status KeepConfirmOffset();
  // Fencing (ha spec §7.10): while fenced every put fails with
  // SERVICE_NOT_AVAILABLE; replicated bytes still go in. On return no put is
  // in the middle of its append.
  void FenceWrites(bool fenced) { commit_log_->set_puts_fenced(fenced); }
  bool writes_fenced() const { return commit_log_->puts_fenced(); }
  CommitLog& commit_log() { return *commit_log_; }
  Checkpoint& checkpoint() { return *checkpoint_; }
  const StoreRecoveryReport& recovery_report() const { return recovery_; }
  // Blocks until dispatch has caught up with the CommitLog's confirm offset
  // (tests, tools); false on timeout.
  bool WaitForDispatch(int64_t timeout_ms) const;
  // True while disk usage is above diskSpaceWarningLevelRatio: every put is
  // refused.
  bool disk_full() const;
  // Runs one retention pass now (the `clean` thread does it every
  // cleanResourceInterval).
  void CleanNowForTesting();

 private:
  // Load()'s recovery steps (see Recovery).
  Status Recover(bool last_exit_ok);
  std::shared_ptr<ConsumeQueue> FindConsumeQueue(std::string_view topic,
                                                 int32_t queue_id) const {
    return queues_->FindConsumeQueue(topic, queue_id);
  }

  io::FileSystem* fs_;
  MessageStoreConfig config_;
  const Clock* clock_;
  std::unique_ptr<io::FileLock> lock_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<CommitLog> commit_log_;
  std::unique_ptr<ConsumeQueueStore> queues_;
  std::unique_ptr<IndexService> index_;
  // Built in Load() (recovery dispatches through reput_), started in Start().
  std::unique_ptr<ReputService> reput_;
  std::unique_ptr<FlushConsumeQueueService> flush_cq_service_;
  std::unique_ptr<Cleaner> cleaner_;
  StoreRecoveryReport recovery_;
  // SLAVE refusal and the SYNC_MASTER wait (see broker_role()).
  bool RefusedAsSlave(PutResult* refusal) const;
  // A SYNC_MASTER put that will wait, refused by the ReplicaWaiter before it
  // is appended.
  bool RefusedByReplicas(const message::MessageToStore& msg,
                         PutResult* refusal) const;
  // Routes a completed put through the replica waiter when it must wait.
  void AfterPut(bool waits, PutResult result,
                std::function<void(PutResult)> done);
  PutResult AfterPutBlocking(const message::MessageToStore& msg,
                             PutResult result);
  std::atomic<BrokerRole> role_;
  // See set_write_deadline(); read on every answer.
  std::atomic<int64_t> write_deadline_ms_{INT64_MAX};
  std::atomic<ReplicaWaiter*> replica_waiter_{nullptr};
  bool loaded_ = false;
  bool started_ = false;
  int64_t loaded_confirm_offset_ = 0;  // the checkpoint's, at Load
  bool confirm_offset_kept_ = false;   // KeepConfirmOffset ran
  bool shut_down_ = false;
};

}  // namespace thruster::store
