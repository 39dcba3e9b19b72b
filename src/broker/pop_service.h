#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/consumer_offset_manager.h"
#include "broker/pop_format.h"
#include "broker/request_processor.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "common/mutex.h"
#include "common/service_thread.h"
#include "store/message_store.h"

// The broker's pop bookkeeping (spec/pop.md §2.3, §5, §6, §7): checkpoints of
// popped offsets, their acks, reviving what was not acked in time, the queue
// try-locks, and the order info of orderly (FIFO) pops.
//
// Durability: every checkpoint and ack is first written to the revive topic
// rmq_sys_REVIVE_LOG_<cluster> (queue = the handle's revive queue) in
// RocketMQ's record format, then applied to an in-memory table. Revive runs on
// our own timer (the `pop-revive` thread, every reviveInterval) rather than the
// timer store: a checkpoint is due once now >= popTime + invisibleTime. After a
// checkpoint is revived a batch ack of the offsets it revived is written, so
// the revive topic alone says what is still pending. Load() replays each
// revive queue from CID_RMQ_SYS_REVIVE_GROUP's committed offset (the revive
// offset of the oldest pending checkpoint), so after a restart or a kill -9
// no un-acked message is lost and no acked one is revived; the group's offset
// on each popped queue is raised past every offset a checkpoint names, so
// nothing handed out is handed out again from the queue itself.
//
// Orderly pop state (ConsumerOrderInfo) is kept in memory only: after a
// restart the group offset (the start of the last orderly batch, or past what
// was acked) makes the un-acked messages come again, in order.
//
// Lifecycle: construct → Load() (after the store started) → Start() →
// Stop(). Thread-safe: everything but Load() may be called from any thread;
// ReviveOnce() runs on `pop-revive` and may also be called by tests (calls
// serialise). Every reference must outlive the service.
namespace thruster::broker {

// What the order info says about one orderly pop of a queue (§7.3).
struct OrderPopCounts {
  std::vector<int32_t> counts;  // per popped offset: earlier deliveries
  int32_t min_count = 0;
};

class PopService : public ServiceThread {
 public:
  PopService(const BrokerContext& context, store::MessageStore& store,
             TopicConfigManager& topics, ConsumerOffsetManager& offsets,
             SubscriptionGroupManager* groups);
  ~PopService() override;

  // Creates the revive topic (reviveQueueNum queues) and replays it.
  Status Load();

  const std::string& revive_topic() const { return revive_topic_; }
  int32_t revive_queue_num() const { return revive_queue_num_; }
  // A broker-wide counter modulo reviveQueueNum (§2.3).
  int32_t NextReviveQid();

  // The non-blocking per-queue flag of `<topic>@<group>@<queueId>` (§2.3 step
  // 1): true when taken now; release with UnlockQueue.
  bool TryLockQueue(const std::string& key);
  void UnlockQueue(const std::string& key);

  // Where a pop of (group, topic, queue) starts reading: the committed offset,
  // or the init offset (§2.6, `init_mode` 0 MIN / 1 MAX), committed now.
  int64_t PopStartOffset(std::string_view group, std::string_view topic,
                         int32_t queue_id, int32_t init_mode);

  void CommitOffset(std::string_view group, std::string_view topic,
                    int32_t queue_id, int64_t offset) {
    offsets_.Commit(group, topic, queue_id, offset);
  }
  std::optional<int64_t> CommittedOffset(std::string_view group,
                                         std::string_view topic,
                                         int32_t queue_id) const {
    return offsets_.Query(group, topic, queue_id);
  }

  // Writes `ck` (num > 0) to revive queue `revive_qid` and tracks it until it
  // is acked or revived. An error when the record could not be written (the
  // caller must then not hand the messages out).
  Status AddCheckPoint(PopCheckPoint ck, int32_t revive_qid);
  // Writes an ack (one offset) or batch ack record to `revive_qid` and marks
  // the offsets done in their checkpoint, if it is still pending. Returns
  // whether the checkpoint was pending.
  Result<bool> Ack(const AckMsg& ack, int32_t revive_qid, int64_t revive_time,
                   bool batch);

  // Orderly pop (§7). Blocked: the last pop of the queue has un-acked offsets
  // still invisible at `now_ms`, and `attempt_id` is not that pop's.
  bool OrderBlocked(const std::string& key, int64_t now_ms,
                    std::string_view attempt_id);
  // Replaces the order info of `key` with this pop; returns each offset's
  // delivery count (carried over from the previous pop of the same offsets).
  OrderPopCounts RecordOrderPop(const std::string& key, int64_t pop_time,
                                int64_t invisible_time,
                                const std::vector<int64_t>& offsets,
                                std::string attempt_id);
  // Marks `offset` of the pop at `pop_time` acked. The offset to commit next
  // (first un-acked, or last + 1), nullopt when the pop time is not the
  // stored one (a stale handle: nothing happens); NotFound when the offset is
  // not part of the stored pop.
  Result<std::optional<int64_t>> AckOrderly(const std::string& key,
                                            int64_t offset, int64_t pop_time);
  // Sets the next-visible time of `offset` (§7.5); NotFound when it is not
  // part of the stored pop. Returns the stored pop time.
  Result<int64_t> ChangeOrderlyInvisible(const std::string& key, int64_t offset,
                                         int64_t next_visible_ms);

  // Revives every pending checkpoint whose revive time has passed: each
  // un-acked offset is copied to the pop retry topic (or, past the group's
  // retryMaxTimes, to its DLQ). Returns how many messages were written.
  int ReviveOnce();

  size_t PendingCheckPointsForTesting() const;

 protected:
  void Run() override;

 private:
  struct Pending {
    PopCheckPoint ck;
    int32_t revive_qid = 0;
    int64_t revive_offset = 0;  // queue offset of the ck record
    uint64_t acked = 0;         // bit i: offset i of the checkpoint is done
    bool AllAcked() const {
      return ck.num >= 64 ? acked == ~uint64_t{0}
                          : acked == ((uint64_t{1} << ck.num) - 1);
    }
  };
  struct OrderInfo {
    int64_t pop_time = 0;
    int64_t invisible_time = 0;
    std::vector<int64_t> offsets;
    std::vector<bool> acked;
    std::vector<int64_t> next_visible;
    std::vector<int32_t> counts;
    std::string attempt_id;
  };

  // Writes one revive record; its revive-queue offset.
  Result<int64_t> PutReviveRecord(int32_t revive_qid, std::string_view tag,
                                  const std::string& body,
                                  const std::string& uniq_key,
                                  int64_t deliver_ms);
  void ApplyAckLocked(const AckMsg& ack) TH_REQUIRES(mu_);
  // Replays one revive queue from its committed offset.
  void Replay(int32_t revive_qid);
  // Copies one message to its retry topic or DLQ; false when it must be
  // tried again later (a failed write).
  bool ReviveMessage(const PopCheckPoint& ck, int64_t offset);
  void CommitReviveProgress();
  static bool OrderBlockedLocked(const OrderInfo& info, int64_t now_ms,
                                 std::string_view attempt_id);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  SubscriptionGroupManager* groups_;
  const std::string revive_topic_;
  const int32_t revive_queue_num_;

  mutable Mutex mu_;
  // Pending checkpoints by Key().
  std::map<std::string, Pending> pending_ TH_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> locked_queues_ TH_GUARDED_BY(mu_);
  std::map<std::string, OrderInfo> order_ TH_GUARDED_BY(mu_);
  int64_t revive_counter_ TH_GUARDED_BY(mu_) = 0;
  // Serialises ReviveOnce().
  Mutex revive_mu_;
};

}  // namespace thruster::broker
