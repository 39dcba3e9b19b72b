#include "store/allocate_service.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/logging.h"

namespace thruster::store {

AllocateService::AllocateService(io::FileSystem* fs, TransientStorePool* pool,
                                 AllocateOptions options, const Clock* clock)
    : ServiceThread("allocate"),
      fs_(fs),
      pool_(pool),
      options_(options),
      clock_(clock) {}

AllocateService::~AllocateService() { Shutdown(); }

Result<std::shared_ptr<MappedFile>> AllocateService::Build(
    const std::string& path, int64_t file_size) {
  TH_ASSIGN_OR_RETURN(auto file,
                      MappedFile::Create(fs_, path, file_size, pool_));
  if (options_.random_access) file->Advise(io::Advice::kRandom);
  // A pooled segment is written through its buffer, so its pages need no
  // pre-faulting; under SYNC_FLUSH its blocks still need writing out ahead.
  if ((!file->has_pool_buffer() || options_.sync_flush) &&
      (options_.warm_mapped_file || options_.pre_touch)) {
    if (options_.sync_flush || options_.warm_mapped_file) {
      file->Warm(options_.sync_flush, options_.warm_mapped_file);
    } else {
      // The rest follows the writer (RequestPreTouch): a whole segment of dirty
      // zero pages would be written back by the kernel ahead of the data and
      // throttle the writer.
      PreTouch(*file, kInitialTouch);
      file->RaiseTouchRequest(kInitialTouch);
    }
  }
  return file;
}

Result<std::shared_ptr<MappedFile>>
AllocateService::PutRequestAndReturnMappedFile(
    const std::string& next_path, const std::string& next_next_path,
    int64_t file_size) {
  if (!started() || stopped()) return Build(next_path, file_size);
  std::shared_ptr<Request> req;
  {
    MutexLock lock(&mu_);
    for (const std::string* p : {&next_path, &next_next_path}) {
      auto it = requests_.find(*p);
      if (it != requests_.end() && it->second->done &&
          !it->second->error.ok()) {
        requests_.erase(it);  // an earlier attempt failed: try again
        it = requests_.end();
      }
      if (it == requests_.end()) {
        auto r = std::make_shared<Request>();
        r->file_size = file_size;
        requests_.emplace(*p, std::move(r));
      }
    }
    req = requests_[next_path];
  }
  Wakeup();
  MutexLock lock(&mu_);
  const int64_t deadline =
      clock_->MonotonicNs() + int64_t{options_.wait_timeout_ms} * 1000000;
  while (!req->done && !stopped()) {
    int64_t left = deadline - clock_->MonotonicNs();
    if (left <= 0) break;
    cv_.WaitFor(&mu_, std::chrono::nanoseconds(std::min(left, kWaitSliceNs)));
  }
  if (!req->done) {
    TH_LOG(store, kWarn, "allocate: {} not ready after {} ms", next_path,
           options_.wait_timeout_ms);
    return Status::Timeout("segment " + next_path +
                           " was not allocated in time");
  }
  requests_.erase(next_path);
  if (!req->error.ok()) return req->error;
  return req->file;
}

bool AllocateService::Idle() const {
  bool idle = touch_ == nullptr && !touching_;
  for (const auto& [p, r] : requests_) idle = idle && r->done;
  return idle;
}

bool AllocateService::WaitUntilIdle(int64_t timeout_ms) {
  const int64_t deadline = clock_->MonotonicNs() + timeout_ms * 1000000;
  MutexLock lock(&mu_);
  while (!Idle()) {
    int64_t left = deadline - clock_->MonotonicNs();
    if (left <= 0) return false;
    cv_.WaitFor(&mu_, std::chrono::nanoseconds(std::min(left, kWaitSliceNs)));
  }
  return true;
}

void AllocateService::Run() {
  // Warming a segment is background work: let appenders win the CPU on a small
  // machine.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  // And let the group commit's small syncs overtake its large zero writes (idle
  // I/O class).
  constexpr int kIoprioWhoProcess = 1, kIoprioClassIdle = 3,
                kIoprioClassShift = 13;
  ::syscall(SYS_ioprio_set, kIoprioWhoProcess, ::gettid(),
            kIoprioClassIdle << kIoprioClassShift);
  while (!stopped()) {
    std::string path;
    std::shared_ptr<Request> req;
    std::shared_ptr<MappedFile> touch;
    {
      MutexLock lock(&mu_);
      touch.swap(touch_);
      touching_ = touch != nullptr;
    }
    if (touch) {
      // The writer is getting close to the touched end: keep ahead of it.
      PreTouch(*touch, touch->touch_requested_end());
      {
        MutexLock lock(&mu_);
        touching_ = false;
      }
      cv_.SignalAll();  // WaitUntilIdle
      continue;
    }
    std::vector<std::shared_ptr<MappedFile>> cold;
    {
      MutexLock lock(&mu_);
      int64_t now = clock_->MonotonicNs() / 1000000;
      for (auto it = munlocks_.begin(); it != munlocks_.end();) {
        if (it->first <= now) {
          cold.push_back(std::move(it->second));
          it = munlocks_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& f : cold) f->Munlock();
    {
      MutexLock lock(&mu_);
      for (auto& [p, r] : requests_) {
        if (!r->done) {
          path = p;
          req = r;
          break;
        }
      }
    }
    if (!req) {
      WaitForRunning(100);
      continue;
    }
    const int64_t t0 = clock_->MonotonicNs();
    auto built = Build(path, req->file_size);
    {
      MutexLock lock(&mu_);
      if (built.ok()) {
        req->file = std::move(built).value();
        req->error = Status::OK();
      } else {
        req->error = built.status();
        TH_LOG(store, kError, "allocate: creating {} failed: {}", path,
               built.status().ToString());
      }
      req->done = true;
    }
    cv_.SignalAll();
    TH_LOG(store, kDebug, "allocate: {} ready in {} ms", path,
           (clock_->MonotonicNs() - t0) / 1000000);
  }
}

void AllocateService::PreTouch(MappedFile& file, int32_t end) {
  end = std::min(end, file.file_size());
  for (int32_t at = file.touched_end(); at < end;) {
    const int32_t step = std::min(end - at, kTouchStep);
    if (frame_source_) frame_source_(step);
    file.PreTouch(at + step);
    at += step;
  }
}

void AllocateService::RequestPreTouch(std::shared_ptr<MappedFile> file) {
  {
    MutexLock lock(&mu_);
    touch_ = std::move(file);
  }
  Wakeup();
}

void AllocateService::ScheduleMunlock(std::shared_ptr<MappedFile> file,
                                      int64_t at_ms) {
  MutexLock lock(&mu_);
  munlocks_.emplace_back(at_ms, std::move(file));
}

void AllocateService::OnStop() { cv_.SignalAll(); }

void AllocateService::Shutdown() {
  Stop();
  MutexLock lock(&mu_);
  for (auto& [p, r] : requests_) {
    if (r->file)
      r->file->Destroy().IgnoreError();  // a pre-built segment nobody holds;
                                         // gone at next start
  }
  requests_.clear();
}

}  // namespace thruster::store
