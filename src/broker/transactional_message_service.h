#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/consumer_offset_manager.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "common/mutex.h"
#include "common/status.h"
#include "message/commit_log_format.h"
#include "message/message.h"
#include "remoting/remoting_command.h"
#include "store/message_store.h"

// Transactional messages on the broker side (spec/transactions.md): half
// records in RMQ_SYS_TRANS_HALF_TOPIC, op records ("this half message is done")
// in RMQ_SYS_TRANS_OP_HALF_TOPIC, and the check-back pass that asks a producer
// of the group about half messages nobody resolved. Progress lives where
// RocketMQ keeps it: the committed offsets of group CID_RMQ_SYS_TRANS on the
// half and op queues (consumerOffset.json), rebuilt against the op queue on
// every pass, so a restart neither forgets a resolved message nor loses an
// unresolved one.
namespace thruster::broker {

inline constexpr std::string_view kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr std::string_view kTransOpHalfTopic =
    "RMQ_SYS_TRANS_OP_HALF_TOPIC";
inline constexpr std::string_view kTransCheckMaxTimeTopic =
    "TRANS_CHECK_MAX_TIME_TOPIC";
inline constexpr std::string_view kTransSysGroup = "CID_RMQ_SYS_TRANS";
// The tag of every op record.
inline constexpr std::string_view kTransOpTag = "d";

// Property names of transactional messages (spec §1).
namespace txn_prop {
inline constexpr std::string_view kTranMsg = "TRAN_MSG";
inline constexpr std::string_view kProducerGroup = "PGROUP";
inline constexpr std::string_view kTransactionId = "__transactionId__";
inline constexpr std::string_view kCheckTimes = "TRANSACTION_CHECK_TIMES";
inline constexpr std::string_view kCheckImmunity =
    "CHECK_IMMUNITY_TIME_IN_SECONDS";
inline constexpr std::string_view kPreparedQueueOffset =
    "TRAN_PREPARED_QUEUE_OFFSET";
}  // namespace txn_prop

// True when a sent message is a prepared (half) message (spec §2): its TRAN_MSG
// property parses as true, unless it is a consumer's resend of a committed one
// (reconsume times and DELAY both > 0).
bool IsPreparedMessage(std::string_view properties, int32_t reconsume_times);
// The same, from the properties' TRAN_MSG and DELAY values as FindProperty
// gives them (for a caller that found them in one scan with others).
bool IsPreparedMessage(std::optional<std::string_view> tran_msg,
                       std::optional<std::string_view> delay,
                       int32_t reconsume_times);

// Rewrites a prepared message into its half record (spec §2 step 2):
// REAL_TOPIC, REAL_QID and __transactionId__ added, sysflag transaction bits
// cleared, topic RMQ_SYS_TRANS_HALF_TOPIC queue 0. `*properties` receives the
// new properties text, which `msg` then points at. Creates the half topic (1
// queue) on first use; an error when that fails.
Status PrepareHalfMessage(TopicConfigManager& topics,
                          message::MessageToStore* msg,
                          std::string* properties);

// Sends CHECK_TRANSACTION_STATE (oneway) to a live connection of the producer
// group; NotFound when the group has none.
using TransactionCheckSender = std::function<Status(
    std::string_view producer_group, remoting::RemotingCommand request)>;

struct TransactionCheckOptions {
  int64_t transaction_timeout_ms = 6000;  // transactionTimeOut
  int32_t transaction_check_max = 15;     // transactionCheckMax
};

// Op records and the check pass. Thread-safe: MarkDone from any thread (an
// END_TRANSACTION completion); WriteOps and CheckOnce serialise on their own
// mutex and run on `trans-check` (tests call them directly). Everything given
// to the constructor must outlive it.
class TransactionalMessageService {
 public:
  TransactionalMessageService(const BrokerContext& context,
                              store::MessageStore& store,
                              TopicConfigManager& topics,
                              ConsumerOffsetManager& offsets,
                              TransactionCheckSender sender,
                              TransactionCheckOptions options);

  // Records that the half message at `half_queue_offset` of half queue
  // `queue_id` is committed or rolled back. The op record is written by the
  // next WriteOps(); `on_queued` (the check thread's wake-up) runs after.
  void MarkDone(int32_t queue_id, int64_t half_queue_offset);
  void set_on_queued(std::function<void()> f) { on_queued_ = std::move(f); }
  // Writes every queued completion as op records (one per half queue, body
  // "7,9," as RocketMQ 5 batches them), durable as the store's flush mode
  // makes any put. On a failed put the completions stay queued and the error
  // is returned.
  Status WriteOps() TH_EXCLUDES(op_mu_);
  bool HasQueuedOps() const TH_EXCLUDES(op_mu_);

  // One check pass (spec §5) at the context clock's now: half messages older
  // than transactionTimeOut with no op record are re-appended with their check
  // count raised and CHECK_TRANSACTION_STATE goes to their producer group;
  // those checked transactionCheckMax times (or older than fileReservedTime)
  // are moved to TRANS_CHECK_MAX_TIME_TOPIC. Commits the progress as
  // CID_RMQ_SYS_TRANS offsets. Returns how many checks were sent.
  int CheckOnce() TH_EXCLUDES(check_mu_);

  // Commit de-duplication (spec §9 item 1): a half message can be committed
  // twice (a late producer-initiated END_TRANSACTION naming the original and
  // the answer to a check naming its copy, or two answers to two checks). The
  // first commit of a UNIQ_KEY returns true and the caller puts the message;
  // later ones return false and the caller only marks the half message done.
  // Remembers the last kCommittedKeys keys of this process's life.
  bool BeginCommit(std::string_view uniq_key) TH_EXCLUDES(commit_mu_);
  // The put of a begun commit failed: a later commit may try again.
  void AbortCommit(std::string_view uniq_key) TH_EXCLUDES(commit_mu_);
  static constexpr size_t kCommittedKeys = 65536;

 private:
  // One op record loaded in a pass: how many of its offsets are still waiting
  // for their half message to be walked past.
  struct OpState {
    int pending = 0;
  };
  int CheckQueue(int32_t queue_id, int64_t start_ms) TH_REQUIRES(check_mu_);
  // The half record at `offset`, or nullopt (the status says why).
  std::optional<store::SelectResult> ReadOne(std::string_view topic,
                                             int32_t queue_id, int64_t offset,
                                             int64_t* next_offset);
  // Appends a copy of `rec` to the half topic with `properties` (spec §5.1).
  store::PutResult Renew(const message::DecodedRecord& rec,
                         const std::string& properties);
  // Moves a half message aside after too many checks (spec §5.2).
  void Discard(const message::DecodedRecord& rec);
  // Builds and sends CHECK_TRANSACTION_STATE for the copy at `copy`.
  bool SendCheck(const message::DecodedRecord& rec,
                 const std::map<std::string, std::string, std::less<>>& props,
                 const std::string& properties, const store::PutResult& copy);

  const BrokerContext& context_;
  store::MessageStore& store_;
  TopicConfigManager& topics_;
  ConsumerOffsetManager& offsets_;
  const TransactionCheckSender sender_;
  const TransactionCheckOptions options_;
  std::function<void()> on_queued_;

  mutable Mutex op_mu_;
  // Half queue id → completed half queue offsets not yet written.
  std::map<int32_t, std::vector<int64_t>> queued_ops_ TH_GUARDED_BY(op_mu_);
  Mutex write_mu_;  // one WriteOps at a time, so op records keep their order
  Mutex check_mu_;
  Mutex commit_mu_;
  std::set<std::string, std::less<>> committed_ TH_GUARDED_BY(commit_mu_);
  std::deque<std::string> committed_order_ TH_GUARDED_BY(commit_mu_);
};

}  // namespace thruster::broker
