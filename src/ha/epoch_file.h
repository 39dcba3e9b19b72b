#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "store/io/file_system.h"

// The controller-mode epoch file (spec/ha.md §7.9; RocketMQ's EpochFileCache
// over a CheckpointFile): `${storePathRootDir}/epochFileCheckpoint`, text with
// `\n` line ends:
//
//   2                 entry count
//   1895893516        crc32r of the entry lines joined with their "\n"; 0 =
//   unchecked 1-0               epoch "-" start offset, one line per entry,
//   2-1073741824      strictly increasing in both
//
// An entry covers [start offset, next entry's start); the last one ends at the
// broker's CommitLog max offset, so ends are computed, never stored. Every
// change rewrites the file: the new text goes to `<path>.tmp`, the current file
// becomes `<path>.bak`, the tmp file takes its place. A file whose count or CRC
// does not match, or that is empty or unreadable, is replaced by the `.bak`.
namespace thruster::ha {

struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  // Exclusive; filled in by the readers that take a max offset.
  int64_t end_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// The file's text for `entries` (their end offsets are ignored).
std::string EncodeEpochFile(const std::vector<EpochEntry>& entries);
// Parses the text; Corruption names what is wrong (count, CRC, a line, the
// order of the entries).
Result<std::vector<EpochEntry>> DecodeEpochFile(std::string_view text);

// RocketMQ's findConsistentPoint: the largest offset up to which `local` and
// `master` (both with their end offsets filled in) hold the same epochs.
// Walking `local` from the newest entry down, the first epoch the master also
// has with the same start offset gives min(local end, master end). -1 when no
// epoch matches (the slave's history cannot be repaired automatically).
int64_t FindConsistentPoint(const std::vector<EpochEntry>& local,
                            const std::vector<EpochEntry>& master);

// The epoch file of one store. Lifecycle: construct → Load() → use. Thread-safe
// (one mutex; every change is written through before it returns). `fs` must
// outlive it.
class EpochFile {
 public:
  EpochFile(store::io::FileSystem* fs, std::string path);

  // Reads the file, falling back to `.bak` (see above). Both missing: empty.
  // Corruption when neither holds a valid file.
  Status Load() TH_EXCLUDES(mu_);

  // Appends (epoch, start_offset). InvalidArgument unless both are larger than
  // the last entry's (an entry equal to the last one is accepted as already
  // there). IOError from the rewrite leaves the entries as they were.
  Status Append(int32_t epoch, int64_t start_offset) TH_EXCLUDES(mu_);
  // Removes every entry whose epoch is >= `epoch`.
  Status TruncateSuffixByEpoch(int32_t epoch) TH_EXCLUDES(mu_);
  // Removes every entry that starts at or after `offset`; the new last entry
  // then runs to the max offset again.
  Status TruncateSuffixByOffset(int64_t offset) TH_EXCLUDES(mu_);

  // Every entry with its end; the last ends at `max_offset`.
  std::vector<EpochEntry> Entries(int64_t max_offset) const TH_EXCLUDES(mu_);
  std::optional<EpochEntry> LastEntry() const TH_EXCLUDES(mu_);
  // The last epoch; 0 when the file is empty.
  int32_t last_epoch() const TH_EXCLUDES(mu_);
  // The entry holding `offset` ([start, end) with the last one open-ended);
  // nullopt before the first entry or when the file is empty.
  std::optional<EpochEntry> FindByOffset(int64_t offset,
                                         int64_t max_offset) const
      TH_EXCLUDES(mu_);
  std::optional<EpochEntry> FindByEpoch(int32_t epoch, int64_t max_offset) const
      TH_EXCLUDES(mu_);
  size_t size() const TH_EXCLUDES(mu_);
  const std::string& path() const { return path_; }

 private:
  Status Write(const std::vector<EpochEntry>& entries) TH_REQUIRES(mu_);
  Result<std::vector<EpochEntry>> ReadOne(const std::string& path);

  store::io::FileSystem* fs_;
  const std::string path_;
  mutable Mutex mu_;
  std::vector<EpochEntry> entries_ TH_GUARDED_BY(mu_);
  // False while the file at path_ is the broken one Load() skipped.
  bool main_valid_ TH_GUARDED_BY(mu_) = true;
};

}  // namespace thruster::ha
