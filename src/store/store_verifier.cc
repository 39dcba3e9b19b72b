#include "store/store_verifier.h"

#include <fmt/format.h>

#include <algorithm>

#include "store/commit_log_format.h"
#include "store/mapped_file.h"

namespace thruster::store {
namespace {

bool AllZero(std::span<const std::byte> s) {
  return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

Result<CommitLogVerifyReport> VerifyCommitLog(io::FileSystem* fs, const std::string& dir, bool check_crc) {
  TH_ASSIGN_OR_RETURN(auto entries, fs->ListDir(dir));
  std::vector<io::DirEntry> files;
  for (auto& e : entries) {
    if (!e.is_dir) files.push_back(e);
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  CommitLogVerifyReport rep;
  auto fail = [&](const std::string& file, int64_t offset, std::string what) {
    rep.ok = false;
    rep.error_file = file;
    rep.error_offset = offset;
    rep.error = fmt::format("{} at phys offset {}: {}", file, offset, what);
  };
  // A zero-length last file is a segment whose creation was interrupted; RocketMQ deletes it at load.
  if (!files.empty() && files.back().size == 0) files.pop_back();
  if (files.empty()) return rep;
  rep.segment_size = static_cast<int64_t>(files.front().size);
  int64_t expected_base = -1;
  bool data_ended = false;  // a segment ended without its blank: only zero segments may follow
  for (size_t i = 0; i < files.size(); ++i) {
    std::string path = io::JoinPath(dir, files[i].name);
    auto base = FileNameToOffset(files[i].name);
    if (!base.ok()) {
      fail(path, -1, "not a segment name");
      return rep;
    }
    if (static_cast<int64_t>(files[i].size) != rep.segment_size) {
      fail(path, *base, fmt::format("size {} differs from the segment size {}", files[i].size, rep.segment_size));
      return rep;
    }
    if (expected_base >= 0 && *base != expected_base) {
      fail(path, *base, fmt::format("gap: the previous segment ends at {}", expected_base));
      return rep;
    }
    expected_base = *base + rep.segment_size;
    ++rep.segments;
    TH_ASSIGN_OR_RETURN(auto region, fs->Map(path, static_cast<size_t>(rep.segment_size), io::OpenMode::kReadOnly));
    std::span<const std::byte> m = region->bytes();
    if (data_ended) {
      if (!AllZero(m)) {
        fail(path, *base, "data after a segment that ended without its END_FILE blank record");
        return rep;
      }
      continue;
    }
    int64_t pos = 0;
    bool blank = false;
    while (pos < rep.segment_size) {
      RecordCheck c = CheckRecord(m.subspan(static_cast<size_t>(pos)), check_crc);
      int64_t phys = *base + pos;
      if (c.status == RecordStatus::kBlank) {
        blank = true;
        break;
      }
      if (c.status == RecordStatus::kOk) {
        if (c.record.phys_offset != phys) {
          fail(path, phys, fmt::format("stored phys offset {} differs from the position", c.record.phys_offset));
          return rep;
        }
        if (rep.first_offset < 0) rep.first_offset = phys;
        rep.last_offset = phys;
        rep.records++;
        rep.bytes += c.size;
        pos += c.size;
        rep.end_offset = *base + pos;
        continue;
      }
      // Not a record: the end of data if everything after it is zero, else corruption.
      if (!AllZero(m.subspan(static_cast<size_t>(pos)))) {
        fail(path, phys, fmt::format("invalid record ({})", c.error));
        return rep;
      }
      break;
    }
    if (!blank) data_ended = true;
  }
  return rep;
}

}  // namespace thruster::store
