#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "store/index_file_format.h"
#include "store/io/file_system.h"
#include "store/mapped_file.h"

namespace thruster::store {

// One IndexFile (spec §5.1-5.4, 5.6): a fixed-size hash table in a single
// MappedFile mapping "topic#key" hashes to CommitLog phys offsets, newest
// first. Only hashes are stored, so lookups return candidates that the caller
// confirms against the record's KEYS/UNIQ_KEY (MessageHasKey() in
// index_service.h).
//
// Lifecycle: Create() (a new file) or Open() (an existing one) → PutKey()
// until IsFull() → Flush() → Destroy() (unlinks; the mapping goes with the
// last reference). Owned through shared_ptr by IndexService; a query holding a
// reference keeps the mapping valid after Destroy().
//
// Thread-safety: thread-safe. PutKey() (the `dispatch` thread) and
// SelectPhyOffsets() (query threads) serialise on an internal mutex; Flush()
// syncs outside it, so puts go on while a file is synced.
//
// Ownership: `fs` must outlive this object.
class IndexFile {
 public:
  // Creates an empty file of index_format::FileSize(slot_num, index_num) bytes
  // at `path` (its name must be all digits). When
  // `prev_end_phys_offset`/`prev_end_timestamp` are > 0 (the end of the file
  // before it), the header's begin and end fields start from them (spec §5.6),
  // so the new file's time range joins on. The file is durable only after
  // Flush(); the caller syncs the directory.
  static Result<std::shared_ptr<IndexFile>> Create(io::FileSystem* fs,
                                                   const std::string& path,
                                                   int32_t slot_num,
                                                   int32_t index_num,
                                                   int64_t prev_end_phys_offset,
                                                   int64_t prev_end_timestamp);
  // Opens an existing file. Corruption when its size is not FileSize(slot_num,
  // index_num) or its header's index count is beyond index_num; an index count
  // <= 0 reads as 1 (a fresh file).
  static Result<std::shared_ptr<IndexFile>> Open(io::FileSystem* fs,
                                                 const std::string& path,
                                                 int32_t slot_num,
                                                 int32_t index_num);
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  const std::string& path() const { return file_->path(); }
  std::string file_name() const { return file_->file_name(); }
  int32_t slot_num() const { return slot_num_; }
  int32_t index_num() const { return index_num_; }

  // Adds `key` (already "topic#key") for the record at `phys_offset` stored at
  // `store_timestamp` (spec §5.3; entry 1 gets time diff 0, spec §16 item 5).
  // Header, slot and entry go into the mapping at once. Returns false, writing
  // nothing, when the file is full.
  bool PutKey(std::string_view key, int64_t phys_offset,
              int64_t store_timestamp);
  // PutKey() for a key already hashed (index_format::IndexHash).
  bool PutKeyHash(int32_t key_hash, int64_t phys_offset,
                  int64_t store_timestamp);

  enum class PutKeysOutcome {
    kPut,             // every entry written
    kAlreadyIndexed,  // the record is at or below the end phys offset
    kNoRoom,          // the file cannot take all of them
  };
  // The keys of one record, by hash (index_format::IndexHash of each
  // "topic#key"), under one lock: kNoRoom, writing nothing, when the file is
  // full or has fewer free entries than `key_hashes`; else kAlreadyIndexed,
  // writing nothing, when index_format::AlreadyIndexed(header, phys_offset)
  // (IndexService's rule); else the entries,
  // byte for byte what PutKey() gives key after key, and kPut.
  PutKeysOutcome PutKeys(std::span<const int32_t> key_hashes,
                         int64_t phys_offset, int64_t store_timestamp);

  // Appends to `out` the phys offsets of entries with hash `key_hash`
  // (index_format::IndexHash of the key) stored within [begin, end] (ms,
  // inclusive), newest first, until `out` holds `max_num` offsets (spec §5.4).
  // Damaged chains end the walk; they never read outside the file.
  void SelectPhyOffsets(int32_t key_hash, size_t max_num, int64_t begin,
                        int64_t end, std::vector<int64_t>* out) const;

  // Whether [begin, end] overlaps this file's [begin timestamp, end timestamp]
  // (spec §5.4).
  bool IsTimeMatched(int64_t begin, int64_t end) const;
  bool IsFull() const;
  // Entries still free (index_num - index count).
  int32_t free_entries() const { return index_num_ - index_count(); }
  // True once PutKey() changed the file after its last Flush() (or since
  // Create()).
  bool dirty() const;
  index_format::Header header() const;
  int64_t begin_timestamp() const { return header().begin_timestamp; }
  int64_t end_timestamp() const { return header().end_timestamp; }
  int64_t begin_phys_offset() const { return header().begin_phys_offset; }
  int64_t end_phys_offset() const { return header().end_phys_offset; }
  int32_t index_count() const { return header().index_count; }

  // Store truncation: removes the entries of records at or after `phys` (a
  // suffix of the entries, which are in phys order), undoing PutKey: each
  // slot goes back to the entry's predecessor, the entry is zeroed, the
  // counts shrink, and the end phys offset becomes the last kept entry's, so
  // new records there are indexed again. Written at once, durable after
  // Flush(). Returns true when the file changed.
  bool TruncateFrom(int64_t phys);
  // Makes the whole file durable (msync) and returns the header as it was when
  // the sync began: everything it describes is now on disk. An error means the
  // bytes may be lost; the store turns read-only.
  Result<index_format::Header> Flush();

  // Unlinks the file; readers holding a reference keep the mapping until they
  // drop it.
  Status Destroy();

 private:
  IndexFile(std::shared_ptr<MappedFile> file, int32_t slot_num,
            int32_t index_num, const index_format::Header& h);
  void WriteHeader() TH_REQUIRES(mu_);
  // Writes entry index_count for `key_hash` and links its slot; the header is
  // updated in memory only (the caller writes it). index_count < index_num.
  void PutHashLocked(int32_t key_hash, int64_t phys_offset,
                     int64_t store_timestamp) TH_REQUIRES(mu_);

  std::shared_ptr<MappedFile> file_;
  const int32_t slot_num_;
  const int32_t index_num_;
  mutable Mutex mu_;
  index_format::Header header_ TH_GUARDED_BY(mu_);
  bool dirty_ TH_GUARDED_BY(mu_) = false;
};

}  // namespace thruster::store
