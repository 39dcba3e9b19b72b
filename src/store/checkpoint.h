#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "common/result.h"
#include "store/checkpoint_format.h"
#include "store/io/file_system.h"

// The `checkpoint` file (store spec §6.1): a mapped 4096-byte file holding the
// timestamps recovery starts from. The in-memory values move constantly;
// Flush() writes all five and syncs. Absent file → all zero. Lifecycle: Open →
// setters/Flush → destroy. Thread-safe.
namespace thruster::store {

class Checkpoint {
 public:
  // Creates the file when missing. Corruption when it exists but is shorter
  // than 40 bytes.
  static Result<std::unique_ptr<Checkpoint>> Open(io::FileSystem* fs,
                                                  const std::string& path);

  CheckpointData Get() const;
  void set_physic_msg_timestamp(int64_t v) {
    physic_.store(v, std::memory_order_relaxed);
  }
  void set_logics_msg_timestamp(int64_t v) {
    logics_.store(v, std::memory_order_relaxed);
  }
  void set_index_msg_timestamp(int64_t v) {
    index_.store(v, std::memory_order_relaxed);
  }
  void set_confirm_phy_offset(int64_t v) {
    confirm_.store(v, std::memory_order_relaxed);
  }
  int64_t physic_msg_timestamp() const {
    return physic_.load(std::memory_order_relaxed);
  }
  int64_t logics_msg_timestamp() const {
    return logics_.load(std::memory_order_relaxed);
  }
  int64_t index_msg_timestamp() const {
    return index_.load(std::memory_order_relaxed);
  }

  // Writes every field into the mapping and syncs it.
  Status Flush();

 private:
  explicit Checkpoint(std::unique_ptr<io::MappedRegion> region)
      : region_(std::move(region)) {}

  Mutex flush_mu_;
  std::unique_ptr<io::MappedRegion> region_ TH_PT_GUARDED_BY(flush_mu_);
  std::atomic<int64_t> physic_{0};
  std::atomic<int64_t> logics_{0};
  std::atomic<int64_t> index_{0};
  std::atomic<int64_t> master_flushed_{0};
  std::atomic<int64_t> confirm_{0};
};

}  // namespace thruster::store
