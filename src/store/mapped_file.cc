#include "store/mapped_file.h"

#include <algorithm>
#include <cstring>

#include "common/logging.h"
#include "store/transient_store_pool.h"

namespace thruster::store {

std::string OffsetToFileName(int64_t offset) {
  return fmt::format("{:020d}", offset);
}

Result<int64_t> FileNameToOffset(std::string_view name) {
  if (name.empty() || name.size() > 20)
    return Status::InvalidArgument(fmt::format("bad segment name '{}'", name));
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9')
      return Status::InvalidArgument(
          fmt::format("bad segment name '{}'", name));
    if (v > (INT64_MAX - (c - '0')) / 10)
      return Status::InvalidArgument(
          fmt::format("segment name '{}' overflows", name));
    v = v * 10 + (c - '0');
  }
  return v;
}

namespace {
std::string BaseName(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}
}  // namespace

MappedFile::MappedFile(io::FileSystem* fs, std::string path,
                       int64_t base_offset, int32_t file_size,
                       std::unique_ptr<io::MappedRegion> region)
    : fs_(fs),
      path_(std::move(path)),
      base_offset_(base_offset),
      file_size_(file_size),
      region_(std::move(region)),
      data_(region_->bytes().data()) {}

MappedFile::~MappedFile() {
  std::byte* buf = pool_buffer_.exchange(nullptr);
  if (buf != nullptr && pool_ != nullptr) pool_->Return(buf);
}

namespace {
Result<std::unique_ptr<io::MappedRegion>> MapSegmentFile(
    io::FileSystem* fs, const std::string& path, int64_t file_size, bool create,
    int32_t reserve_step) {
  if (reserve_step < 0) {
    return Status::InvalidArgument(
        fmt::format("reserve step {} for {}", reserve_step, path));
  }
  const auto size = static_cast<size_t>(file_size);
  if (reserve_step > 0) return fs->MapSparse(path, size, create);
  return fs->Map(
      path, size,
      create ? io::OpenMode::kCreateOrOpen : io::OpenMode::kOpenExisting);
}
}  // namespace

Result<std::shared_ptr<MappedFile>> MappedFile::Create(io::FileSystem* fs,
                                                       const std::string& path,
                                                       int64_t file_size,
                                                       TransientStorePool* pool,
                                                       int32_t reserve_step) {
  if (file_size <= 0 || file_size > INT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("segment size {} out of range for {}", file_size, path));
  }
  TH_ASSIGN_OR_RETURN(int64_t base, FileNameToOffset(BaseName(path)));
  TH_ASSIGN_OR_RETURN(auto region,
                      MapSegmentFile(fs, path, file_size,
                                     /*create=*/true, reserve_step));
  std::shared_ptr<MappedFile> f(new MappedFile(
      fs, path, base, static_cast<int32_t>(file_size), std::move(region)));
  f->reserve_step_ = reserve_step;
  if (pool != nullptr) {
    f->pool_ = pool;
    f->pool_buffer_.store(pool->Borrow(), std::memory_order_release);
  }
  return f;
}

Result<std::shared_ptr<MappedFile>> MappedFile::OpenExisting(
    io::FileSystem* fs, const std::string& path, int64_t file_size,
    int32_t reserve_step) {
  if (file_size <= 0 || file_size > INT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("segment size {} out of range for {}", file_size, path));
  }
  TH_ASSIGN_OR_RETURN(int64_t base, FileNameToOffset(BaseName(path)));
  TH_ASSIGN_OR_RETURN(auto region,
                      MapSegmentFile(fs, path, file_size,
                                     /*create=*/false, reserve_step));
  std::shared_ptr<MappedFile> f(new MappedFile(
      fs, path, base, static_cast<int32_t>(file_size), std::move(region)));
  f->reserve_step_ = reserve_step;
  f->SetPositions(static_cast<int32_t>(file_size));
  return f;
}

std::string MappedFile::file_name() const { return BaseName(path_); }

int32_t MappedFile::read_pos() const {
  return has_pool_buffer() ? commit_pos() : write_pos();
}

std::span<std::byte> MappedFile::WritableSpan() {
  return WritableSpanAt(write_pos_.load(std::memory_order_relaxed));
}

std::span<std::byte> MappedFile::WritableSpanAt(int32_t pos) {
  std::byte* base = pool_buffer_.load(std::memory_order_relaxed);
  if (base == nullptr) base = data_;
  return {base + pos, static_cast<size_t>(file_size_ - pos)};
}

void MappedFile::AdvanceWritePos(int32_t n) {
  int32_t w = write_pos_.load(std::memory_order_relaxed) + n;
  write_pos_.store(w, std::memory_order_release);
  // Without a pool buffer the bytes are in the file as soon as they are
  // written.
  if (pool_buffer_.load(std::memory_order_relaxed) == nullptr)
    commit_pos_.store(w, std::memory_order_release);
}

bool MappedFile::AppendBytes(std::span<const std::byte> data) {
  auto dest = WritableSpan();
  if (data.size() > dest.size()) return false;
  std::memcpy(dest.data(), data.data(), data.size());
  AdvanceWritePos(static_cast<int32_t>(data.size()));
  return true;
}

bool MappedFile::AppendBytesAt(int32_t pos, std::span<const std::byte> data) {
  int32_t w = write_pos();
  if (pos < w || static_cast<int64_t>(pos) + static_cast<int64_t>(data.size()) >
                     file_size_)
    return false;
  std::byte* base = pool_buffer_.load(std::memory_order_relaxed);
  if (base == nullptr) base = data_;
  std::memcpy(base + pos, data.data(), data.size());
  AdvanceWritePos(pos + static_cast<int32_t>(data.size()) - w);
  return true;
}

Status MappedFile::ReserveTo(int32_t end) {
  if (reserve_step_ == 0) return Status::OK();
  const int32_t reserved = reserved_end_.load(std::memory_order_relaxed);
  if (end <= reserved) return Status::OK();
  if (end > file_size_) {
    return Status::InvalidArgument(fmt::format(
        "reserve up to {} past the end {} of {}", end, file_size_, path_));
  }
  // From the appender's page: a file opened again starts with nothing
  // reserved, and everything below write pos holds written bytes (blocks).
  const int32_t page_begin = write_pos() & ~(kOsPageSize - 1);
  const int32_t begin = std::max(reserved, page_begin);
  const int64_t step = reserve_step_;
  const auto new_end = static_cast<int32_t>(
      std::min<int64_t>(file_size_, (end + step - 1) / step * step));
  TH_RETURN_IF_ERROR(region_->Reserve(static_cast<size_t>(begin),
                                      static_cast<size_t>(new_end)));
  reserved_end_.store(new_end, std::memory_order_relaxed);
  return Status::OK();
}

Status MappedFile::AppendThroughFile(std::span<const std::byte> data) {
  int32_t w = write_pos();
  if (static_cast<int64_t>(w) + static_cast<int64_t>(data.size()) >
      file_size_) {
    return Status::InvalidArgument("append past the end of " + path_);
  }
  TH_RETURN_IF_ERROR(region_->Write(static_cast<size_t>(w), data));
  AdvanceWritePos(static_cast<int32_t>(data.size()));
  return Status::OK();
}

void MappedFile::SetPositions(int32_t pos) {
  write_pos_.store(pos, std::memory_order_release);
  commit_pos_.store(pos, std::memory_order_release);
  flush_pos_.store(pos, std::memory_order_release);
}

bool MappedFile::IsAbleToFlushOrCommit(int32_t done, int32_t target,
                                       int least_pages) const {
  if (target == file_size_ && done < target) return true;
  if (least_pages > 0)
    return (target / kOsPageSize) - (done / kOsPageSize) >= least_pages;
  return target > done;
}

Result<int32_t> MappedFile::Flush(int least_pages) {
  int32_t flushed = flush_pos();
  int32_t target = read_pos();
  if (!IsAbleToFlushOrCommit(flushed, target, least_pages)) return flushed;
  Status s =
      region_->Sync(static_cast<size_t>(flushed), static_cast<size_t>(target));
  if (!s.ok()) return s;
  flush_pos_.store(target, std::memory_order_release);
  return target;
}

Status MappedFile::Writeback(int32_t begin, int32_t end, bool wait) {
  return region_->Writeback(static_cast<size_t>(begin),
                            static_cast<size_t>(end), wait);
}

void MappedFile::DropCache(int32_t begin, int32_t end) {
  region_->DropCache(static_cast<size_t>(begin), static_cast<size_t>(end));
}

void MappedFile::Unmap(int32_t begin, int32_t end) {
  region_->Unmap(static_cast<size_t>(begin), static_cast<size_t>(end));
}

Result<int32_t> MappedFile::Commit(int least_pages) {
  std::byte* buf = pool_buffer_.load(std::memory_order_acquire);
  if (buf == nullptr) return write_pos();
  int32_t committed = commit_pos();
  int32_t target = write_pos();
  if (IsAbleToFlushOrCommit(committed, target, least_pages)) {
    // A positional write, not a copy into the mapping: no page faults and no
    // write-protect faults after each sync on the commit thread.
    Status s = region_->Write(
        static_cast<size_t>(committed),
        std::span<const std::byte>(buf + committed,
                                   static_cast<size_t>(target - committed)));
    if (!s.ok()) return s;
    commit_pos_.store(target, std::memory_order_release);
    committed = target;
  }
  if (committed == file_size_) {
    // Fully committed: readers now use the mapping; the buffer goes back to the
    // pool.
    pool_buffer_.store(nullptr, std::memory_order_release);
    pool_->Return(buf);
  }
  return committed;
}

Status MappedFile::SyncRange(int32_t begin, int32_t end) {
  return region_->Sync(static_cast<size_t>(begin), static_cast<size_t>(end));
}

std::optional<SelectResult> MappedFile::Select(int32_t pos, int32_t size) {
  int32_t r = read_pos();
  if (pos < 0 || size < 0 || static_cast<int64_t>(pos) + size > r ||
      !available())
    return std::nullopt;
  return SelectResult{
      shared_from_this(), base_offset_ + pos,
      std::span<const std::byte>(data_ + pos, static_cast<size_t>(size))};
}

std::optional<SelectResult> MappedFile::Select(int32_t pos) {
  int32_t r = read_pos();
  if (pos < 0 || pos > r || !available()) return std::nullopt;
  return SelectResult{
      shared_from_this(), base_offset_ + pos,
      std::span<const std::byte>(data_ + pos, static_cast<size_t>(r - pos))};
}

void MappedFile::Warm(bool sync_flush, bool lock) {
  if (sync_flush) {
    // Write the zeros through the file and sync them: the blocks become written
    // extents, so the group commit's syncs of overwritten pages commit no
    // metadata, and the pages stay warm in the page cache.
    Status s = region_->WriteZerosAndSync();
    if (!s.ok())
      TH_LOG(store, kWarn, "warm-up of {} failed: {}", path_, s.ToString());
  } else {
    PreTouch(file_size_);
  }
  if (lock) {
    Status s = region_->Lock();
    if (!s.ok())
      TH_LOG(store, kWarn, "mlock of {} failed: {}", path_, s.ToString());
    region_->Advise(io::Advice::kWillNeed);
  }
}

void MappedFile::PreTouch(int32_t end) {
  end = std::min(end, file_size_);
  int32_t begin = touched_end();
  if (begin >= end) return;
  if (!region_
           ->PopulateWrite(static_cast<size_t>(begin), static_cast<size_t>(end))
           .ok()) {
    // The kernel could not fault the pages in at once: touch one byte a page.
    // An atomic "or 0" write-faults the page without changing a byte the writer
    // may be storing meanwhile.
    for (int64_t i = begin; i < end; i += kOsPageSize) {
      __atomic_fetch_or(reinterpret_cast<unsigned char*>(data_ + i),
                        static_cast<unsigned char>(0), __ATOMIC_RELAXED);
    }
  }
  touched_end_.store(end, std::memory_order_release);
}

void MappedFile::Munlock() {
  Status s = region_->Unlock();
  if (!s.ok())
    TH_LOG(store, kWarn, "munlock of {} failed: {}", path_, s.ToString());
}

void MappedFile::Advise(io::Advice advice) { region_->Advise(advice); }

Status MappedFile::Destroy() {
  available_.store(false, std::memory_order_release);
  Status s = fs_->Remove(path_);
  if (!s.ok() && !s.IsNotFound()) return s;
  TH_LOG(store, kInfo, "destroyed segment {}", path_);
  return Status::OK();
}

Result<int64_t> MappedFile::LastModifiedMs() const {
  return fs_->ModifiedTimeMs(path_);
}

}  // namespace thruster::store
