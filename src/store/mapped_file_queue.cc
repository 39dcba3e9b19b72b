#include "store/mapped_file_queue.h"

#include <algorithm>

#include "common/logging.h"
#include "store/allocate_service.h"

namespace thruster::store {

MappedFileQueue::MappedFileQueue(io::FileSystem* fs, std::string dir,
                                 int64_t file_size, AllocateService* allocator,
                                 TransientStorePool* pool)
    : fs_(fs),
      dir_(std::move(dir)),
      file_size_(file_size),
      allocator_(allocator),
      pool_(pool) {}

Status MappedFileQueue::Load() {
  TH_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  TH_ASSIGN_OR_RETURN(auto entries, fs_->ListDir(dir_));
  std::vector<io::DirEntry> files;
  for (auto& e : entries) {
    if (!e.is_dir) files.push_back(std::move(e));
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::shared_ptr<MappedFile>> loaded;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& e = files[i];
    std::string path = io::JoinPath(dir_, e.name);
    auto base = FileNameToOffset(e.name);
    if (!base.ok())
      return Status::Corruption(fmt::format("{}: not a segment name", path));
    if (e.size == 0 && i + 1 == files.size()) {
      TH_LOG(store, kWarn, "{}: empty last segment, deleting it", path);
      TH_RETURN_IF_ERROR(fs_->Remove(path));
      continue;
    }
    if (static_cast<int64_t>(e.size) != file_size_) {
      return Status::Corruption(
          fmt::format("{}: size {} differs from the configured segment size {}",
                      path, e.size, file_size_));
    }
    if (!loaded.empty() && *base != loaded.back()->base_offset() + file_size_) {
      return Status::Corruption(fmt::format(
          "{}: starts at {}, but the previous segment ends at {} (gap)", path,
          *base, loaded.back()->base_offset() + file_size_));
    }
    if (*base % file_size_ != 0) {
      return Status::Corruption(fmt::format(
          "{}: base offset {} is not a multiple of the segment size {}", path,
          *base, file_size_));
    }
    TH_ASSIGN_OR_RETURN(
        auto f, MappedFile::OpenExisting(fs_, path, file_size_, reserve_step_));
    loaded.push_back(std::move(f));
  }
  // The appender goes on in the last segment (recovery sets its positions).
  if (random_access_while_appending_ && !loaded.empty())
    loaded.back()->Advise(io::Advice::kRandom);
  MutexLock lock(&mu_);
  files_ = std::move(loaded);
  BumpVersion();
  return Status::OK();
}

bool MappedFileQueue::empty() const {
  MutexLock lock(&mu_);
  return files_.empty();
}

size_t MappedFileQueue::size() const {
  MutexLock lock(&mu_);
  return files_.size();
}

std::shared_ptr<MappedFile> MappedFileQueue::GetFirstMappedFile() const {
  MutexLock lock(&mu_);
  return files_.empty() ? nullptr : files_.front();
}

std::shared_ptr<MappedFile> MappedFileQueue::GetLastMappedFile() const {
  MutexLock lock(&mu_);
  return files_.empty() ? nullptr : files_.back();
}

std::vector<std::shared_ptr<MappedFile>> MappedFileQueue::Snapshot() const {
  MutexLock lock(&mu_);
  return files_;
}

size_t MappedFileQueue::pending_dir_syncs() const {
  MutexLock lock(&mu_);
  return pending_dir_syncs_.size();
}

Result<std::shared_ptr<MappedFile>> MappedFileQueue::CreateSegment(
    int64_t base_offset, bool first) {
  std::string path = io::JoinPath(dir_, OffsetToFileName(base_offset));
  std::shared_ptr<MappedFile> f;
  if (allocator_ != nullptr) {
    std::string next_next =
        io::JoinPath(dir_, OffsetToFileName(base_offset + file_size_));
    TH_ASSIGN_OR_RETURN(f, allocator_->PutRequestAndReturnMappedFile(
                               path, next_next, file_size_));
  } else {
    TH_ASSIGN_OR_RETURN(
        f, MappedFile::Create(fs_, path, file_size_, pool_, reserve_step_));
  }
  // Make the new name durable, so a power loss cannot drop a segment that holds
  // synced data: now, or before the next flush.
  if (!defer_dir_sync_) {
    TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    return f;
  }
  std::vector<std::string> dirs{dir_};
  for (int i = 0; first && i < defer_parent_levels_; ++i)
    dirs.push_back(io::DirName(dirs.back()));
  MutexLock lock(&mu_);
  for (auto& d : dirs) {
    if (std::find(pending_dir_syncs_.begin(), pending_dir_syncs_.end(), d) ==
        pending_dir_syncs_.end())
      pending_dir_syncs_.push_back(std::move(d));
  }
  return f;
}

Status MappedFileQueue::SyncPendingDirs() {
  std::vector<std::string> dirs;
  {
    MutexLock lock(&mu_);
    if (pending_dir_syncs_.empty()) return Status::OK();
    dirs.swap(pending_dir_syncs_);
  }
  for (size_t i = 0; i < dirs.size(); ++i) {
    Status s = fs_->SyncDir(dirs[i]);
    if (!s.ok()) {
      MutexLock lock(&mu_);
      pending_dir_syncs_.insert(pending_dir_syncs_.begin(),
                                dirs.begin() + static_cast<std::ptrdiff_t>(i),
                                dirs.end());
      return s;
    }
  }
  return Status::OK();
}

Result<std::shared_ptr<MappedFile>> MappedFileQueue::GetLastMappedFile(
    int64_t start_offset) {
  int64_t create_at;
  bool first;
  {
    MutexLock lock(&mu_);
    if (!files_.empty() && !files_.back()->IsFull()) return files_.back();
    first = files_.empty();
    create_at = first ? start_offset - start_offset % file_size_
                      : files_.back()->base_offset() + file_size_;
  }
  // Created outside the lock: readers keep going while the allocator delivers
  // the file.
  TH_ASSIGN_OR_RETURN(auto f, CreateSegment(create_at, first));
  MutexLock lock(&mu_);
  if (!files_.empty() && files_.back()->base_offset() >= create_at)
    return files_.back();
  if (random_access_while_appending_) {
    f->Advise(io::Advice::kRandom);
    if (!files_.empty()) files_.back()->Advise(io::Advice::kNormal);
  }
  files_.push_back(f);
  BumpVersion();
  if (files_.size() == 1) {
    flushed_where_.store(create_at, std::memory_order_release);
    committed_where_.store(create_at, std::memory_order_release);
  }
  TH_LOG(store, kInfo, "new segment {}", f->path());
  return f;
}

std::shared_ptr<MappedFile> MappedFileQueue::FindMappedFileByOffset(
    int64_t offset, bool return_first_on_not_found) const {
  MutexLock lock(&mu_);
  if (files_.empty()) return nullptr;
  const auto& first = files_.front();
  const auto& last = files_.back();
  if (offset < first->base_offset() ||
      offset >= last->base_offset() + file_size_) {
    return return_first_on_not_found ? first : nullptr;
  }
  size_t idx = static_cast<size_t>(offset / file_size_ -
                                   first->base_offset() / file_size_);
  if (idx < files_.size() && offset >= files_[idx]->base_offset() &&
      offset < files_[idx]->base_offset() + file_size_) {
    return files_[idx];
  }
  for (const auto& f : files_) {
    if (offset >= f->base_offset() && offset < f->base_offset() + file_size_)
      return f;
  }
  return return_first_on_not_found ? first : nullptr;
}

int64_t MappedFileQueue::GetMinOffset() const {
  MutexLock lock(&mu_);
  for (const auto& f : files_) {
    if (f->available()) return f->base_offset();
  }
  return files_.empty() ? -1 : files_.back()->base_offset();
}

int64_t MappedFileQueue::GetMaxOffset() const {
  MutexLock lock(&mu_);
  if (files_.empty()) return 0;
  return files_.back()->base_offset() + files_.back()->read_pos();
}

int64_t MappedFileQueue::GetMaxWrotePosition() const {
  MutexLock lock(&mu_);
  if (files_.empty()) return 0;
  return files_.back()->base_offset() + files_.back()->write_pos();
}

Result<bool> MappedFileQueue::Flush(int least_pages) {
  MutexLock lock(&flush_mu_);
  TH_RETURN_IF_ERROR(SyncPendingDirs());
  int64_t where = flushed_where();
  auto f = FindMappedFileByOffset(where, where == 0);
  if (f == nullptr) return true;
  int64_t ts = f->store_timestamp();
  TH_ASSIGN_OR_RETURN(int32_t pos, f->Flush(least_pages));
  int64_t now_where = f->base_offset() + pos;
  bool unchanged = now_where == where;
  flushed_where_.store(now_where, std::memory_order_release);
  if (least_pages == 0) store_timestamp_.store(ts, std::memory_order_release);
  return unchanged;
}

Status MappedFileQueue::Writeback(int64_t least_bytes,
                                  int64_t max_in_flight_bytes,
                                  int64_t drop_below) {
  MutexLock lock(&flush_mu_);
  return WritebackLocked(least_bytes, max_in_flight_bytes, drop_below);
}

Status MappedFileQueue::WritebackLocked(int64_t least_bytes,
                                        int64_t max_in_flight_bytes,
                                        int64_t drop_below) {
  if (writeback_where_ < 0 || writeback_where_ < flushed_where())
    writeback_where_ = flushed_where();
  while (true) {
    auto f = FindMappedFileByOffset(writeback_where_, writeback_where_ == 0);
    if (f == nullptr) break;
    if (writeback_where_ < f->base_offset())
      writeback_where_ = f->base_offset();
    auto begin = static_cast<int32_t>(writeback_where_ - f->base_offset());
    int32_t end = f->read_pos();
    // Whole pages only, so the page the appender is filling is never cleaned
    // under it (its next store would fault to make it writable again).
    if (end < f->file_size()) end &= ~(kOsPageSize - 1);
    if (end - begin < least_bytes && end < f->file_size()) break;
    if (end > begin) {
      if (unmap_before_writeback_) f->Unmap(begin, end);
      TH_RETURN_IF_ERROR(f->Writeback(begin, end, /*wait=*/false));
      writeback_in_flight_bytes_ += end - begin;
      writeback_in_flight_.push_back(FileRange{f, begin, end});
    }
    writeback_where_ = f->base_offset() + end;
    if (end < f->file_size()) break;
  }
  while (writeback_in_flight_bytes_ > max_in_flight_bytes &&
         !writeback_in_flight_.empty()) {
    FileRange r = std::move(writeback_in_flight_.front());
    writeback_in_flight_.pop_front();
    writeback_in_flight_bytes_ -= r.end - r.begin;
    TH_RETURN_IF_ERROR(r.file->Writeback(r.begin, r.end, /*wait=*/true));
    if (drop_below >= 0) written_back_.push_back(std::move(r));
  }
  // Clean pages far enough behind the writer leave the page cache: their frames
  // are reused for the pages ahead of it.
  if (drop_below < 0) {
    written_back_.clear();
    return Status::OK();
  }
  while (!written_back_.empty() && written_back_.front().file->base_offset() +
                                           written_back_.front().end <=
                                       drop_below) {
    FileRange r = std::move(written_back_.front());
    written_back_.pop_front();
    // From where the last drop stopped (the ranges follow one another; a
    // segment's bytes before its first range were flushed), to the last
    // boundary a folio cannot straddle.
    const int64_t base = r.file->base_offset();
    const int64_t from = std::max(dropped_where_, base) - base;
    const int64_t to =
        r.end == r.file->file_size() ? r.end : r.end / kDropAlign * kDropAlign;
    if (to > from) {
      DropOrDefer(std::move(r.file), static_cast<int32_t>(from),
                  static_cast<int32_t>(to));
      dropped_where_ = base + to;
    }
  }
  return Status::OK();
}

void MappedFileQueue::DropOrDefer(std::shared_ptr<MappedFile> file,
                                  int32_t begin, int32_t end) {
  if (max_deferred_drop_bytes_ < 0) {
    file->DropCache(begin, end);
    return;
  }
  std::vector<FileRange> now;
  {
    MutexLock lock(&drop_mu_);
    deferred_drop_bytes_ += end - begin;
    deferred_drops_.push_back(FileRange{std::move(file), begin, end});
    if (deferred_drop_bytes_ > max_deferred_drop_bytes_)
      TakeDeferred(deferred_drop_bytes_ - max_deferred_drop_bytes_, &now);
  }
  for (auto& d : now) d.file->DropCache(d.begin, d.end);
}

int64_t MappedFileQueue::DropDeferred(int64_t bytes) {
  std::vector<FileRange> now;
  int64_t dropped = 0;
  {
    MutexLock lock(&drop_mu_);
    dropped = TakeDeferred(bytes, &now);
  }
  for (auto& d : now) d.file->DropCache(d.begin, d.end);
  return dropped;
}

int64_t MappedFileQueue::TakeDeferred(int64_t bytes,
                                      std::vector<FileRange>* out) {
  int64_t taken = 0;
  while (taken < bytes && !deferred_drops_.empty()) {
    FileRange& front = deferred_drops_.front();
    // Whole, or cut at the first folio boundary past what is asked for; the
    // rest stays deferred.
    auto cut = static_cast<int32_t>(std::min<int64_t>(
        front.end, (front.begin + bytes - taken + kDropAlign - 1) / kDropAlign *
                       kDropAlign));
    taken += cut - front.begin;
    if (cut == front.end) {
      out->push_back(std::move(front));
      deferred_drops_.pop_front();
    } else {
      out->push_back(FileRange{front.file, front.begin, cut});
      front.begin = cut;
    }
  }
  deferred_drop_bytes_ -= taken;
  return taken;
}

int64_t MappedFileQueue::deferred_drop_bytes() const {
  MutexLock lock(&drop_mu_);
  return deferred_drop_bytes_;
}

Result<bool> MappedFileQueue::Commit(int least_pages) {
  MutexLock lock(&flush_mu_);
  int64_t where = committed_where();
  auto f = FindMappedFileByOffset(where, where == 0);
  if (f == nullptr) return true;
  TH_ASSIGN_OR_RETURN(int32_t pos, f->Commit(least_pages));
  int64_t now_where = f->base_offset() + pos;
  bool unchanged = now_where == where;
  committed_where_.store(now_where, std::memory_order_release);
  return unchanged;
}

Status MappedFileQueue::TruncateDirtyFiles(int64_t offset) {
  MutexLock flush_lock(&flush_mu_);
  if (flushed_where() > offset) set_flushed_where(offset);
  if (committed_where() > offset) set_committed_where(offset);
  writeback_where_ = -1;
  writeback_in_flight_.clear();
  writeback_in_flight_bytes_ = 0;
  written_back_.clear();
  dropped_where_ = std::min(dropped_where_, offset);
  {
    MutexLock lock(&drop_mu_);
    deferred_drops_.clear();
    deferred_drop_bytes_ = 0;
  }
  std::vector<std::shared_ptr<MappedFile>> to_destroy;
  {
    MutexLock lock(&mu_);
    std::vector<std::shared_ptr<MappedFile>> keep;
    for (auto& f : files_) {
      int64_t end = f->base_offset() + file_size_;
      if (end <= offset) {
        keep.push_back(f);
      } else if (offset >= f->base_offset()) {
        f->SetPositions(static_cast<int32_t>(offset % file_size_));
        keep.push_back(f);
      } else {
        to_destroy.push_back(f);
      }
    }
    files_ = std::move(keep);
    BumpVersion();
  }
  for (auto& f : to_destroy) TH_RETURN_IF_ERROR(f->Destroy());
  if (!to_destroy.empty()) TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  return Status::OK();
}

Status MappedFileQueue::DeleteFirstSegments(size_t count) {
  std::vector<std::shared_ptr<MappedFile>> gone;
  {
    MutexLock lock(&mu_);
    count = std::min(count, files_.empty() ? size_t{0} : files_.size() - 1);
    gone.assign(files_.begin(),
                files_.begin() + static_cast<std::ptrdiff_t>(count));
    files_.erase(files_.begin(),
                 files_.begin() + static_cast<std::ptrdiff_t>(count));
    if (count > 0) BumpVersion();
  }
  for (auto& f : gone) TH_RETURN_IF_ERROR(f->Destroy());
  if (!gone.empty()) TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  return Status::OK();
}

Result<int> MappedFileQueue::DeleteExpired(
    const std::function<bool(const MappedFile&)>& expired, int max_count) {
  std::vector<std::shared_ptr<MappedFile>> files = Snapshot();
  size_t n = 0;
  while (n + 1 < files.size() && static_cast<int>(n) < max_count &&
         expired(*files[n]))
    ++n;
  TH_RETURN_IF_ERROR(DeleteFirstSegments(n));
  return static_cast<int>(n);
}

Status MappedFileQueue::DestroyAll() {
  std::vector<std::shared_ptr<MappedFile>> gone;
  {
    MutexLock lock(&mu_);
    gone.swap(files_);
    BumpVersion();
  }
  for (auto& f : gone) TH_RETURN_IF_ERROR(f->Destroy());
  flushed_where_.store(0);
  committed_where_.store(0);
  return fs_->SyncDir(dir_);
}

}  // namespace thruster::store
