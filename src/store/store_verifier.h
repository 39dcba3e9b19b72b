#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "store/io/file_system.h"

// Offline verification of a CommitLog directory (`thruster store verify`): every record of every segment
// is checked (magic, size, body CRC, stored phys offset), segments must be contiguous and of one size, and
// every segment but the last must end with its END_FILE blank. Works on a store written by RocketMQ with
// any segment size (taken from the files). Read-only; never modifies the directory. Thread-compatible.
namespace thruster::store {

struct CommitLogVerifyReport {
  int segments = 0;
  int64_t segment_size = 0;
  int64_t records = 0;
  int64_t bytes = 0;              // sum of record sizes
  int64_t first_offset = -1;      // phys offset of the first record
  int64_t last_offset = -1;       // phys offset of the last record
  int64_t end_offset = 0;         // end of the last record
  bool ok = true;
  std::string error;              // first problem found: file, offset and what
  std::string error_file;
  int64_t error_offset = -1;
};

// IOError/NotFound when the directory cannot be read; otherwise a report (ok == false on corruption).
Result<CommitLogVerifyReport> VerifyCommitLog(io::FileSystem* fs, const std::string& commitlog_dir,
                                              bool check_crc = true);

}  // namespace thruster::store
