#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/commit_log_format.h"
#include "store/checkpoint_format.h"
#include "store/consume_queue_format.h"
#include "store/index_file_format.h"
#include "store/io/file_system.h"

// Offline, read-only access to a store directory for `thruster store
// info|dump|verify|recover`: works on any store written by RocketMQ 4.x/5.x or
// Thruster, taking every size (CommitLog segment, consume-queue file, index
// slots and entries) from the files themselves rather than from a config.
// Nothing here takes the `lock` or writes a byte; run it on a stopped store (a
// running broker keeps moving the tail, which these functions may then report
// as torn). Layouts: spec §1, §2, §4, §5, §6.
namespace thruster::store {

// ---- sizes taken from the files

// Slots and entries of an IndexFile, which its header does not record.
struct IndexGeometry {
  int32_t slot_num = index_format::kDefaultMaxHashSlotNum;
  int32_t index_num = index_format::kDefaultMaxIndexNum;
};

// The geometry of an index file of `file_size` bytes: RocketMQ's defaults
// (5,000,000 slots, 20,000,000 entries) when the size matches them, else the
// default 1:4 ratio of slots to entries (RocketMQ's test and small-broker
// configurations keep it). InvalidArgument when neither fits; callers then need
// the sizes from the broker's config (maxHashSlotNum, maxIndexNum).
Result<IndexGeometry> DetectIndexGeometry(int64_t file_size);

// Sizes of a store found on disk, for running MessageStore over it with
// matching settings.
struct StoreGeometry {
  int64_t commit_log_segment_size = 0;  // 0 when commitlog/ holds no segment
  int64_t consume_queue_file_size = 0;  // 0 when no consume-queue file exists
  std::optional<IndexGeometry> index;   // nullopt when index/ holds no file
};
// IOError when a directory cannot be listed; InvalidArgument from
// DetectIndexGeometry.
Result<StoreGeometry> DetectStoreGeometry(io::FileSystem* fs,
                                          const std::string& root);

// ---- the CommitLog

// Whether the bytes from a position where no valid record starts to the end of
// its segment are the end of data rather than corruption: all zero (never
// written), or starting with 8 zero bytes, the mark recovery leaves where it
// cut a torn or corrupt tail (spec §10.5); the stale bytes behind such a cut
// are not data.
bool IsEndOfData(std::span<const std::byte> rest);

struct SegmentInfo {
  std::string name;
  int64_t base_offset = 0;
  int64_t size = 0;
};

// Every CommitLog segment of a directory, mapped read-only, addressed by phys
// offset. Lifecycle: Open() → reads → destroy (unmaps). Thread-safe for reads
// (the mappings never change).
class CommitLogReader {
 public:
  // Maps every segment. A zero-length last file (an interrupted creation) is
  // ignored, as at load. Corruption names a misnamed segment, one whose size
  // differs from the first, or a gap.
  static Result<std::unique_ptr<CommitLogReader>> Open(
      io::FileSystem* fs, const std::string& commitlog_dir);
  ~CommitLogReader();
  CommitLogReader(const CommitLogReader&) = delete;
  CommitLogReader& operator=(const CommitLogReader&) = delete;

  const std::string& dir() const { return dir_; }
  const std::vector<SegmentInfo>& segments() const { return segments_; }
  int64_t segment_size() const { return segment_size_; }
  // Base offset of the first segment (RocketMQ's min offset); 0 when empty.
  int64_t min_offset() const;
  // Path of the segment holding `phys`, empty when none does.
  std::string SegmentPath(int64_t phys) const;
  // Bytes from `phys` to the end of its segment; empty when no segment holds
  // `phys`.
  std::span<const std::byte> From(int64_t phys) const;
  // message::CheckRecord() on the bytes at `phys` (kTorn when no segment holds
  // it).
  message::RecordCheck ReadRecord(int64_t phys, bool check_crc) const;

  // Calls `fn` for each valid record at or after `from` (records starting
  // before it are skipped), in order, until `fn` returns false. Stops at the
  // end of data: a blank moves to the next segment; the first torn or invalid
  // record ends the walk, and its phys offset and reason are returned in
  // `WalkEnd` (ok == false when non-zero bytes follow it, i.e. corruption
  // rather than the end).
  struct WalkEnd {
    int64_t end_offset =
        0;  // just after the last valid record visited or skipped
    bool ok = true;
    int64_t error_offset = -1;
    std::string error;
  };
  using RecordFn = std::function<bool(const message::DecodedRecord& rec,
                                      int64_t phys, int32_t size)>;
  WalkEnd Walk(int64_t from, bool check_crc, const RecordFn& fn) const;

 private:
  CommitLogReader() = default;
  std::string dir_;
  int64_t segment_size_ = 0;
  std::vector<SegmentInfo> segments_;
  std::vector<std::unique_ptr<io::MappedRegion>> regions_;
};

// ---- consume queues and index files

struct QueueId {
  std::string topic;
  int32_t queue_id = 0;
};
// Every consumequeue/<topic>/<queueId> directory (non-numeric queue directories
// skipped, as at load), sorted by topic then queue id. An absent consumequeue/
// gives an empty list.
Result<std::vector<QueueId>> ListQueues(io::FileSystem* fs,
                                        const std::string& root);

// One consume queue's files mapped read-only. Thread-safe for reads.
class ConsumeQueueReader {
 public:
  // Corruption names a misnamed file, one whose size differs from the first or
  // is not a multiple of 20, or a gap between files.
  static Result<std::unique_ptr<ConsumeQueueReader>> Open(
      io::FileSystem* fs, const std::string& root, const QueueId& queue);
  ~ConsumeQueueReader();
  ConsumeQueueReader(const ConsumeQueueReader&) = delete;
  ConsumeQueueReader& operator=(const ConsumeQueueReader&) = delete;

  const std::string& dir() const { return dir_; }
  int64_t file_size() const { return file_size_; }
  const std::vector<SegmentInfo>& files() const { return files_; }

  // Calls `fn` for every unit from queue offset `from` (units before the first
  // file start at its base), in order, until `fn` returns false or data ends
  // (the first unit with phys offset < 0 or size <= 0). Pre-blank filler units
  // are passed too (cq_format::IsPreBlank). `file_pos` is the unit's position
  // in the file `file` (an index into files()).
  using UnitFn =
      std::function<bool(int64_t queue_offset, const cq_format::Entry& e,
                         size_t file, int64_t file_pos)>;
  void Walk(int64_t from, const UnitFn& fn) const;

 private:
  ConsumeQueueReader() = default;
  std::string dir_;
  int64_t file_size_ = 0;
  std::vector<SegmentInfo> files_;
  std::vector<std::unique_ptr<io::MappedRegion>> regions_;
};

// One IndexFile mapped read-only. Thread-safe for reads.
class IndexFileReader {
 public:
  // `geometry` nullopt → DetectIndexGeometry(file size). Corruption when the
  // size does not match the geometry or the header's index count exceeds it.
  static Result<std::unique_ptr<IndexFileReader>> Open(
      io::FileSystem* fs, const std::string& path,
      std::optional<IndexGeometry> geometry);
  ~IndexFileReader();
  IndexFileReader(const IndexFileReader&) = delete;
  IndexFileReader& operator=(const IndexFileReader&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  int64_t file_size() const { return file_size_; }
  const IndexGeometry& geometry() const { return geometry_; }
  const index_format::Header& header() const { return header_; }
  // Entries in use: 1 .. entry_end() - 1 (a fresh file's index count 0 reads as
  // 1).
  int32_t entry_end() const {
    return header_.index_count <= 0 ? 1 : header_.index_count;
  }
  index_format::Entry EntryAt(int32_t n) const;  // 1 <= n < entry_end()
  int32_t SlotAt(int32_t slot) const;            // 0 <= slot < slot_num

 private:
  IndexFileReader() = default;
  std::string path_;
  std::string name_;
  int64_t file_size_ = 0;
  IndexGeometry geometry_;
  index_format::Header header_;
  std::unique_ptr<io::MappedRegion> region_;
};

// Names of the index files (all-digit names), oldest first. An absent index/
// gives an empty list.
Result<std::vector<std::string>> ListIndexFiles(io::FileSystem* fs,
                                                const std::string& root);

// ---- `thruster store info`

struct QueueInfo {
  QueueId queue;
  int files = 0;
  int64_t file_size = 0;
  int64_t min_offset = 0;  // first unit that is not pre-blank filler
  int64_t max_offset = 0;  // one past the last unit
  int64_t min_phys_offset =
      -1;  // what the first and last units point at; -1 when empty
  int64_t max_phys_offset = -1;
};

struct IndexFileInfo {
  std::string name;
  int64_t file_size = 0;
  IndexGeometry geometry;
  index_format::Header header;
};

struct StoreInfo {
  std::string root;
  // CommitLog.
  int64_t segment_size = 0;
  std::vector<SegmentInfo> segments;
  int64_t min_phys_offset = 0;  // first segment's base
  int64_t max_phys_offset = 0;  // end of the last valid record
  int64_t first_record_offset = -1;
  int64_t last_record_offset = -1;  // phys offset of the last valid record
  std::vector<QueueInfo> queues;
  std::vector<IndexFileInfo> index_files;
  bool has_checkpoint = false;
  CheckpointData checkpoint;
  bool has_abort =
      false;  // the last run did not shut down cleanly (or is still running)
  bool has_lock = false;
};

// Reads the layout and the offsets of every part of the store at `root` (the
// CommitLog's tail is found by walking its last data segment without CRC
// checks). Errors: IOError, or Corruption from the readers.
Result<StoreInfo> InspectStore(
    io::FileSystem* fs, const std::string& root,
    std::optional<IndexGeometry> index_geometry = std::nullopt);

}  // namespace thruster::store
