#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "message/commit_log_format.h"
#include "store/io/file_system.h"
#include "store/store_inspector.h"

// Offline verification of a store directory (`thruster store verify`).
// Read-only; never modifies the directory, never takes the `lock`. Works on a
// store written by RocketMQ with any segment, consume-queue and index size
// (taken from the files). Thread-compatible.
namespace thruster::store {

struct CommitLogVerifyReport {
  int segments = 0;
  int64_t segment_size = 0;
  int64_t records = 0;
  int64_t bytes = 0;          // sum of record sizes
  int64_t first_offset = -1;  // phys offset of the first record
  int64_t last_offset = -1;   // phys offset of the last record
  int64_t end_offset = 0;     // end of the last record
  bool ok = true;
  std::string error;  // first problem found: file, offset and what
  std::string error_file;
  int64_t error_offset = -1;
};

// Called for every valid record, in CommitLog order.
using VerifiedRecordFn = std::function<void(const message::DecodedRecord& rec,
                                            int64_t phys, int32_t size)>;

// Checks every record of every segment (magic, size, body CRC, stored phys
// offset); segments must be contiguous and of one size, and every segment but
// the last must end with its END_FILE blank. IOError/NotFound when the
// directory cannot be read; otherwise a report (ok == false on corruption).
Result<CommitLogVerifyReport> VerifyCommitLog(
    io::FileSystem* fs, const std::string& commitlog_dir, bool check_crc = true,
    const VerifiedRecordFn& on_record = {});

struct StoreVerifyReport {
  CommitLogVerifyReport commit_log;
  // Consume queues: every unit must point at a record start of the CommitLog
  // whose size, topic, queue id and queue offset equal the unit's. Units below
  // the CommitLog's min offset (retention deleted their segment) are counted,
  // not checked.
  int queues = 0;
  int64_t queue_units = 0;  // real units checked (pre-blank filler excluded)
  int64_t queue_units_expired = 0;  // below the CommitLog min offset
  // Records with no unit in their consume queue (dispatch had not reached them,
  // or transaction PREPARED/ROLLBACK records, which never get one). Not an
  // error.
  int64_t records_not_in_queue = 0;
  // Index: every entry 1 .. count-1 of every file must point at a record start
  // whose "topic#key" for UNIQ_KEY or one of its KEYS hashes to the entry's key
  // hash; every slot chain must run backwards and keep to its slot. Entries
  // below the CommitLog min offset are counted, not checked.
  int index_files = 0;
  int64_t index_entries = 0;
  int64_t index_entries_expired = 0;
  // Entries of records that recovery cut off the CommitLog: at or beyond its
  // end, or above an entry indexed later. The index is never truncated, so
  // they stay; queries drop them when the record they read does not match.
  int64_t index_entries_stale = 0;
  bool ok = true;
  std::string error;  // first problem: file, position and what
  std::string error_file;
  int64_t error_offset = -1;  // the CommitLog phys offset, or the file pos in a
                              // queue or index file
};

struct VerifyOptions {
  bool check_crc = true;
  bool check_queues = true;
  bool check_index = true;
  std::optional<IndexGeometry>
      index_geometry;  // nullopt: detected from each file's size
  // Called as the work advances, from the verifying thread: the stage
  // ("commitlog" in bytes, "consume queues" and "index files" in files),
  // how much of it is done and its total. Unset: nothing is reported.
  std::function<void(std::string_view stage, int64_t done, int64_t total)>
      progress;
};

// VerifyCommitLog on <root>/commitlog, then (when it is sound) every consume
// queue and index file against it. Errors: IOError when a directory or file
// cannot be read, Corruption when a queue or index file has an impossible size
// or name, InvalidArgument for an index file of unknown geometry.
Result<StoreVerifyReport> VerifyStore(io::FileSystem* fs,
                                      const std::string& root,
                                      const VerifyOptions& options);

}  // namespace thruster::store
