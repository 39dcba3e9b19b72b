#include "store/index_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "common/logging.h"
#include "common/strings.h"
#include "message/message.h"
#include "message/properties.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
namespace prop = message::prop;
using message::FindProperty;

namespace {

// The decimal number one above `name` (all digits), same width unless it
// overflows. Used when the clock gives a name that does not sort after the
// newest file (two rolls in one millisecond, a clock step back): the name is
// informational (spec §1), but name order must stay creation order.
std::string NextName(std::string name) {
  for (size_t i = name.size(); i-- > 0;) {
    if (name[i] != '9') {
      ++name[i];
      return name;
    }
    name[i] = '0';
  }
  return "1" + name;
}

// Calls `fn(token)` for every non-empty token of `keys` split on single spaces.
template <typename Fn>
void ForEachKey(std::string_view keys, Fn&& fn) {
  while (!keys.empty()) {
    size_t sp = keys.find(' ');
    std::string_view token = keys.substr(0, sp);
    if (!token.empty()) fn(token);
    if (sp == std::string_view::npos) break;
    keys.remove_prefix(sp + 1);
  }
}

}  // namespace

IndexRecord IndexRecord::FromProperties(std::string_view topic,
                                        std::string_view properties,
                                        int64_t phys_offset,
                                        int64_t store_timestamp,
                                        int32_t sys_flag) {
  return IndexRecord{topic,
                     FindProperty(properties, prop::kKeys),
                     FindProperty(properties, prop::kUniqKey),
                     phys_offset,
                     store_timestamp,
                     sys_flag};
}

bool MessageHasKey(std::string_view properties, std::string_view key) {
  if (auto uniq = FindProperty(properties, prop::kUniqKey);
      uniq && *uniq == key)
    return true;
  bool found = false;
  if (auto keys = FindProperty(properties, prop::kKeys)) {
    ForEachKey(*keys,
               [&](std::string_view token) { found = found || token == key; });
  }
  return found;
}

IndexService::IndexService(io::FileSystem* fs, std::string index_dir,
                           const Clock* clock, IndexServiceOptions options)
    : fs_(fs), dir_(std::move(index_dir)), clock_(clock), options_(options) {}

std::string IndexService::FormatFileName(int64_t now_ms) {
  auto secs = static_cast<std::time_t>(now_ms / 1000);
  auto millis = static_cast<int>(now_ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:04d}{:02d}{:02d}{:02d}{:02d}{:02d}{:03d}",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, millis);
}

std::vector<std::shared_ptr<IndexFile>> IndexService::Snapshot() const {
  MutexLock lock(&mu_);
  return files_;
}

void IndexService::AdvanceIndexMsgTimestamp(int64_t ts) {
  int64_t cur = index_msg_timestamp_.load(std::memory_order_acquire);
  while (ts > cur && !index_msg_timestamp_.compare_exchange_weak(
                         cur, ts, std::memory_order_acq_rel)) {
  }
}

Status IndexService::Load(bool last_exit_ok,
                          int64_t checkpoint_index_msg_timestamp) {
  if (options_.max_hash_slot_num <= 0 || options_.max_index_num <= 1 ||
      options_.max_msgs_num_batch <= 0) {
    return Status::InvalidArgument(
        fmt::format("index options: {} slots, {} entries, batch {}",
                    options_.max_hash_slot_num, options_.max_index_num,
                    options_.max_msgs_num_batch));
  }
  TH_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  TH_ASSIGN_OR_RETURN(auto entries, fs_->ListDir(dir_));
  std::vector<io::DirEntry> names;
  for (auto& e : entries) {
    if (e.is_dir) continue;
    if (!AllDigits(e.name)) {
      TH_LOG(store, kWarn, "index: skipping {} (not a number)",
             io::JoinPath(dir_, e.name));
      continue;
    }
    names.push_back(std::move(e));
  }
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::shared_ptr<IndexFile>> loaded;
  int destroyed = 0;
  for (const auto& e : names) {
    std::string path = io::JoinPath(dir_, e.name);
    if (e.size == 0) {
      TH_LOG(store, kWarn, "index: deleting empty file {}", path);
      TH_RETURN_IF_ERROR(fs_->Remove(path));
      ++destroyed;
      continue;
    }
    TH_ASSIGN_OR_RETURN(auto f,
                        IndexFile::Open(fs_, path, options_.max_hash_slot_num,
                                        options_.max_index_num));
    if (f->index_count() <= 1 && f->end_timestamp() <= 0) {
      TH_LOG(store, kInfo, "index: deleting {}: it holds nothing", path);
      TH_RETURN_IF_ERROR(f->Destroy());
      ++destroyed;
      continue;
    }
    if (!last_exit_ok && f->end_timestamp() > checkpoint_index_msg_timestamp) {
      TH_LOG(store, kInfo,
             "index: destroying {} after an abnormal stop: end timestamp {} > "
             "checkpoint {}; its records from {} on are indexed again",
             path, f->end_timestamp(), checkpoint_index_msg_timestamp,
             f->begin_timestamp());
      if (f->begin_timestamp() > 0)
        rebuild_from_timestamp_ =
            std::min(rebuild_from_timestamp_, f->begin_timestamp());
      TH_RETURN_IF_ERROR(f->Destroy());
      ++destroyed;
      continue;
    }
    loaded.push_back(std::move(f));
  }
  if (destroyed > 0) TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  int64_t durable_ts = checkpoint_index_msg_timestamp;
  // After a clean stop every file was flushed at shutdown.
  if (last_exit_ok && !loaded.empty())
    durable_ts = std::max(durable_ts, loaded.back()->end_timestamp());
  index_msg_timestamp_.store(durable_ts, std::memory_order_release);
  TH_LOG(store, kInfo, "index: loaded {} files from {} ({} removed)",
         loaded.size(), dir_, destroyed);
  MutexLock lock(&mu_);
  files_ = std::move(loaded);
  return Status::OK();
}

Result<std::shared_ptr<IndexFile>> IndexService::GetOrCreateLastFile() {
  std::shared_ptr<IndexFile> last;
  {
    MutexLock lock(&mu_);
    if (!files_.empty()) last = files_.back();
  }
  if (last != nullptr && !last->IsFull()) return last;
  return CreateNextFile(last);
}

Result<std::shared_ptr<IndexFile>> IndexService::CreateNextFile(
    const std::shared_ptr<IndexFile>& last) {
  const int64_t prev_end_phys = last ? last->end_phys_offset() : 0;
  const int64_t prev_end_ts = last ? last->end_timestamp() : 0;
  std::string name = FormatFileName(clock_->NowMs());
  if (last != nullptr && name <= last->file_name())
    name = NextName(last->file_name());
  while (fs_->Exists(io::JoinPath(dir_, name))) name = NextName(name);
  std::string path = io::JoinPath(dir_, name);
  TH_ASSIGN_OR_RETURN(
      auto f,
      IndexFile::Create(fs_, path, options_.max_hash_slot_num,
                        options_.max_index_num, prev_end_phys, prev_end_ts));
  TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  {
    MutexLock lock(&mu_);
    files_.push_back(f);
  }
  TH_LOG(store, kInfo,
         "index: new file {} (previous ends at phys offset {}, time {})", path,
         prev_end_phys, prev_end_ts);
  return f;
}

Status IndexService::PutKey(std::shared_ptr<IndexFile>* file, int32_t key_hash,
                            const IndexRecord& record) {
  if ((*file)->PutKeyHash(key_hash, record.phys_offset, record.store_timestamp))
    return Status::OK();
  TH_ASSIGN_OR_RETURN(*file, GetOrCreateLastFile());
  if ((*file)->PutKeyHash(key_hash, record.phys_offset, record.store_timestamp))
    return Status::OK();
  return Status::ResourceExhausted(
      fmt::format("index file {} full right after creation", (*file)->path()));
}

Status IndexService::BuildIndex(const IndexRecord& record) {
  if (sysflag::TransactionType(record.sys_flag) ==
      sysflag::kTransactionRollbackType)
    return Status::OK();
  // The hashes of "topic#key" for UNIQ_KEY, then each KEYS token, the topic
  // hashed once.
  std::vector<int32_t>& hashes = key_hashes_;
  hashes.clear();
  const bool has_uniq = record.uniq_key && !record.uniq_key->empty();
  if (!has_uniq && !record.keys) return Status::OK();
  const int32_t topic_hash = message::JHash(record.topic);
  if (has_uniq)
    hashes.push_back(index_format::IndexHashOf(topic_hash, *record.uniq_key));
  if (record.keys) {
    ForEachKey(*record.keys, [&](std::string_view key) {
      hashes.push_back(index_format::IndexHashOf(topic_hash, key));
    });
  }
  if (hashes.empty()) return Status::OK();
  // Usually the newest file takes them all, checks included, in one step.
  std::shared_ptr<IndexFile> last;
  {
    MutexLock lock(&mu_);
    if (!files_.empty()) last = files_.back();
  }
  if (last != nullptr &&
      last->PutKeys(hashes, record.phys_offset, record.store_timestamp) !=
          IndexFile::PutKeysOutcome::kNoRoom)
    return Status::OK();
  // No file yet, or the newest cannot take them all: roll.
  TH_ASSIGN_OR_RETURN(auto file, GetOrCreateLastFile());
  const index_format::Header h = file->header();
  if (index_format::AlreadyIndexed(h, record.phys_offset)) return Status::OK();
  const auto needed = static_cast<int64_t>(hashes.size());
  if (needed > file->free_entries() && h.index_count > 1 &&
      needed < options_.max_index_num) {
    TH_ASSIGN_OR_RETURN(file, CreateNextFile(file));
  }
  for (int32_t key_hash : hashes)
    TH_RETURN_IF_ERROR(PutKey(&file, key_hash, record));
  return Status::OK();
}

Status IndexService::TruncateFrom(int64_t phys) {
  for (const std::shared_ptr<IndexFile>& f : Snapshot()) {
    if (f->TruncateFrom(phys)) {
      Result<index_format::Header> h = f->Flush();
      if (!h.ok()) return h.status();
    }
  }
  return Status::OK();
}

QueryOffsetResult IndexService::QueryOffsets(std::string_view topic,
                                             std::string_view key, int max_num,
                                             int64_t begin, int64_t end) const {
  QueryOffsetResult result;
  auto files = Snapshot();
  if (files.empty()) return result;
  result.index_last_update_timestamp = files.back()->end_timestamp();
  result.index_last_update_phys_offset = files.back()->end_phys_offset();
  if (max_num <= 0) return result;
  const auto limit =
      static_cast<size_t>(std::min(max_num, options_.max_msgs_num_batch));
  const int32_t hash =
      index_format::IndexHash(index_format::BuildKey(topic, key));
  for (size_t i = files.size(); i-- > 0;) {
    const IndexFile& f = *files[i];
    if (f.IsTimeMatched(begin, end))
      f.SelectPhyOffsets(hash, limit, begin, end, &result.phys_offsets);
    if (f.begin_timestamp() < begin || result.phys_offsets.size() >= limit)
      break;
  }
  return result;
}

Result<int> IndexService::DeleteExpiredFile(int64_t commit_log_min_offset) {
  std::vector<std::shared_ptr<IndexFile>> gone;
  {
    MutexLock lock(&mu_);
    size_t n = 0;
    while (n + 1 < files_.size() &&
           files_[n]->end_phys_offset() < commit_log_min_offset)
      ++n;
    gone.assign(files_.begin(),
                files_.begin() + static_cast<std::ptrdiff_t>(n));
    files_.erase(files_.begin(),
                 files_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  for (const auto& f : gone) {
    TH_LOG(store, kInfo,
           "index: deleting {} (end phys offset {} < commit log min offset {})",
           f->path(), f->end_phys_offset(), commit_log_min_offset);
    TH_RETURN_IF_ERROR(f->Destroy());
  }
  if (!gone.empty()) TH_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  return static_cast<int>(gone.size());
}

Status IndexService::FlushRolledFiles() {
  auto files = Snapshot();
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    if (!files[i]->dirty()) continue;
    TH_ASSIGN_OR_RETURN(index_format::Header h, files[i]->Flush());
    AdvanceIndexMsgTimestamp(h.end_timestamp);
    TH_LOG(store, kInfo, "index: flushed rolled file {} (end timestamp {})",
           files[i]->path(), h.end_timestamp);
  }
  return Status::OK();
}

Status IndexService::Flush() {
  auto files = Snapshot();
  for (size_t i = 0; i < files.size(); ++i) {
    const bool newest = i + 1 == files.size();
    if (!newest && !files[i]->dirty()) continue;
    TH_ASSIGN_OR_RETURN(index_format::Header h, files[i]->Flush());
    AdvanceIndexMsgTimestamp(h.end_timestamp);
  }
  return Status::OK();
}

Status IndexService::DestroyAll() {
  std::vector<std::shared_ptr<IndexFile>> gone;
  {
    MutexLock lock(&mu_);
    gone.swap(files_);
  }
  for (const auto& f : gone) TH_RETURN_IF_ERROR(f->Destroy());
  return fs_->SyncDir(dir_);
}

}  // namespace thruster::store
