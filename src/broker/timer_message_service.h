#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "message/message.h"
#include "store/message_store.h"
#include "store/timer_checkpoint.h"
#include "store/timer_log.h"
#include "store/timer_wheel.h"

// RocketMQ 5's timer messages (spec/schedule-and-timer.md §5, §6): the
// put-time transform that parks a message with TIMER_DELIVER_MS /
// TIMER_DELAY_SEC / TIMER_DELAY_MS in rmq_sys_wheel_timer, and the timer store
// that indexes parked messages in the `timerwheel` and `timerlog` files and
// puts each back into its real topic once its slot has passed.
namespace thruster::broker {

inline constexpr std::string_view kTimerTopic = "rmq_sys_wheel_timer";

namespace timer_prop {
inline constexpr std::string_view kDeliverMs = "TIMER_DELIVER_MS";
inline constexpr std::string_view kDelaySec = "TIMER_DELAY_SEC";
inline constexpr std::string_view kDelayMs = "TIMER_DELAY_MS";
inline constexpr std::string_view kOutMs = "TIMER_OUT_MS";
inline constexpr std::string_view kEnqueueMs = "TIMER_ENQUEUE_MS";
inline constexpr std::string_view kDequeueMs = "TIMER_DEQUEUE_MS";
inline constexpr std::string_view kRollTimes = "TIMER_ROLL_TIMES";
inline constexpr std::string_view kDelUniqKey = "TIMER_DEL_UNIQKEY";
}  // namespace timer_prop

// Why a send's timer properties were refused: the response code and remark
// RocketMQ's SendMessageProcessor answers.
struct TimerRefusal {
  int32_t code;
  std::string remark;
};

// Removes every `name=value` pair from a properties text.
void RemoveProperty(std::string* props, std::string_view name);

// The put-time transform (§5.1, HookUtils.transformTimerMessage) for a
// normal or committed message, applied after the DELAY rewrite: a message
// with DELAY > 0 loses its TIMER_* requests (the level wins); otherwise, with
// a delivery time after `now_ms`, `msg` is pointed at rmq_sys_wheel_timer
// queue 0 with TIMER_OUT_MS (rounded down to timerPrecisionMs, an exact
// multiple one slot lower), REAL_TOPIC and REAL_QID added; `*props` is the
// text `msg->properties` views (it must be that text before). A time not
// after now leaves it a normal message. Refusals: unparseable time or more
// than timerMaxDelaySec ahead → MESSAGE_ILLEGAL; timerWheelEnable=false →
// SYSTEM_ERROR.
std::optional<TimerRefusal> TransformTimerMessage(
    const store::MessageStoreConfig& config, int64_t now_ms,
    message::MessageToStore* msg, std::string* props);

// RocketMQ's TimerMessageStore (§6) as the `timer` thread. Each pass:
//   enqueue: reads rmq_sys_wheel_timer queue 0 from its queue offset and, for
//     each parked message, appends a timerlog unit chained into the wheel slot
//     of its TIMER_OUT_MS (a time beyond timerRollWindowSlot slots is parked
//     at the window's end with the roll magic; an already-due one is put to
//     its real topic at once);
//   dequeue: releases every slot whose end has passed (read time < the
//     current slot start): walks its chain, drops cancelled messages
//     (TIMER_DEL_UNIQKEY), re-puts rolled ones to the timer topic with
//     TIMER_ROLL_TIMES + 1 and the rest to REAL_TOPIC / REAL_QID with
//     TIMER_ENQUEUE_MS and TIMER_DEQUEUE_MS added;
//   flush (every timerFlushIntervalMs, and at Stop()): syncs timerlog, wheel,
//     then writes config/timercheck (read time, log end, queue offset).
// It sleeps until the next slot boundary; a newly parked message wakes it.
//
// Restart: the timerlog is re-scanned from one segment before the saved log
// end and truncated at the first invalid unit; slots are re-pointed at the
// units found; indexing resumes after the last indexed message and releasing
// at the saved read time, so a crash may deliver a message twice but never
// loses one (at-least-once, as RocketMQ).
//
// Lifecycle: construct → Load() → Start() → Stop() → destroy. Thread-safe:
// Notify, the counters and RunPassForTesting; everything else is confined to
// `timer` (or to the caller of Load() before Start()). `store`, `fs` and
// `clock` must outlive it.
class TimerMessageService final : public ServiceThread {
 public:
  TimerMessageService(store::MessageStore& store, store::io::FileSystem* fs,
                      const Clock* clock);
  ~TimerMessageService() override;

  // Opens timerwheel, timerlog/ and config/timercheck under the store root
  // and recovers (see above); a store without timer files or parked timer
  // messages gets them when the first one is parked. InvalidArgument for a
  // wheel file of a wrong size or bad settings.
  Status Load();
  // A message was parked in the timer topic: index it soon. Never blocks.
  void Notify() { Wakeup(); }

  // Wakes the thread and waits (up to `timeout_ms`) until a whole pass has
  // started after this call. False on timeout.
  bool RunPassForTesting(int64_t timeout_ms = 5000) TH_EXCLUDES(mu_);

  int64_t enqueued_count() const { return enqueued_.load(kRelaxed); }
  int64_t delivered_count() const { return delivered_.load(kRelaxed); }
  int64_t rolled_count() const { return rolled_.load(kRelaxed); }
  // Units in the wheel not yet released (roll and delete units included).
  int64_t pending_count() const { return pending_.load(kRelaxed); }
  // Slots before this time have been released.
  int64_t read_time_ms() const { return read_time_pub_.load(kRelaxed); }

 protected:
  void Run() override;

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  // Indexes the parked messages from queue_offset_; false when a put or an
  // append failed (retried next pass).
  bool Enqueue();
  // Releases every slot before the current write time.
  bool Dequeue();
  // Releases the slot at read_time_; false on a put to retry.
  bool ReleaseSlot();
  enum class PutOutcome { kDone, kRetry };
  // Puts the parked record at `phys` to its destination (see above).
  PutOutcome PutBack(int64_t phys, bool roll, int64_t enqueue_ms,
                     const std::set<std::string>* deleted);
  Status Flush();
  Status OpenFiles();
  void Recover();
  void MarkPass() TH_EXCLUDES(mu_);
  // The queue offset after the message at `phys` in the timer queue, found by
  // searching backwards from the queue's end (at most 20 000 units).
  std::optional<int64_t> QueueOffsetAfter(int64_t phys) const;

  store::MessageStore& store_;
  store::io::FileSystem* fs_;
  const Clock* clock_;
  const int64_t precision_ms_;
  const int64_t roll_window_ms_;
  std::unique_ptr<store::TimerWheel> wheel_;
  std::unique_ptr<store::TimerLog> log_;
  std::unique_ptr<store::TimerCheckpoint> checkpoint_;

  // Confined to `timer` (Load() before Start()).
  int64_t queue_offset_ = 0;   // next timer-queue offset to index
  int64_t write_time_ms_ = 0;  // floor(now / P) × P, never moves back
  int64_t read_time_ms_ = 0;   // next slot to release
  int64_t slot_done_ = 0;      // units of read_time_'s slot already put
  int64_t last_flush_ms_ = 0;
  int64_t last_clean_ms_ = 0;
  int64_t data_version_ = 0;
  bool dirty_ = true;

  mutable Mutex mu_;
  int64_t passes_ TH_GUARDED_BY(mu_) = 0;
  CondVar pass_cv_;
  std::atomic<int64_t> enqueued_{0};
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> rolled_{0};
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> read_time_pub_{0};
};

}  // namespace thruster::broker
