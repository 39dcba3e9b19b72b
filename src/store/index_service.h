#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "store/index_file.h"
#include "store/index_file_format.h"
#include "store/io/file_system.h"

namespace thruster::store {

struct IndexServiceOptions {
  int32_t max_hash_slot_num =
      index_format::kDefaultMaxHashSlotNum;                   // maxHashSlotNum
  int32_t max_index_num = index_format::kDefaultMaxIndexNum;  // maxIndexNum
  int max_msgs_num_batch = 64;  // maxMsgsNumBatch: cap of one query
};

// The fields of a dispatched record that the index needs (spec §5.5). Views;
// the caller owns the bytes.
struct IndexRecord {
  std::string_view topic;
  std::optional<std::string_view>
      keys;  // KEYS property: keys separated by single spaces
  std::optional<std::string_view> uniq_key;  // UNIQ_KEY property
  int64_t phys_offset = 0;
  int64_t store_timestamp = 0;
  int32_t sys_flag = 0;

  // Takes KEYS and UNIQ_KEY from an encoded properties string (spec §2.3).
  static IndexRecord FromProperties(std::string_view topic,
                                    std::string_view properties,
                                    int64_t phys_offset,
                                    int64_t store_timestamp, int32_t sys_flag);
};

struct QueryOffsetResult {
  std::vector<int64_t> phys_offsets;  // candidates, newest first; may include
                                      // other keys' records (hashes)
  int64_t index_last_update_timestamp = 0;    // newest file's end timestamp
  int64_t index_last_update_phys_offset = 0;  // newest file's end phys offset
};

// True when a record whose encoded properties are `properties` carries `key` as
// its UNIQ_KEY or as one of its KEYS. The query path uses it to drop hash
// collisions from QueryOffsets() candidates (spec §16 item 6).
bool MessageHasKey(std::string_view properties, std::string_view key);

// The index of message keys (spec §5.5-5.7): the IndexFiles under
// <store root>/index, named by creation time (yyyyMMddHHmmssSSS, local time),
// oldest first. Only the newest file takes new keys; when it cannot take a
// record's keys a new file follows it ("rolling"), and the older files never
// change again.
//
// Lifecycle: construct → Load() → BuildIndex() / QueryOffsets() /
// FlushRolledFiles() / DeleteExpiredFile() → Flush() at shutdown → destroy.
//
// Thread-safety: thread-safe. BuildIndex() is confined to the `dispatch`
// thread (or recovery before it starts); FlushRolledFiles() runs on
// `flush-cq`, Flush() at shutdown; DeleteExpiredFile() on `clean`;
// QueryOffsets() from any thread. The file list is guarded by a mutex; queries
// search a snapshot of it, so a file deleted meanwhile stays mapped until the
// query drops it.
//
// Ownership: `fs` and `clock` must outlive this object.
class IndexService {
 public:
  IndexService(io::FileSystem* fs, std::string index_dir, const Clock* clock,
               IndexServiceOptions options = {});
  IndexService(const IndexService&) = delete;
  IndexService& operator=(const IndexService&) = delete;

  // Opens the files in name order. Names that are not all digits are skipped;
  // an empty file, or one whose header says it holds nothing (created, then
  // lost to a crash before its first flush), is deleted. When `last_exit_ok` is
  // false, every file whose end timestamp is after
  // `checkpoint_index_msg_timestamp` is destroyed: it may not have been flushed
  // (spec §10.1 step 5); recovery's re-dispatch rebuilds it. Corruption when a
  // file's size does not match the configured slots and entries or its header
  // is damaged; InvalidArgument for unusable options. index_msg_timestamp()
  // starts at the checkpoint value.
  Status Load(bool last_exit_ok, int64_t checkpoint_index_msg_timestamp);

  // Indexes one dispatched record (spec §5.5): UNIQ_KEY first, then each
  // non-empty KEYS token, each as "topic#key". ROLLBACK records are skipped.
  // Idempotent: a record at or below the newest file's end phys offset is
  // already indexed and skipped (so recovery may re-dispatch). Rolls to a new
  // file when the newest cannot take all of the record's keys, so a record
  // never straddles two files (RocketMQ fills files to the last entry;
  // straddling would make the "at or below" rule lose keys, and RocketMQ's
  // "below" rule duplicates them). An error comes from creating a file;
  // retrying and marking the store's index error are the caller's business.
  // Entries are readable at once and durable after a flush.
  Status BuildIndex(const IndexRecord& record);

  // Candidate phys offsets for `key` of `topic` stored within [begin, end] (ms,
  // inclusive), newest file first and newest first within a file, at most
  // min(max_num, max_msgs_num_batch) (spec §5.4). The caller reads each record
  // and confirms the key (MessageHasKey()).
  QueryOffsetResult QueryOffsets(std::string_view topic, std::string_view key,
                                 int max_num, int64_t begin, int64_t end) const;

  // Retention (spec §5.7): deletes files, oldest first and never the newest,
  // whose end phys offset is below `commit_log_min_offset`. Returns how many
  // went.
  Result<int> DeleteExpiredFile(int64_t commit_log_min_offset);

  // Makes every rolled file (all but the newest) with unflushed changes durable
  // (spec §5.6) and advances index_msg_timestamp() to the newest such file's
  // end timestamp. For the periodic `flush-cq` pass.
  Status FlushRolledFiles();
  // Makes every file durable, the newest included, and advances
  // index_msg_timestamp() to the newest file's end timestamp. For shutdown,
  // once dispatch has stopped (a record indexed halfway would otherwise count
  // as durable).
  Status Flush();
  // The checkpoint's indexMsgTimestamp: every index entry stored up to this
  // time is durable. Write it to the checkpoint after
  // FlushRolledFiles()/Flush() returned OK.
  int64_t index_msg_timestamp() const {
    return index_msg_timestamp_.load(std::memory_order_acquire);
  }
  // After Load() following an abnormal stop: the earliest begin timestamp of
  // the files it destroyed for ending after the checkpoint (INT64_MAX: none).
  // Their entries may go back before the checkpoint's index timestamp (a clean
  // stop checkpoints the newest file, which the next run keeps filling), so
  // recovery must index again every record from this time on.
  int64_t rebuild_from_timestamp() const { return rebuild_from_timestamp_; }

  // Store truncation (MessageStore::TruncateTo): records at `phys` and after
  // it are gone, so every file drops their entries (IndexFile::TruncateFrom)
  // and the changed files are flushed. Call while nothing is dispatched.
  Status TruncateFrom(int64_t phys);
  // Deletes every index file (an empty CommitLog at start-up).
  Status DestroyAll();

  const std::string& dir() const { return dir_; }
  const IndexServiceOptions& options() const { return options_; }
  std::vector<std::shared_ptr<IndexFile>> SnapshotForTesting() const {
    return Snapshot();
  }

  // The file name for a file created at `now_ms`: yyyyMMddHHmmssSSS in the
  // local time zone (spec §1).
  static std::string FormatFileName(int64_t now_ms);

 private:
  std::vector<std::shared_ptr<IndexFile>> Snapshot() const;
  // The newest file, or a new one when there is none or it is full.
  Result<std::shared_ptr<IndexFile>> GetOrCreateLastFile();
  // Creates the file after `last` (nullptr: the first), seeded with its end
  // values (spec §5.6).
  Result<std::shared_ptr<IndexFile>> CreateNextFile(
      const std::shared_ptr<IndexFile>& last);
  // Adds one key, rolling to a new file once when `*file` is full.
  Status PutKey(std::shared_ptr<IndexFile>* file, int32_t key_hash,
                const IndexRecord& record);
  void AdvanceIndexMsgTimestamp(int64_t ts);

  io::FileSystem* fs_;
  std::string dir_;
  const Clock* clock_;
  IndexServiceOptions options_;
  mutable Mutex mu_;
  std::vector<std::shared_ptr<IndexFile>> files_ TH_GUARDED_BY(mu_);
  // Read by whoever writes the checkpoint; publishes nothing else.
  std::atomic<int64_t> index_msg_timestamp_{0};
  int64_t rebuild_from_timestamp_ = INT64_MAX;  // set by Load() only
  // BuildIndex's scratch (its thread only): one record's key hashes.
  std::vector<int32_t> key_hashes_;
};

}  // namespace thruster::store
