#pragma once

#include "store/commit_log.h"

namespace thruster::store {

// The record is in the log, even if not (yet) durable or replicated as asked:
// PUT_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE. A
// writer that retries on failure must not retry these (the record would be
// doubled).
inline bool IsStored(const PutResult& r) {
  return r.status == PutStatus::kPutOk ||
         r.status == PutStatus::kFlushDiskTimeout ||
         r.status == PutStatus::kFlushSlaveTimeout ||
         r.status == PutStatus::kSlaveNotAvailable;
}

}  // namespace thruster::store
