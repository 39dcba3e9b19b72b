#include "store/cleaner.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <string>
#include <string_view>

#include "common/logging.h"

namespace thruster::store {

namespace {

bool IsTimeToDelete(std::string_view delete_when, int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm local{};
  localtime_r(&t, &local);
  size_t pos = 0;
  while (pos <= delete_when.size()) {
    size_t semi = delete_when.find(';', pos);
    std::string_view h = delete_when.substr(pos, semi == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : semi - pos);
    if (!h.empty() &&
        std::all_of(h.begin(), h.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        std::stoi(std::string(h)) == local.tm_hour) {
      return true;
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return false;
}

// ceil(100 × used / (used + available)) / 100, spec §11.2; -1 when it cannot be
// measured.
double DiskRatio(io::FileSystem* fs, const std::string& path) {
  auto u = fs->GetDiskUsage(path);
  if (!u.ok() || u->total_bytes == 0) return -1;
  double used = static_cast<double>(u->total_bytes - u->free_bytes);
  double denom = used + static_cast<double>(u->avail_bytes);
  if (denom <= 0) return -1;
  return std::ceil(100.0 * used / denom) / 100.0;
}

}  // namespace

void Cleaner::Run() {
  // RocketMQ waits 60 s before the first pass; a cleaner that starts at once
  // would race recovery's own bookkeeping for no gain.
  int64_t waited = 0;
  while (!stopped() && waited < 60000) {
    WaitForRunning(1000);
    waited += 1000;
  }
  while (!stopped()) {
    CleanOnce();
    WaitForRunning(config_.clean_resource_interval);
  }
}

void Cleaner::CleanOnce() {
  if (CleanCommitLog()) CleanConsumeQueue(log_->GetMinOffset());
}

bool Cleaner::CleanCommitLog() {
  const auto& c = config_;
  int64_t now = clock_->NowMs();
  double warning = std::clamp(c.disk_space_warning_level_ratio, 35, 90) / 100.0;
  double forcibly =
      std::clamp(c.disk_space_clean_forcibly_ratio, 30, 85) / 100.0;
  double max_used = std::clamp(c.disk_max_used_space_ratio, 10, 95) / 100.0;
  double cl_ratio = DiskRatio(fs_, c.CommitLogDir());
  double cq_ratio = DiskRatio(fs_, c.ConsumeQueueDir());
  bool clean_immediately = false;
  if (cl_ratio > warning || cq_ratio > warning) {
    if (!disk_full_.exchange(true)) {
      TH_LOG(store, kError,
             "disk usage {:.2f} above {:.2f}: the store refuses writes",
             std::max(cl_ratio, cq_ratio), warning);
    }
    clean_immediately = true;
  } else {
    if (disk_full_.exchange(false))
      TH_LOG(store, kInfo, "disk usage back below {:.2f}: writes accepted",
             warning);
  }
  if (cl_ratio > forcibly || cq_ratio > forcibly) clean_immediately = true;
  bool space = clean_immediately || cl_ratio > max_used ||
               cq_ratio > max_used || cl_ratio < 0;
  bool time_up = IsTimeToDelete(c.delete_when, now);
  if (!time_up && !space) return false;
  bool at_once = c.clean_file_forcibly_enable && clean_immediately;
  int64_t age = int64_t{c.file_reserved_time} * 3600 * 1000;
  // Only segments wholly below what is dispatched with durable queue entries.
  int64_t durable_end = std::numeric_limits<int64_t>::max();
  if (flush_cq_ != nullptr) {
    Result<int64_t> d = flush_cq_->FlushDispatched();
    if (!d.ok()) {
      TH_LOG(store, kError,
             "retention: consume queues not flushed, no CommitLog segment "
             "deleted: {}",
             d.status().ToString());
      return false;
    }
    durable_end = *d;
  }
  int64_t min_before = log_->GetMinOffset();
  auto deleted = log_->queue().DeleteExpired(
      [&](const MappedFile& f) {
        if (f.base_offset() + f.file_size() > durable_end) return false;
        if (at_once) return true;
        auto mtime = f.LastModifiedMs();
        return mtime.ok() && now >= *mtime + age;
      },
      c.delete_file_batch_max);
  if (!deleted.ok()) {
    TH_LOG(store, kError, "retention: deleting CommitLog segments failed: {}",
           deleted.status().ToString());
    return false;
  }
  int64_t min_after = log_->GetMinOffset();
  if (*deleted > 0) {
    TH_LOG(store, kInfo,
           "retention: deleted {} CommitLog segments, min offset {} -> {}",
           *deleted, min_before, min_after);
  }
  return min_after > min_before || *deleted != 0;
}

void Cleaner::CleanConsumeQueue(int64_t min_phys_offset) {
  for (const auto& cq : queues_->All()) {
    auto r = cq->DeleteExpiredFile(PhysOffset{min_phys_offset});
    if (!r.ok())
      TH_LOG(store, kError, "retention: {}: {}", cq->dir(),
             r.status().ToString());
  }
  auto r = index_->DeleteExpiredFile(min_phys_offset);
  if (!r.ok())
    TH_LOG(store, kError, "retention: index: {}", r.status().ToString());
}

}  // namespace thruster::store
