#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "broker/config_file.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "message/message.h"
#include "store/delay_level_table.h"
#include "store/message_store.h"

// Delay levels (spec/schedule-and-timer.md §2-§4): the put-time rewrite that
// parks a message with a `DELAY` level in SCHEDULE_TOPIC_XXXX, and the service
// that puts each parked message back into its real topic once it is due.
namespace thruster::broker {

// Sets `name` to `value` in a properties text: every existing occurrence is
// removed and one pair appended.
void SetProperty(std::string* props, std::string_view name,
                 std::string_view value);

// True when `props` holds a `DELAY` that would park the message: a level > 0,
// or a value that is not a number (which ParkIfDelayed refuses).
bool IsDelayed(std::string_view props);

// The put-time rewrite (§2.2): when `msg` is a normal or committed message
// whose `DELAY` is a level > 0, clamps the level to the table, adds
// `REAL_TOPIC` and `REAL_QID`, and points `msg` at SCHEDULE_TOPIC_XXXX queue
// level-1; `*props` is the text `msg->properties` views afterwards (it must be
// that text before). Dispatch then indexes it under its delivery time (store
// spec §4.2). InvalidArgument when `DELAY` is not a number (the send is
// illegal).
Status ParkIfDelayed(const store::DelayLevelTable& levels,
                     message::MessageToStore* msg, std::string* props);
// The same with `delay` what FindProperty(*props, "DELAY") gives (for a caller
// that found it in one scan with other properties); it may view `*props`.
Status ParkIfDelayed(const store::DelayLevelTable& levels,
                     message::MessageToStore* msg, std::string* props,
                     std::optional<std::string_view> delay);

// RocketMQ's ScheduleMessageService (§3) as the `schedule` thread: for each
// level it walks SCHEDULE_TOPIC_XXXX queue level-1 from its saved offset and
// puts every due message (tagsCode ≤ now) into `REAL_TOPIC`/`REAL_QID` with the
// parked record's properties as they are (§3.2), in queue order, stopping at
// the first message not yet due. Instead of RocketMQ's 100 ms polling it sleeps
// until the earliest pending delivery time; a newly parked message that is due
// earlier wakes it (NotifyParked, from the dispatch listener). A failed put is
// retried after 100 ms.
//
// Progress, the next queue offset per level, is saved in
// `config/delayOffset.json` (RocketMQ's DelayOffsetSerializeWrapper format,
// `{"offsetTable":{1:5,3:120}}`) every flushDelayOffsetInterval when it
// changed, and at Stop(). After a crash, messages delivered since the last
// save are delivered again (at-least-once, as RocketMQ).
//
// Lifecycle: construct → Load() → Start() → Stop() (persists) → destroy.
// Thread-safety: NotifyParked, OffsetTable and ReadOffsetFile are thread-safe;
// the delivery loop is confined to `schedule`. `store`, `fs` and `clock` must
// outlive it.
class ScheduleMessageService final : public ServiceThread {
 public:
  ScheduleMessageService(store::MessageStore& store, store::io::FileSystem* fs,
                         const std::string& config_dir, const Clock* clock);
  ~ScheduleMessageService() override;

  // Parses messageDelayLevel (InvalidArgument when it does not parse), reads
  // delayOffset.json (or its .bak; Corruption when neither is valid) and
  // clamps every saved offset into its queue's [min, max]; then writes the file
  // so GET_ALL_DELAY_OFFSET has something to answer from the start.
  Status Load();

  // A message due at `deliver_at` was parked: wakes the thread when it is due
  // before the thread meant to wake. Never blocks.
  void NotifyParked(int64_t deliver_at);

  // Level → next queue offset to deliver, as saved.
  std::map<int32_t, int64_t> OffsetTable() const TH_EXCLUDES(mu_);
  // The text of delayOffset.json (what GET_ALL_DELAY_OFFSET answers); NotFound
  // when it was never written.
  Result<std::string> ReadOffsetFile() TH_EXCLUDES(file_mu_);
  // Saves the offset table now.
  // A slave's copy of its master's delayOffset.json (spec/ha.md §5): the
  // offsets become the master's, then are saved. Corruption when `json` has no
  // offset table.
  Status AdoptOffsets(std::string_view json) TH_EXCLUDES(file_mu_, mu_);
  Status Persist() TH_EXCLUDES(file_mu_, mu_);
  const store::DelayLevelTable& levels() const { return levels_; }
  // Wakes the thread and waits (up to `timeout_ms`) until a whole delivery pass
  // has started after this call, so a test that moved a ManualClock sees its
  // effect. False on timeout.
  bool RunPassForTesting(int64_t timeout_ms = 5000) TH_EXCLUDES(mu_);
  // Messages put back into their real topics since start.
  int64_t delivered_count() const {
    return delivered_.load(std::memory_order_relaxed);
  }

 protected:
  void Run() override;

 private:
  // Delivers every message due at `now_ms` of every level; returns when the
  // next one is due (INT64_MAX when nothing is parked, now+100 after a failed
  // put).
  int64_t DeliverDue(int64_t now_ms);
  // One level from `offset`; returns the next offset and lowers `*next_due`.
  int64_t DeliverLevel(int32_t level, int64_t offset, int64_t now_ms,
                       int64_t* next_due);
  // Puts the parked record at `phys` into its real topic; false when the put
  // failed (try again later). An unreadable record or a half message is
  // skipped (true).
  bool Deliver(int64_t phys, int32_t level);
  std::string EncodeJson() const TH_EXCLUDES(mu_);

  store::MessageStore& store_;
  const Clock* clock_;
  store::DelayLevelTable levels_;
  const int64_t flush_interval_ms_;
  mutable Mutex mu_;
  std::map<int32_t, int64_t> offsets_ TH_GUARDED_BY(mu_);
  bool dirty_ TH_GUARDED_BY(mu_) = false;
  // Finished delivery passes; signalled on pass_cv_ (RunPassForTesting).
  int64_t passes_ TH_GUARDED_BY(mu_) = 0;
  CondVar pass_cv_;
  // Serialises writes of the file (`schedule`, Stop(), a test's Persist()).
  Mutex file_mu_;
  ConfigFile file_ TH_GUARDED_BY(file_mu_);
  // When the thread means to wake next; INT64_MAX while it scans (so any
  // parked message wakes it for another pass). Published to NotifyParked.
  std::atomic<int64_t> next_wake_ms_{INT64_MAX};
  std::atomic<int64_t> delivered_{0};
};

}  // namespace thruster::broker
