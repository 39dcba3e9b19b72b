#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "store/io/file_system.h"
#include "store/mapped_file.h"

// The `allocate` thread (store spec §7.4): creates the next and next-next
// CommitLog segments before they are needed, and warms them, so a roll finds
// its file ready and its pages faulted in. Lifecycle: construct → Start() →
// PutRequestAndReturnMappedFile()... → Shutdown(). Thread-safe: appenders
// (under the CommitLog's put lock) register requests and wait for them; the
// thread builds them. State: the requests, the pending pre-touch and munlocks,
// all under mu_. Timeouts and munlock times are read on `clock`.
namespace thruster::store {

class TransientStorePool;

struct AllocateOptions {
  bool warm_mapped_file =
      false;  // warmMapedFileEnable: touch, mlock, MADV_WILLNEED
  bool pre_touch =
      true;  // Thruster: touch every page (no mlock) even without warm-up
  bool sync_flush = false;  // SYNC_FLUSH: write the zeros out so later syncs
                            // write no metadata
  bool random_access =
      false;  // !dataReadAheadEnable: MADV_RANDOM on every new segment
  int wait_timeout_ms = 5000;
};

class AllocateService : public ServiceThread {
 public:
  // `fs`, `pool` (may be null) and `clock` must outlive the service.
  AllocateService(io::FileSystem* fs, TransientStorePool* pool,
                  AllocateOptions options,
                  const Clock* clock = SystemClock::Default());
  ~AllocateService() override;

  // Registers requests for `next_path` and `next_next_path` (each once), waits
  // up to 5 s for `next_path` and returns it. Without a running thread the
  // segment is created inline. IOError/Timeout when the segment could not be
  // made.
  Result<std::shared_ptr<MappedFile>> PutRequestAndReturnMappedFile(
      const std::string& next_path, const std::string& next_next_path,
      int64_t file_size);
  // Asks the thread to pre-touch `file` up to its touch_requested_end() (async
  // flush: pages are faulted in a few steps ahead of the writer rather than a
  // whole segment at once). Cheap; never blocks on I/O.
  void RequestPreTouch(std::shared_ptr<MappedFile> file);
  // munlocks `file` once `at_ms` (the clock's monotonic ms) has passed: a
  // warmed segment that filled up goes cold 6 s after the roll (spec §3 step 9,
  // §7.5).
  void ScheduleMunlock(std::shared_ptr<MappedFile> file, int64_t at_ms);
  // Waits up to `timeout_ms` until every registered segment is built and no
  // pre-touch is pending (benchmarks start timing from there); false on
  // timeout.
  bool WaitUntilIdle(int64_t timeout_ms);
  // Stops the thread and destroys pre-built segments never handed out.
  void Shutdown();

  // Called with a byte count before each kTouchStep of pre-touching: frees
  // about that many clean page-cache pages (the CommitLog's deferred drops),
  // so the pages faulted in next reuse frames freed a moment ago. Set before
  // Start(); must stay callable until Shutdown().
  using FrameSource = std::function<void(int64_t bytes)>;
  void SetFrameSource(FrameSource source) { frame_source_ = std::move(source); }

  // How far ahead of the writer pages are faulted in, and how much of a new
  // segment is touched up front.
  static constexpr int32_t kTouchAhead = 256 << 20;
  static constexpr int32_t kInitialTouch = 512 << 20;
  // Pre-touching goes in steps of this many bytes, each after the frame
  // source freed as many.
  static constexpr int32_t kTouchStep = 16 << 20;

 protected:
  void Run() override;
  void OnStop() override;

 private:
  // Every field but file_size is guarded by the service's mu_.
  struct Request {
    int64_t file_size = 0;
    std::shared_ptr<MappedFile> file;
    Status error;
    bool done = false;
  };
  // A waiter re-reads the clock at least this often, so a timeout on a manual
  // clock is seen once the clock moved past it.
  static constexpr int64_t kWaitSliceNs = 10 * 1000000;
  bool Idle() const TH_REQUIRES(mu_);
  Result<std::shared_ptr<MappedFile>> Build(const std::string& path,
                                            int64_t file_size);
  // Pre-touches `file` up to `end` in kTouchStep steps, each fed by the frame
  // source.
  void PreTouch(MappedFile& file, int32_t end);

  io::FileSystem* fs_;
  TransientStorePool* pool_;
  AllocateOptions options_;
  const Clock* clock_;
  Mutex mu_;
  CondVar cv_;  // a request was built, the service stopped, or it went idle
  // Keyed by path: 20-digit names sort by offset, so begin() is the most urgent
  // pending request.
  std::map<std::string, std::shared_ptr<Request>> requests_ TH_GUARDED_BY(mu_);
  // The segment to pre-touch next.
  std::shared_ptr<MappedFile> touch_ TH_GUARDED_BY(mu_);
  bool touching_ TH_GUARDED_BY(mu_) = false;  // a pre-touch is running
  std::vector<std::pair<int64_t, std::shared_ptr<MappedFile>>> munlocks_
      TH_GUARDED_BY(mu_);
  FrameSource frame_source_;  // set before Start(), then read-only
};

}  // namespace thruster::store
