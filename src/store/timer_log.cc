#include "store/timer_log.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/coding.h"
#include "common/logging.h"

namespace thruster::store {

namespace tf = timer_format;

Result<std::unique_ptr<TimerLog>> TimerLog::Open(io::FileSystem* fs,
                                                 const std::string& dir,
                                                 int64_t segment_size) {
  if (segment_size < static_cast<int64_t>(tf::kUnitSize + tf::kBlankSize))
    return Status::InvalidArgument("mappedFileSizeTimerLog is too small");
  TH_RETURN_IF_ERROR(fs->CreateDirs(dir));
  std::unique_ptr<TimerLog> log(new TimerLog(fs, dir, segment_size));
  Result<std::vector<io::DirEntry>> entries = fs->ListDir(dir);
  if (!entries.ok()) return entries.status();
  for (const io::DirEntry& e : *entries) {
    if (e.is_dir || e.name.size() != 20 ||
        !std::all_of(e.name.begin(), e.name.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const int64_t base = std::stoll(e.name);
    if (base % segment_size != 0 ||
        e.size != static_cast<uint64_t>(segment_size)) {
      return Status::Corruption(io::JoinPath(dir, e.name) +
                                " is not a timerlog segment of " +
                                std::to_string(segment_size) + " bytes");
    }
    Result<std::unique_ptr<io::MappedRegion>> r =
        fs->Map(io::JoinPath(dir, e.name), static_cast<size_t>(segment_size),
                io::OpenMode::kOpenExisting);
    if (!r.ok()) return r.status();
    log->segments_[base] = std::move(r).value();
  }
  return log;
}

std::string TimerLog::SegmentPath(int64_t base) const {
  char name[21];
  std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(base));
  return io::JoinPath(dir_, name);
}

io::MappedRegion* TimerLog::Segment(int64_t base) const {
  auto it = segments_.find(base);
  return it == segments_.end() ? nullptr : it->second.get();
}

Result<io::MappedRegion*> TimerLog::SegmentForWrite(int64_t base) {
  if (io::MappedRegion* r = Segment(base)) return r;
  Result<std::unique_ptr<io::MappedRegion>> r =
      fs_->Map(SegmentPath(base), static_cast<size_t>(segment_size_),
               io::OpenMode::kCreateOrOpen);
  if (!r.ok()) return r.status();
  TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  io::MappedRegion* raw = r->get();
  segments_[base] = std::move(r).value();
  return raw;
}

Result<int64_t> TimerLog::Recover(
    int64_t from_pos,
    const std::function<void(int64_t, const tf::Unit&)>& on_unit) {
  int64_t pos = std::max<int64_t>(0, from_pos) / segment_size_ * segment_size_;
  if (!segments_.empty()) pos = std::max(pos, segments_.begin()->first);
  while (true) {
    const int64_t base = pos / segment_size_ * segment_size_;
    io::MappedRegion* seg = Segment(base);
    if (seg == nullptr) break;
    const int64_t file_pos = pos - base;
    const int64_t remaining = segment_size_ - file_pos;
    std::span<const std::byte> at = seg->bytes().subspan(
        static_cast<size_t>(file_pos), static_cast<size_t>(remaining));
    if (remaining < static_cast<int64_t>(tf::kUnitSize + tf::kBlankSize)) {
      pos = base + segment_size_;  // the writer moved on to the next segment
      continue;
    }
    if (LoadI32(at.data() + 12) == tf::kBlankMagic &&
        LoadI32(at.data()) == static_cast<int32_t>(remaining)) {
      pos = base + segment_size_;
      continue;
    }
    std::optional<tf::Unit> unit = tf::DecodeUnit(at);
    if (!unit) break;
    on_unit(pos, *unit);
    pos += static_cast<int64_t>(tf::kUnitSize);
  }
  // Truncate: zero the rest of the end's segment, drop the segments after it.
  const int64_t end_base = pos / segment_size_ * segment_size_;
  if (io::MappedRegion* seg = Segment(end_base)) {
    std::span<std::byte> b = seg->bytes();
    const size_t from = static_cast<size_t>(pos - end_base);
    if (std::any_of(b.begin() + static_cast<std::ptrdiff_t>(from), b.end(),
                    [](std::byte x) { return x != std::byte{0}; })) {
      TH_LOG(store, kWarn, "timerlog: truncating {} at position {}",
             SegmentPath(end_base), pos);
      std::memset(b.data() + from, 0, b.size() - from);
    }
  }
  for (auto it = segments_.upper_bound(end_base); it != segments_.end();) {
    const std::string path = SegmentPath(it->first);
    TH_LOG(store, kWarn, "timerlog: removing {} past the end {}", path, pos);
    it = segments_.erase(it);
    fs_->Remove(path).IgnoreError();  // a leftover is refused at the next scan
  }
  end_pos_ = pos;
  return pos;
}

Result<int64_t> TimerLog::Append(const tf::Unit& unit) {
  int64_t base = end_pos_ / segment_size_ * segment_size_;
  int64_t file_pos = end_pos_ - base;
  if (segment_size_ - file_pos <
      static_cast<int64_t>(tf::kUnitSize + tf::kBlankSize)) {
    if (io::MappedRegion* seg = Segment(base);
        seg != nullptr &&
        segment_size_ - file_pos >= static_cast<int64_t>(tf::kBlankSize)) {
      tf::EncodeBlank(static_cast<int32_t>(segment_size_ - file_pos),
                      seg->bytes().subspan(static_cast<size_t>(file_pos)));
    }
    base += segment_size_;
    file_pos = 0;
  }
  Result<io::MappedRegion*> seg = SegmentForWrite(base);
  if (!seg.ok()) return seg.status();
  tf::EncodeUnit(unit, (*seg)->bytes().subspan(static_cast<size_t>(file_pos)));
  const int64_t pos = base + file_pos;
  end_pos_ = pos + static_cast<int64_t>(tf::kUnitSize);
  return pos;
}

std::optional<tf::Unit> TimerLog::Read(int64_t pos) const {
  if (pos < 0 || pos >= end_pos_) return std::nullopt;
  const int64_t base = pos / segment_size_ * segment_size_;
  io::MappedRegion* seg = Segment(base);
  if (seg == nullptr) return std::nullopt;
  return tf::DecodeUnit(seg->bytes().subspan(static_cast<size_t>(pos - base)));
}

Status TimerLog::Sync() {
  // Units go to the active segment only; the one before it may have been
  // left since the last sync.
  const int64_t base = end_pos_ / segment_size_ * segment_size_;
  for (int64_t b : {base - segment_size_, base}) {
    if (io::MappedRegion* seg = Segment(b))
      TH_RETURN_IF_ERROR(seg->Sync(0, static_cast<size_t>(segment_size_)));
  }
  return Status::OK();
}

int TimerLog::RemoveSegmentsBelow(int64_t min_phys) {
  const int64_t active = end_pos_ / segment_size_ * segment_size_;
  int removed = 0;
  for (auto it = segments_.begin();
       it != segments_.end() && it->first < active - segment_size_;) {
    // The segment's last unit indexes its newest message.
    std::span<const std::byte> b = it->second->bytes();
    std::optional<tf::Unit> last;
    for (size_t p = 0; p + tf::kUnitSize <= b.size(); p += tf::kUnitSize) {
      std::optional<tf::Unit> u = tf::DecodeUnit(b.subspan(p));
      if (!u) break;
      last = u;
    }
    if (last && last->offset_py >= min_phys) break;
    const std::string path = SegmentPath(it->first);
    it = segments_.erase(it);
    if (Status s = fs_->Remove(path); !s.ok()) {
      TH_LOG(store, kWarn, "timerlog: removing {} failed: {}", path,
             s.ToString());
    } else {
      ++removed;
    }
  }
  return removed;
}

}  // namespace thruster::store
