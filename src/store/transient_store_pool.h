#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

// Off-heap write buffers for CommitLog segments (store spec §7.3,
// `transientStorePoolEnable`): page-aligned, mlocked buffers of one segment's
// size. A new segment borrows one; producers write into it, the `commit` thread
// copies the bytes into the file, and the buffer comes back once the segment is
// fully committed. Async flush with the pool is weaker than without:
// acknowledged bytes not yet committed (~200 ms) live only in process memory
// and die with the process (spec §8.5, §16 item 14). Lifecycle: construct →
// Init() → Borrow/Return → Destroy() (or destructor). Thread-safe.
namespace thruster::store {

class TransientStorePool {
 public:
  TransientStorePool(int pool_size, int64_t buffer_size);
  ~TransientStorePool();
  TransientStorePool(const TransientStorePool&) = delete;
  TransientStorePool& operator=(const TransientStorePool&) = delete;

  // Allocates and mlocks every buffer. mlock failures (RLIMIT_MEMLOCK) are
  // logged, not fatal.
  Status Init();
  void Destroy();
  // A free buffer, or nullptr when none is left (the segment then writes
  // straight into its mapping).
  std::byte* Borrow();
  void Return(std::byte* buffer);
  int available() const;
  int64_t buffer_size() const { return buffer_size_; }

 private:
  int pool_size_;
  int64_t buffer_size_;
  mutable Mutex mu_;
  std::vector<std::byte*> all_ TH_GUARDED_BY(mu_);
  std::deque<std::byte*> free_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::store
