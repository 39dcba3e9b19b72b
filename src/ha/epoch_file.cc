#include "ha/epoch_file.h"

#include <algorithm>
#include <charconv>

#include "common/crc32.h"
#include "common/logging.h"

namespace thruster::ha {

namespace {

std::string EpochLines(const std::vector<EpochEntry>& entries) {
  std::string lines;
  for (const EpochEntry& e : entries) {
    lines += std::to_string(e.epoch);
    lines += '-';
    lines += std::to_string(e.start_offset);
    lines += '\n';
  }
  return lines;
}

template <typename T>
bool ParseEpochNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The next `\n`-terminated line of `text` from `*pos`; a last line without
// `\n` counts too.
std::optional<std::string_view> NextEpochLine(std::string_view text,
                                              size_t* pos) {
  if (*pos >= text.size()) return std::nullopt;
  size_t nl = text.find('\n', *pos);
  if (nl == std::string_view::npos) nl = text.size();
  std::string_view line = text.substr(*pos, nl - *pos);
  *pos = nl + 1;
  return line;
}

std::string EpochFileDir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void FillEnds(std::vector<EpochEntry>* entries, int64_t max_offset) {
  for (size_t i = 0; i < entries->size(); ++i) {
    (*entries)[i].end_offset =
        i + 1 < entries->size() ? (*entries)[i + 1].start_offset : max_offset;
  }
}

}  // namespace

std::string EncodeEpochFile(const std::vector<EpochEntry>& entries) {
  const std::string lines = EpochLines(entries);
  return std::to_string(entries.size()) + "\n" + std::to_string(Crc32R(lines)) +
         "\n" + lines;
}

Result<std::vector<EpochEntry>> DecodeEpochFile(std::string_view text) {
  size_t pos = 0;
  auto count_line = NextEpochLine(text, &pos);
  auto crc_line = NextEpochLine(text, &pos);
  int64_t count = 0;
  int64_t crc = 0;
  if (!count_line || !ParseEpochNumber(*count_line, &count) || count < 0)
    return Status::Corruption("epoch file: bad entry count line");
  if (!crc_line || !ParseEpochNumber(*crc_line, &crc))
    return Status::Corruption("epoch file: bad checksum line");
  const size_t lines_begin = pos;
  std::vector<EpochEntry> entries;
  while (auto line = NextEpochLine(text, &pos)) {
    if (line->empty()) {
      if (pos >= text.size()) break;  // a trailing empty line
      return Status::Corruption("epoch file: empty entry line");
    }
    size_t dash = line->find('-');
    EpochEntry e;
    if (dash == std::string_view::npos ||
        !ParseEpochNumber(line->substr(0, dash), &e.epoch) ||
        !ParseEpochNumber(line->substr(dash + 1), &e.start_offset)) {
      return Status::Corruption("epoch file: bad entry line '" +
                                std::string(*line) + "'");
    }
    if (!entries.empty() && (e.epoch <= entries.back().epoch ||
                             e.start_offset <= entries.back().start_offset)) {
      return Status::Corruption("epoch file: entry '" + std::string(*line) +
                                "' does not follow the one before it");
    }
    entries.push_back(e);
  }
  if (static_cast<int64_t>(entries.size()) != count) {
    return Status::Corruption("epoch file: says " + std::to_string(count) +
                              " entries, holds " +
                              std::to_string(entries.size()));
  }
  if (crc != 0) {
    // The CRC covers the entry lines as written: re-encode them, so a file
    // with stray bytes after the entries still checks against them only.
    const std::string lines = EpochLines(entries);
    if (Crc32R(lines) != crc ||
        text.substr(lines_begin, lines.size()) != lines) {
      return Status::Corruption("epoch file: checksum " + std::to_string(crc) +
                                " does not match its entries");
    }
  }
  return entries;
}

int64_t FindConsistentPoint(const std::vector<EpochEntry>& local,
                            const std::vector<EpochEntry>& master) {
  for (auto it = local.rbegin(); it != local.rend(); ++it) {
    auto m =
        std::find_if(master.begin(), master.end(),
                     [&](const EpochEntry& e) { return e.epoch == it->epoch; });
    if (m == master.end() || m->start_offset != it->start_offset) continue;
    return std::min(it->end_offset, m->end_offset);
  }
  return -1;
}

EpochFile::EpochFile(store::io::FileSystem* fs, std::string path)
    : fs_(fs), path_(std::move(path)) {}

Result<std::vector<EpochEntry>> EpochFile::ReadOne(const std::string& path) {
  TH_ASSIGN_OR_RETURN(std::string text, fs_->ReadFile(path));
  if (text.empty()) return Status::Corruption(path + " is empty");
  Result<std::vector<EpochEntry>> entries = DecodeEpochFile(text);
  if (!entries.ok())
    return Status::Corruption(path + ": " + entries.status().ToString());
  return entries;
}

Status EpochFile::Load() {
  const std::string bak = path_ + ".bak";
  const bool have_main = fs_->Exists(path_);
  const bool have_bak = fs_->Exists(bak);
  std::vector<EpochEntry> loaded;
  if (have_main || have_bak) {
    Status main_error = Status::NotFound(path_);
    if (have_main) {
      Result<std::vector<EpochEntry>> r = ReadOne(path_);
      if (r.ok()) {
        MutexLock lock(&mu_);
        entries_ = std::move(r).value();
        return Status::OK();
      }
      main_error = r.status();
    }
    if (!have_bak) return main_error;
    Result<std::vector<EpochEntry>> r = ReadOne(bak);
    if (!r.ok()) {
      return Status::Corruption(
          "epoch file unusable: " + main_error.ToString() + "; " +
          r.status().ToString());
    }
    TH_LOG(ha, kWarn, "epoch file {} unusable ({}), using {}", path_,
           main_error.ToString(), bak);
    loaded = std::move(r).value();
  }
  MutexLock lock(&mu_);
  entries_ = std::move(loaded);
  // The good copy is the .bak: put it back in place (the broken file must
  // not become the next .bak).
  main_valid_ = false;
  if (have_main || have_bak) return Write(entries_);
  return Status::OK();
}

Status EpochFile::Write(const std::vector<EpochEntry>& entries) {
  const std::string tmp = path_ + ".tmp";
  const std::string bak = path_ + ".bak";
  TH_RETURN_IF_ERROR(fs_->WriteFile(tmp, EncodeEpochFile(entries)));
  if (fs_->Exists(path_)) {
    TH_RETURN_IF_ERROR(main_valid_ ? fs_->Rename(path_, bak)
                                   : fs_->Remove(path_));
  }
  TH_RETURN_IF_ERROR(fs_->Rename(tmp, path_));
  TH_RETURN_IF_ERROR(fs_->SyncDir(EpochFileDir(path_)));
  main_valid_ = true;
  return Status::OK();
}

Status EpochFile::Append(int32_t epoch, int64_t start_offset) {
  MutexLock lock(&mu_);
  if (!entries_.empty()) {
    const EpochEntry& last = entries_.back();
    if (last.epoch == epoch && last.start_offset == start_offset)
      return Status::OK();
    if (epoch <= last.epoch || start_offset <= last.start_offset) {
      return Status::InvalidArgument(
          "epoch entry " + std::to_string(epoch) + "-" +
          std::to_string(start_offset) + " does not follow the last one, " +
          std::to_string(last.epoch) + "-" + std::to_string(last.start_offset));
    }
  }
  if (epoch < 0 || start_offset < 0)
    return Status::InvalidArgument("negative epoch or start offset");
  std::vector<EpochEntry> next = entries_;
  next.push_back(EpochEntry{epoch, start_offset, 0});
  TH_RETURN_IF_ERROR(Write(next));
  entries_ = std::move(next);
  TH_LOG(ha, kInfo, "epoch file {}: appended {}-{}", path_, epoch,
         start_offset);
  return Status::OK();
}

Status EpochFile::TruncateSuffixByEpoch(int32_t epoch) {
  MutexLock lock(&mu_);
  std::vector<EpochEntry> next;
  for (const EpochEntry& e : entries_)
    if (e.epoch < epoch) next.push_back(e);
  if (next.size() == entries_.size()) return Status::OK();
  TH_RETURN_IF_ERROR(Write(next));
  entries_ = std::move(next);
  TH_LOG(ha, kInfo, "epoch file {}: removed the entries of epoch >= {}", path_,
         epoch);
  return Status::OK();
}

Status EpochFile::TruncateSuffixByOffset(int64_t offset) {
  MutexLock lock(&mu_);
  std::vector<EpochEntry> next;
  for (const EpochEntry& e : entries_)
    if (e.start_offset < offset) next.push_back(e);
  if (next.size() == entries_.size()) return Status::OK();
  TH_RETURN_IF_ERROR(Write(next));
  entries_ = std::move(next);
  TH_LOG(ha, kInfo,
         "epoch file {}: removed the entries starting at or after {}", path_,
         offset);
  return Status::OK();
}

std::vector<EpochEntry> EpochFile::Entries(int64_t max_offset) const {
  MutexLock lock(&mu_);
  std::vector<EpochEntry> out = entries_;
  FillEnds(&out, max_offset);
  return out;
}

std::optional<EpochEntry> EpochFile::LastEntry() const {
  MutexLock lock(&mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

int32_t EpochFile::last_epoch() const {
  MutexLock lock(&mu_);
  return entries_.empty() ? 0 : entries_.back().epoch;
}

std::optional<EpochEntry> EpochFile::FindByOffset(int64_t offset,
                                                  int64_t max_offset) const {
  std::vector<EpochEntry> all = Entries(max_offset);
  for (size_t i = 0; i < all.size(); ++i) {
    const bool last = i + 1 == all.size();
    if (offset >= all[i].start_offset && (last || offset < all[i].end_offset))
      return all[i];
  }
  return std::nullopt;
}

std::optional<EpochEntry> EpochFile::FindByEpoch(int32_t epoch,
                                                 int64_t max_offset) const {
  for (const EpochEntry& e : Entries(max_offset))
    if (e.epoch == epoch) return e;
  return std::nullopt;
}

size_t EpochFile::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace thruster::ha
