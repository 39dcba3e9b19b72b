#include "store/index_file.h"

#include <fmt/format.h>

#include <cstring>

#include "common/coding.h"
#include "common/logging.h"

namespace thruster::store {

using index_format::Header;

IndexFile::IndexFile(std::shared_ptr<MappedFile> file, int32_t slot_num,
                     int32_t index_num, const Header& h)
    : file_(std::move(file)),
      slot_num_(slot_num),
      index_num_(index_num),
      header_(h) {}

Result<std::shared_ptr<IndexFile>> IndexFile::Create(
    io::FileSystem* fs, const std::string& path, int32_t slot_num,
    int32_t index_num, int64_t prev_end_phys_offset,
    int64_t prev_end_timestamp) {
  if (slot_num <= 0 || index_num <= 1) {
    return Status::InvalidArgument(fmt::format(
        "index file {}: {} slots x {} entries", path, slot_num, index_num));
  }
  if (fs->Exists(path))
    return Status::InvalidArgument(
        fmt::format("index file {} already exists", path));
  TH_ASSIGN_OR_RETURN(
      auto file, MappedFile::Create(
                     fs, path, index_format::FileSize(slot_num, index_num)));
  Header h;
  h.index_count = 1;
  if (prev_end_phys_offset > 0)
    h.begin_phys_offset = h.end_phys_offset = prev_end_phys_offset;
  if (prev_end_timestamp > 0)
    h.begin_timestamp = h.end_timestamp = prev_end_timestamp;
  std::shared_ptr<IndexFile> f(
      new IndexFile(std::move(file), slot_num, index_num, h));
  MutexLock lock(&f->mu_);
  f->WriteHeader();
  f->dirty_ = true;
  return f;
}

Result<std::shared_ptr<IndexFile>> IndexFile::Open(io::FileSystem* fs,
                                                   const std::string& path,
                                                   int32_t slot_num,
                                                   int32_t index_num) {
  if (slot_num <= 0 || index_num <= 1) {
    return Status::InvalidArgument(fmt::format(
        "index file {}: {} slots x {} entries", path, slot_num, index_num));
  }
  const int64_t expected = index_format::FileSize(slot_num, index_num);
  TH_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(path));
  if (static_cast<int64_t>(size) != expected) {
    return Status::Corruption(fmt::format(
        "index file {}: size {} differs from {} ({} slots x {} entries)", path,
        size, expected, slot_num, index_num));
  }
  TH_ASSIGN_OR_RETURN(auto file, MappedFile::OpenExisting(fs, path, expected));
  Header h = index_format::DecodeHeader(file->mapping()).value();
  if (h.index_count <= 0) h.index_count = 1;
  if (h.index_count > index_num) {
    return Status::Corruption(
        fmt::format("index file {}: header index count {} beyond {} entries",
                    path, h.index_count, index_num));
  }
  return std::shared_ptr<IndexFile>(
      new IndexFile(std::move(file), slot_num, index_num, h));
}

bool IndexFile::TruncateFrom(int64_t phys) {
  MutexLock lock(&mu_);
  if (header_.end_phys_offset < phys) return false;
  std::span<std::byte> map = file_->mutable_mapping();
  int32_t n = header_.index_count;
  while (n > 1) {
    const auto pos =
        static_cast<size_t>(index_format::EntryPos(slot_num_, n - 1));
    Result<index_format::Entry> e =
        index_format::DecodeEntry(map.subspan(pos, index_format::kEntrySize));
    if (!e.ok() || e->phys_offset < phys) break;
    const auto slot_pos =
        static_cast<size_t>(index_format::SlotPos(e->key_hash, slot_num_));
    if (LoadI32(map.data() + slot_pos) == n - 1) {
      const int32_t prev =
          e->prev_index > 0 && e->prev_index < n - 1 ? e->prev_index : 0;
      StoreI32(map.data() + slot_pos, prev);
      if (prev == 0 && header_.hash_slot_count > 0) --header_.hash_slot_count;
    }
    std::memset(map.data() + pos, 0, index_format::kEntrySize);
    --n;
  }
  header_.index_count = n;
  if (n > 1) {
    Result<index_format::Entry> last = index_format::DecodeEntry(map.subspan(
        static_cast<size_t>(index_format::EntryPos(slot_num_, n - 1)),
        index_format::kEntrySize));
    header_.end_phys_offset = last.ok() ? last->phys_offset : phys - 1;
  } else {
    // Nothing left: BuildIndex takes any record from the cut on.
    header_.end_phys_offset = phys - 1;
  }
  WriteHeader();
  dirty_ = true;
  return true;
}

void IndexFile::WriteHeader() {
  index_format::EncodeHeader(header_, file_->mutable_mapping());
}

bool IndexFile::PutKey(std::string_view key, int64_t phys_offset,
                       int64_t store_timestamp) {
  return PutKeyHash(index_format::IndexHash(key), phys_offset, store_timestamp);
}

bool IndexFile::PutKeyHash(int32_t key_hash, int64_t phys_offset,
                           int64_t store_timestamp) {
  MutexLock lock(&mu_);
  if (header_.index_count >= index_num_) return false;
  PutHashLocked(key_hash, phys_offset, store_timestamp);
  WriteHeader();
  dirty_ = true;
  return true;
}

IndexFile::PutKeysOutcome IndexFile::PutKeys(
    std::span<const int32_t> key_hashes, int64_t phys_offset,
    int64_t store_timestamp) {
  MutexLock lock(&mu_);
  const int32_t n = header_.index_count;
  if (n >= index_num_ || static_cast<int64_t>(key_hashes.size()) >
                             static_cast<int64_t>(index_num_) - n)
    return PutKeysOutcome::kNoRoom;
  if (index_format::AlreadyIndexed(header_, phys_offset))
    return PutKeysOutcome::kAlreadyIndexed;
  for (int32_t hash : key_hashes)
    PutHashLocked(hash, phys_offset, store_timestamp);
  WriteHeader();
  dirty_ = true;
  return PutKeysOutcome::kPut;
}

void IndexFile::PutHashLocked(int32_t hash, int64_t phys_offset,
                              int64_t store_timestamp) {
  const auto slot_pos =
      static_cast<size_t>(index_format::SlotPos(hash, slot_num_));
  const int32_t n = header_.index_count;
  std::span<std::byte> map = file_->mutable_mapping();
  int32_t prev = LoadI32(map.data() + slot_pos);
  if (prev <= 0 || prev >= n) prev = 0;
  // Entry 1 always gets time diff 0: it defines the begin time (spec §16 item
  // 5).
  const int32_t time_diff = n <= 1
                                ? 0
                                : index_format::TimeDiffSeconds(
                                      store_timestamp, header_.begin_timestamp);
  index_format::EncodeEntry(
      index_format::Entry{hash, phys_offset, time_diff, prev},
      map.subspan(static_cast<size_t>(index_format::EntryPos(slot_num_, n))));
  StoreI32(map.data() + slot_pos, n);
  if (n <= 1) {
    header_.begin_phys_offset = phys_offset;
    header_.begin_timestamp = store_timestamp;
  }
  if (prev == 0) ++header_.hash_slot_count;
  ++header_.index_count;
  header_.end_phys_offset = phys_offset;
  header_.end_timestamp = store_timestamp;
}

void IndexFile::SelectPhyOffsets(int32_t key_hash, size_t max_num,
                                 int64_t begin, int64_t end,
                                 std::vector<int64_t>* out) const {
  if (key_hash < 0 || out->size() >= max_num) return;
  MutexLock lock(&mu_);
  const int32_t count = header_.index_count;
  if (count <= 1) return;
  std::span<const std::byte> map = file_->mapping();
  int32_t n = LoadI32(map.data() + index_format::SlotPos(key_hash, slot_num_));
  if (n <= 0 || n >= count) return;
  while (out->size() < max_num) {
    auto e =
        index_format::DecodeEntry(map.subspan(static_cast<size_t>(
                                      index_format::EntryPos(slot_num_, n))))
            .value();
    if (e.time_diff < 0) break;
    const int64_t t =
        header_.begin_timestamp + static_cast<int64_t>(e.time_diff) * 1000;
    if (e.key_hash == key_hash && begin <= t && t <= end)
      out->push_back(e.phys_offset);
    // A chain only runs back to older entries; anything else is damage and ends
    // the walk.
    if (e.prev_index <= 0 || e.prev_index >= n || t < begin) break;
    n = e.prev_index;
  }
}

bool IndexFile::IsTimeMatched(int64_t begin, int64_t end) const {
  Header h = header();
  return (begin < h.begin_timestamp && end > h.end_timestamp) ||
         (begin >= h.begin_timestamp && begin <= h.end_timestamp) ||
         (end >= h.begin_timestamp && end <= h.end_timestamp);
}

bool IndexFile::IsFull() const { return index_count() >= index_num_; }

bool IndexFile::dirty() const {
  MutexLock lock(&mu_);
  return dirty_;
}

Header IndexFile::header() const {
  MutexLock lock(&mu_);
  return header_;
}

Result<Header> IndexFile::Flush() {
  Header h;
  {
    MutexLock lock(&mu_);
    WriteHeader();
    h = header_;
    dirty_ = false;
  }
  // Puts write all over the mapping (slots and entries), so the whole file is
  // synced; whatever the header captured above describes is covered.
  Status s = file_->SyncRange(0, file_->file_size());
  if (!s.ok()) {
    MutexLock lock(&mu_);
    dirty_ = true;
    return s;
  }
  return h;
}

Status IndexFile::Destroy() { return file_->Destroy(); }

}  // namespace thruster::store
