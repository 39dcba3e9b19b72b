#include "store/store_inspector.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/coding.h"
#include "common/strings.h"
#include "store/mapped_file.h"

namespace thruster::store {

using message::CheckRecord;
using message::DecodedRecord;
using message::RecordCheck;
using message::RecordStatus;
namespace {

// Regular files of `dir` sorted by name; an absent directory gives an empty
// list.
Result<std::vector<io::DirEntry>> SortedFiles(io::FileSystem* fs,
                                              const std::string& dir) {
  if (!fs->Exists(dir)) return std::vector<io::DirEntry>{};
  TH_ASSIGN_OR_RETURN(auto entries, fs->ListDir(dir));
  std::vector<io::DirEntry> files;
  for (auto& e : entries) {
    if (!e.is_dir) files.push_back(std::move(e));
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

// Loads a directory of fixed-size files named by their stream offset, as
// MappedFileQueue does: a zero-length last file is ignored; every other file
// must have the first file's size and follow on.
Status LoadSegments(io::FileSystem* fs, const std::string& dir,
                    std::vector<SegmentInfo>* out, int64_t* segment_size) {
  TH_ASSIGN_OR_RETURN(auto files, SortedFiles(fs, dir));
  if (!files.empty() && files.back().size == 0) files.pop_back();
  *segment_size = files.empty() ? 0 : static_cast<int64_t>(files.front().size);
  int64_t expected = -1;
  for (const auto& f : files) {
    std::string path = io::JoinPath(dir, f.name);
    auto base = FileNameToOffset(f.name);
    if (!base.ok()) return Status::Corruption(path + ": not a segment name");
    if (static_cast<int64_t>(f.size) != *segment_size) {
      return Status::Corruption(
          fmt::format("{}: size {} differs from the first file's {}", path,
                      f.size, *segment_size));
    }
    if (expected >= 0 && *base != expected) {
      return Status::Corruption(
          fmt::format("{}: gap, the previous file ends at {}", path, expected));
    }
    expected = *base + *segment_size;
    out->push_back(SegmentInfo{f.name, *base, *segment_size});
  }
  return Status::OK();
}

Status MapAll(io::FileSystem* fs, const std::string& dir,
              const std::vector<SegmentInfo>& segments,
              std::vector<std::unique_ptr<io::MappedRegion>>* regions) {
  for (const auto& s : segments) {
    TH_ASSIGN_OR_RETURN(auto region, fs->Map(io::JoinPath(dir, s.name),
                                             static_cast<size_t>(s.size),
                                             io::OpenMode::kReadOnly));
    regions->push_back(std::move(region));
  }
  return Status::OK();
}

}  // namespace

Result<IndexGeometry> DetectIndexGeometry(int64_t file_size) {
  if (file_size == index_format::FileSize(index_format::kDefaultMaxHashSlotNum,
                                          index_format::kDefaultMaxIndexNum)) {
    return IndexGeometry{};
  }
  // 40 + 4 s + 20 (4 s) = 40 + 84 s.
  int64_t body = file_size - static_cast<int64_t>(index_format::kHeaderSize);
  if (body > 0 && body % 84 == 0 && body / 84 <= INT32_MAX / 4) {
    auto slots = static_cast<int32_t>(body / 84);
    return IndexGeometry{slots, slots * 4};
  }
  return Status::InvalidArgument(
      fmt::format("index file size {} matches neither the default geometry nor "
                  "4 entries per slot; give "
                  "maxHashSlotNum and maxIndexNum",
                  file_size));
}

Result<StoreGeometry> DetectStoreGeometry(io::FileSystem* fs,
                                          const std::string& root) {
  StoreGeometry g;
  {
    std::vector<SegmentInfo> segments;
    TH_RETURN_IF_ERROR(LoadSegments(fs, io::JoinPath(root, "commitlog"),
                                    &segments, &g.commit_log_segment_size));
  }
  TH_ASSIGN_OR_RETURN(auto queues, ListQueues(fs, root));
  for (const auto& q : queues) {
    std::string dir =
        io::JoinPath(io::JoinPath(io::JoinPath(root, "consumequeue"), q.topic),
                     std::to_string(q.queue_id));
    TH_ASSIGN_OR_RETURN(auto files, SortedFiles(fs, dir));
    if (!files.empty() && files.front().size > 0) {
      g.consume_queue_file_size = static_cast<int64_t>(files.front().size);
      break;
    }
  }
  TH_ASSIGN_OR_RETURN(auto index_files, ListIndexFiles(fs, root));
  for (const auto& name : index_files) {
    TH_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(io::JoinPath(
                                           io::JoinPath(root, "index"), name)));
    if (size == 0) continue;
    TH_ASSIGN_OR_RETURN(auto geometry,
                        DetectIndexGeometry(static_cast<int64_t>(size)));
    g.index = geometry;
    break;
  }
  return g;
}

// ---- CommitLogReader

bool IsEndOfData(std::span<const std::byte> rest) {
  constexpr size_t kCutMark = 8;  // TOTALSIZE and MAGICCODE zeroed
  if (rest.size() >= kCutMark && IsAllZero(rest.first(kCutMark))) return true;
  return IsAllZero(rest);
}

Result<std::unique_ptr<CommitLogReader>> CommitLogReader::Open(
    io::FileSystem* fs, const std::string& dir) {
  std::unique_ptr<CommitLogReader> r(new CommitLogReader());
  r->dir_ = dir;
  TH_RETURN_IF_ERROR(LoadSegments(fs, dir, &r->segments_, &r->segment_size_));
  TH_RETURN_IF_ERROR(MapAll(fs, dir, r->segments_, &r->regions_));
  return r;
}

CommitLogReader::~CommitLogReader() = default;

int64_t CommitLogReader::min_offset() const {
  return segments_.empty() ? 0 : segments_.front().base_offset;
}

std::string CommitLogReader::SegmentPath(int64_t phys) const {
  if (segments_.empty() || phys < min_offset()) return "";
  auto i = static_cast<size_t>((phys - min_offset()) / segment_size_);
  if (i >= segments_.size()) return "";
  return io::JoinPath(dir_, segments_[i].name);
}

std::span<const std::byte> CommitLogReader::From(int64_t phys) const {
  if (segments_.empty() || phys < min_offset()) return {};
  auto i = static_cast<size_t>((phys - min_offset()) / segment_size_);
  if (i >= segments_.size()) return {};
  auto pos = static_cast<size_t>(phys - segments_[i].base_offset);
  return std::span<const std::byte>(regions_[i]->bytes()).subspan(pos);
}

RecordCheck CommitLogReader::ReadRecord(int64_t phys, bool check_crc) const {
  return CheckRecord(From(phys), check_crc);
}

CommitLogReader::WalkEnd CommitLogReader::Walk(int64_t from, bool check_crc,
                                               const RecordFn& fn) const {
  WalkEnd end;
  end.end_offset = min_offset();
  if (segments_.empty()) return end;
  size_t first =
      from <= min_offset()
          ? 0
          : static_cast<size_t>((from - min_offset()) / segment_size_);
  for (size_t i = first; i < segments_.size(); ++i) {
    std::span<const std::byte> m = regions_[i]->bytes();
    int64_t base = segments_[i].base_offset;
    int64_t pos = 0;
    end.end_offset = base;
    bool blank = false;
    while (pos < segment_size_) {
      int64_t phys = base + pos;
      RecordCheck c =
          CheckRecord(m.subspan(static_cast<size_t>(pos)), check_crc);
      if (c.status == RecordStatus::kBlank) {
        blank = true;
        break;
      }
      if (c.status != RecordStatus::kOk || c.record.phys_offset != phys) {
        if (!IsEndOfData(m.subspan(static_cast<size_t>(pos)))) {
          end.ok = false;
          end.error_offset = phys;
          end.error =
              c.status == RecordStatus::kOk
                  ? fmt::format(
                        "stored phys offset {} differs from the position",
                        c.record.phys_offset)
                  : fmt::format("invalid record ({})", c.error);
        }
        return end;
      }
      pos += c.size;
      end.end_offset = base + pos;
      if (phys >= from && !fn(c.record, phys, c.size)) return end;
    }
    if (!blank) return end;
  }
  return end;
}

// ---- consume queues

Result<std::vector<QueueId>> ListQueues(io::FileSystem* fs,
                                        const std::string& root) {
  std::vector<QueueId> out;
  std::string cq_root = io::JoinPath(root, "consumequeue");
  if (!fs->Exists(cq_root)) return out;
  TH_ASSIGN_OR_RETURN(auto topics, fs->ListDir(cq_root));
  for (const auto& t : topics) {
    if (!t.is_dir) continue;
    TH_ASSIGN_OR_RETURN(auto ids, fs->ListDir(io::JoinPath(cq_root, t.name)));
    for (const auto& id : ids) {
      if (!id.is_dir || !AllDigits(id.name) || id.name.size() > 9) continue;
      out.push_back(QueueId{t.name, std::stoi(id.name)});
    }
  }
  std::sort(out.begin(), out.end(), [](const QueueId& a, const QueueId& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.queue_id < b.queue_id;
  });
  return out;
}

Result<std::unique_ptr<ConsumeQueueReader>> ConsumeQueueReader::Open(
    io::FileSystem* fs, const std::string& root, const QueueId& queue) {
  std::unique_ptr<ConsumeQueueReader> r(new ConsumeQueueReader());
  r->dir_ = io::JoinPath(
      io::JoinPath(io::JoinPath(root, "consumequeue"), queue.topic),
      std::to_string(queue.queue_id));
  TH_RETURN_IF_ERROR(LoadSegments(fs, r->dir_, &r->files_, &r->file_size_));
  if (r->file_size_ % static_cast<int64_t>(cq_format::kEntrySize) != 0) {
    return Status::Corruption(
        fmt::format("{}: file size {} is not a multiple of {}", r->dir_,
                    r->file_size_, cq_format::kEntrySize));
  }
  for (const auto& f : r->files_) {
    if (f.base_offset % static_cast<int64_t>(cq_format::kEntrySize) != 0) {
      return Status::Corruption(fmt::format(
          "{}: base offset {} is not a multiple of {}",
          io::JoinPath(r->dir_, f.name), f.base_offset, cq_format::kEntrySize));
    }
  }
  TH_RETURN_IF_ERROR(MapAll(fs, r->dir_, r->files_, &r->regions_));
  return r;
}

ConsumeQueueReader::~ConsumeQueueReader() = default;

void ConsumeQueueReader::Walk(int64_t from, const UnitFn& fn) const {
  constexpr auto kUnit = static_cast<int64_t>(cq_format::kEntrySize);
  for (size_t i = 0; i < files_.size(); ++i) {
    int64_t base = files_[i].base_offset;
    if (from * kUnit >= base + file_size_) continue;
    std::span<const std::byte> m = regions_[i]->bytes();
    int64_t pos = std::max<int64_t>(0, from * kUnit - base);
    for (; pos + kUnit <= file_size_; pos += kUnit) {
      auto e = cq_format::DecodeEntry(
          m.subspan(static_cast<size_t>(pos), cq_format::kEntrySize));
      if (!e.ok() || !cq_format::IsValid(*e)) return;
      if (!fn((base + pos) / kUnit, *e, i, pos)) return;
    }
  }
}

// ---- index files

Result<std::vector<std::string>> ListIndexFiles(io::FileSystem* fs,
                                                const std::string& root) {
  TH_ASSIGN_OR_RETURN(auto files, SortedFiles(fs, io::JoinPath(root, "index")));
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (AllDigits(f.name)) out.push_back(f.name);
  }
  return out;
}

Result<std::unique_ptr<IndexFileReader>> IndexFileReader::Open(
    io::FileSystem* fs, const std::string& path,
    std::optional<IndexGeometry> geometry) {
  std::unique_ptr<IndexFileReader> r(new IndexFileReader());
  r->path_ = path;
  r->name_ = path.substr(path.find_last_of('/') + 1);
  TH_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(path));
  r->file_size_ = static_cast<int64_t>(size);
  if (geometry) {
    r->geometry_ = *geometry;
  } else {
    auto g = DetectIndexGeometry(r->file_size_);
    if (!g.ok())
      return Status::InvalidArgument(path + ": " + g.status().ToString());
    r->geometry_ = *g;
  }
  if (index_format::FileSize(r->geometry_.slot_num, r->geometry_.index_num) !=
      r->file_size_) {
    return Status::Corruption(fmt::format(
        "{}: size {} does not match {} slots and {} entries", path,
        r->file_size_, r->geometry_.slot_num, r->geometry_.index_num));
  }
  TH_ASSIGN_OR_RETURN(r->region_, fs->Map(path, static_cast<size_t>(size),
                                          io::OpenMode::kReadOnly));
  TH_ASSIGN_OR_RETURN(r->header_,
                      index_format::DecodeHeader(r->region_->bytes()));
  if (r->header_.index_count > r->geometry_.index_num) {
    return Status::Corruption(
        fmt::format("{}: index count {} exceeds {} entries", path,
                    r->header_.index_count, r->geometry_.index_num));
  }
  return r;
}

IndexFileReader::~IndexFileReader() = default;

index_format::Entry IndexFileReader::EntryAt(int32_t n) const {
  auto pos = static_cast<size_t>(index_format::EntryPos(geometry_.slot_num, n));
  auto e = index_format::DecodeEntry(
      std::span<const std::byte>(region_->bytes()).subspan(pos));
  return e.ok() ? *e : index_format::Entry{};
}

int32_t IndexFileReader::SlotAt(int32_t slot) const {
  auto pos = index_format::kHeaderSize +
             index_format::kSlotSize * static_cast<size_t>(slot);
  return LoadBE<int32_t>(region_->bytes().data() + pos);
}

// ---- InspectStore

Result<StoreInfo> InspectStore(io::FileSystem* fs, const std::string& root,
                               std::optional<IndexGeometry> index_geometry) {
  StoreInfo info;
  info.root = root;
  TH_ASSIGN_OR_RETURN(
      auto log, CommitLogReader::Open(fs, io::JoinPath(root, "commitlog")));
  info.segment_size = log->segment_size();
  info.segments = log->segments();
  info.min_phys_offset = log->min_offset();
  info.max_phys_offset = log->min_offset();
  // The first record is at the first segment's start unless retention left a
  // partial first segment, which RocketMQ never does (segments go whole); the
  // tail is found from the last segment with data.
  if (!info.segments.empty()) {
    RecordCheck first = log->ReadRecord(log->min_offset(), false);
    if (first.status == RecordStatus::kOk)
      info.first_record_offset = log->min_offset();
    // Walk back to the last segment that does not start with zero bytes, then
    // walk it.
    size_t last = info.segments.size();
    while (last > 0) {
      auto bytes = log->From(info.segments[last - 1].base_offset);
      RecordCheck c = CheckRecord(bytes, false);
      if (c.status == RecordStatus::kOk || c.status == RecordStatus::kBlank)
        break;
      --last;
    }
    if (last > 0) {
      auto end = log->Walk(info.segments[last - 1].base_offset, false,
                           [&](const DecodedRecord&, int64_t phys, int32_t) {
                             info.last_record_offset = phys;
                             return true;
                           });
      info.max_phys_offset = end.end_offset;
    }
  }

  TH_ASSIGN_OR_RETURN(auto queues, ListQueues(fs, root));
  for (const auto& q : queues) {
    TH_ASSIGN_OR_RETURN(auto reader, ConsumeQueueReader::Open(fs, root, q));
    QueueInfo qi;
    qi.queue = q;
    qi.files = static_cast<int>(reader->files().size());
    qi.file_size = reader->file_size();
    if (!reader->files().empty()) {
      qi.min_offset = reader->files().front().base_offset /
                      static_cast<int64_t>(cq_format::kEntrySize);
      qi.max_offset = qi.min_offset;
    }
    bool seen_real = false;
    reader->Walk(0,
                 [&](int64_t qo, const cq_format::Entry& e, size_t, int64_t) {
                   qi.max_offset = qo + 1;
                   if (cq_format::IsPreBlank(e)) {
                     if (!seen_real) qi.min_offset = qo + 1;
                     return true;
                   }
                   if (!seen_real) {
                     seen_real = true;
                     qi.min_offset = qo;
                     qi.min_phys_offset = e.phys_offset;
                   }
                   qi.max_phys_offset = e.phys_offset;
                   return true;
                 });
    info.queues.push_back(std::move(qi));
  }

  TH_ASSIGN_OR_RETURN(auto index_files, ListIndexFiles(fs, root));
  for (const auto& name : index_files) {
    std::string path = io::JoinPath(io::JoinPath(root, "index"), name);
    TH_ASSIGN_OR_RETURN(auto reader,
                        IndexFileReader::Open(fs, path, index_geometry));
    info.index_files.push_back(IndexFileInfo{
        name, reader->file_size(), reader->geometry(), reader->header()});
  }

  std::string cp_path = io::JoinPath(root, "checkpoint");
  if (fs->Exists(cp_path)) {
    TH_ASSIGN_OR_RETURN(std::string bytes, fs->ReadFile(cp_path));
    auto cp = DecodeCheckpoint(AsBytes(bytes));
    if (!cp.ok())
      return Status::Corruption(cp_path + ": " + cp.status().ToString());
    info.has_checkpoint = true;
    info.checkpoint = *cp;
  }
  info.has_abort = fs->Exists(io::JoinPath(root, "abort"));
  info.has_lock = fs->Exists(io::JoinPath(root, "lock"));
  return info;
}

}  // namespace thruster::store
