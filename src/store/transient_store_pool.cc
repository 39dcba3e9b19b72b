#include "store/transient_store_pool.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/logging.h"

namespace thruster::store {

TransientStorePool::TransientStorePool(int pool_size, int64_t buffer_size)
    : pool_size_(pool_size), buffer_size_(buffer_size) {}

TransientStorePool::~TransientStorePool() { Destroy(); }

Status TransientStorePool::Init() {
  MutexLock lock(&mu_);
  for (int i = 0; i < pool_size_; ++i) {
    void* p = std::aligned_alloc(4096, static_cast<size_t>(buffer_size_));
    if (p == nullptr)
      return Status::ResourceExhausted("transient store pool: out of memory");
    if (::mlock(p, static_cast<size_t>(buffer_size_)) != 0) {
      TH_LOG(store, kWarn, "transient store pool: mlock of {} bytes failed: {}",
             buffer_size_, std::strerror(errno));
    }
    all_.push_back(static_cast<std::byte*>(p));
    free_.push_back(static_cast<std::byte*>(p));
  }
  TH_LOG(store, kInfo, "transient store pool: {} buffers of {} bytes",
         pool_size_, buffer_size_);
  return Status::OK();
}

void TransientStorePool::Destroy() {
  MutexLock lock(&mu_);
  for (std::byte* p : all_) {
    ::munlock(p, static_cast<size_t>(buffer_size_));
    std::free(p);
  }
  all_.clear();
  free_.clear();
}

std::byte* TransientStorePool::Borrow() {
  MutexLock lock(&mu_);
  if (free_.empty()) return nullptr;
  std::byte* p = free_.front();
  free_.pop_front();
  if (static_cast<double>(free_.size()) <
      0.4 * static_cast<double>(pool_size_)) {
    TH_LOG(store, kWarn, "transient store pool: only {} of {} buffers left",
           free_.size(), pool_size_);
  }
  return p;
}

void TransientStorePool::Return(std::byte* buffer) {
  MutexLock lock(&mu_);
  free_.push_front(buffer);
}

int TransientStorePool::available() const {
  MutexLock lock(&mu_);
  return static_cast<int>(free_.size());
}

}  // namespace thruster::store
