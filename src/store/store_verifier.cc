#include "store/store_verifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "message/commit_log_format.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/index_file_format.h"
#include "store/mapped_file.h"
#include "common/coding.h"

namespace thruster::store {

namespace sysflag = message::sysflag;
namespace prop = message::prop;
using message::CheckRecord;
using message::DecodedRecord;
using message::FindProperty;
using message::RecordCheck;
using message::RecordStatus;
Result<CommitLogVerifyReport> VerifyCommitLog(
    io::FileSystem* fs, const std::string& dir, bool check_crc,
    const VerifiedRecordFn& on_record) {
  TH_ASSIGN_OR_RETURN(auto entries, fs->ListDir(dir));
  std::vector<io::DirEntry> files;
  for (auto& e : entries) {
    if (!e.is_dir) files.push_back(e);
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  CommitLogVerifyReport rep;
  auto fail = [&](const std::string& file, int64_t offset, std::string what) {
    rep.ok = false;
    rep.error_file = file;
    rep.error_offset = offset;
    rep.error = fmt::format("{} at phys offset {}: {}", file, offset, what);
  };
  // A zero-length last file is a segment whose creation was interrupted;
  // RocketMQ deletes it at load.
  if (!files.empty() && files.back().size == 0) files.pop_back();
  if (files.empty()) return rep;
  rep.segment_size = static_cast<int64_t>(files.front().size);
  int64_t expected_base = -1;
  bool data_ended = false;  // a segment ended without its blank: only zero
                            // segments may follow
  for (size_t i = 0; i < files.size(); ++i) {
    std::string path = io::JoinPath(dir, files[i].name);
    auto base = FileNameToOffset(files[i].name);
    if (!base.ok()) {
      fail(path, -1, "not a segment name");
      return rep;
    }
    if (static_cast<int64_t>(files[i].size) != rep.segment_size) {
      fail(path, *base,
           fmt::format("size {} differs from the segment size {}",
                       files[i].size, rep.segment_size));
      return rep;
    }
    if (expected_base >= 0 && *base != expected_base) {
      fail(path, *base,
           fmt::format("gap: the previous segment ends at {}", expected_base));
      return rep;
    }
    expected_base = *base + rep.segment_size;
    ++rep.segments;
    TH_ASSIGN_OR_RETURN(auto region,
                        fs->Map(path, static_cast<size_t>(rep.segment_size),
                                io::OpenMode::kReadOnly));
    std::span<const std::byte> m = region->bytes();
    if (data_ended) {
      if (!IsAllZero(m)) {
        fail(path, *base,
             "data after a segment that ended without its END_FILE blank "
             "record");
        return rep;
      }
      continue;
    }
    int64_t pos = 0;
    bool blank = false;
    while (pos < rep.segment_size) {
      RecordCheck c =
          CheckRecord(m.subspan(static_cast<size_t>(pos)), check_crc);
      int64_t phys = *base + pos;
      if (c.status == RecordStatus::kBlank) {
        blank = true;
        break;
      }
      if (c.status == RecordStatus::kOk) {
        if (c.record.phys_offset != phys) {
          fail(path, phys,
               fmt::format("stored phys offset {} differs from the position",
                           c.record.phys_offset));
          return rep;
        }
        if (rep.first_offset < 0) rep.first_offset = phys;
        rep.last_offset = phys;
        rep.records++;
        rep.bytes += c.size;
        if (on_record) on_record(c.record, phys, c.size);
        pos += c.size;
        rep.end_offset = *base + pos;
        continue;
      }
      // Not a record: the end of data if never written or cut by recovery,
      // else corruption.
      if (!IsEndOfData(m.subspan(static_cast<size_t>(pos)))) {
        fail(path, phys, fmt::format("invalid record ({})", c.error));
        return rep;
      }
      break;
    }
    if (!blank) data_ended = true;
  }
  return rep;
}

namespace {

// Every valid record's phys offset, in order, with a mark for "some
// consume-queue unit points here".
struct RecordStarts {
  std::vector<int64_t> phys;
  std::vector<bool> in_queue;
  std::vector<bool>
      needs_queue;  // transaction NOT or COMMIT: dispatch gives it a unit

  // Index of the record starting at `offset`, or -1.
  int64_t Find(int64_t offset) const {
    auto it = std::lower_bound(phys.begin(), phys.end(), offset);
    if (it == phys.end() || *it != offset) return -1;
    return it - phys.begin();
  }
};

bool NeedsQueueUnit(int32_t sys_flag) {
  int32_t t = sysflag::TransactionType(sys_flag);
  return t == sysflag::kTransactionNotType ||
         t == sysflag::kTransactionCommitType;
}

void Fail(StoreVerifyReport* rep, const std::string& file, int64_t pos,
          const std::string& what) {
  rep->ok = false;
  rep->error_file = file;
  rep->error_offset = pos;
  rep->error = fmt::format("{} at file pos {}: {}", file, pos, what);
}

// Checks one consume queue's units against the CommitLog; false once a mismatch
// was reported.
bool VerifyQueue(const ConsumeQueueReader& cq, const QueueId& q,
                 const CommitLogReader& log, RecordStarts* starts,
                 StoreVerifyReport* rep) {
  bool ok = true;
  cq.Walk(0, [&](int64_t qo, const cq_format::Entry& e, size_t file,
                 int64_t file_pos) {
    if (cq_format::IsPreBlank(e)) return true;
    std::string path = io::JoinPath(cq.dir(), cq.files()[file].name);
    if (e.phys_offset < log.min_offset()) {
      rep->queue_units_expired++;
      return true;
    }
    int64_t i = starts->Find(e.phys_offset);
    if (i < 0) {
      Fail(rep, path, file_pos,
           fmt::format("unit for queue offset {} points at phys offset {}, "
                       "which is not a record start",
                       qo, e.phys_offset));
      return ok = false;
    }
    RecordCheck c = log.ReadRecord(e.phys_offset, false);
    const DecodedRecord& r = c.record;
    std::string mismatch;
    if (c.size != e.size) {
      mismatch = fmt::format("size {} but the record has {}", e.size, c.size);
    } else if (r.topic != q.topic || r.queue_id != q.queue_id) {
      mismatch =
          fmt::format("the record belongs to {}:{}", r.topic, r.queue_id);
    } else if (r.queue_offset != qo) {
      mismatch = fmt::format("the record has queue offset {}", r.queue_offset);
    }
    if (!mismatch.empty()) {
      Fail(rep, path, file_pos,
           fmt::format("unit for queue offset {} (phys offset {}): {}", qo,
                       e.phys_offset, mismatch));
      return ok = false;
    }
    starts->in_queue[static_cast<size_t>(i)] = true;
    rep->queue_units++;
    return true;
  });
  return ok;
}

// Checks one index file's slot chains and entries against the CommitLog; false
// once a problem was reported.
// `later_min` is the smallest phys offset of the entries in newer files (the
// CommitLog end when none); on return it includes this file's live entries.
bool VerifyIndexFile(const IndexFileReader& f, const CommitLogReader& log,
                     const RecordStarts& starts, int64_t log_end,
                     int64_t* later_min, StoreVerifyReport* rep) {
  const int32_t slots = f.geometry().slot_num;
  const int32_t end = f.entry_end();
  for (int32_t s = 0; s < slots; ++s) {
    int32_t n = f.SlotAt(s);
    if (n == 0) continue;
    if (n < 0 || n >= end) {
      Fail(rep, f.path(), index_format::SlotPos(s, slots),
           fmt::format("slot {} holds entry {}, outside 1..{}", s, n, end - 1));
      return false;
    }
    while (n > 0) {
      index_format::Entry e = f.EntryAt(n);
      if (e.key_hash < 0 || e.key_hash % slots != s) {
        Fail(rep, f.path(), index_format::EntryPos(slots, n),
             fmt::format("entry {} with key hash {} is chained from slot {}", n,
                         e.key_hash, s));
        return false;
      }
      if (e.prev_index < 0 || e.prev_index >= n) {
        Fail(rep, f.path(), index_format::EntryPos(slots, n),
             fmt::format("entry {} links to entry {}; a chain must run back to "
                         "older entries",
                         n, e.prev_index));
        return false;
      }
      n = e.prev_index;
    }
  }
  // Dispatch indexes records in CommitLog order, so phys offsets never fall
  // from one entry to a later one, except after recovery cut the CommitLog
  // back: the entries of the cut records stay behind (the index is not
  // truncated) and re-dispatch continues from the lower end. An entry at or
  // beyond the CommitLog end, or above a later entry, is such a stale one.
  std::vector<bool> stale(static_cast<size_t>(end), false);
  for (int32_t n = end - 1; n >= 1; --n) {
    int64_t phys = f.EntryAt(n).phys_offset;
    if (phys >= log_end || phys > *later_min) {
      stale[static_cast<size_t>(n)] = true;
    } else {
      *later_min = phys;
    }
  }
  std::string key;
  for (int32_t n = 1; n < end; ++n) {
    index_format::Entry e = f.EntryAt(n);
    int64_t pos = index_format::EntryPos(slots, n);
    if (e.phys_offset < log.min_offset()) {
      rep->index_entries_expired++;
      continue;
    }
    if (stale[static_cast<size_t>(n)]) {
      rep->index_entries_stale++;
      continue;
    }
    if (starts.Find(e.phys_offset) < 0) {
      Fail(rep, f.path(), pos,
           fmt::format(
               "entry {} points at phys offset {}, which is not a record start",
               n, e.phys_offset));
      return false;
    }
    RecordCheck c = log.ReadRecord(e.phys_offset, false);
    const DecodedRecord& r = c.record;
    bool matched = false;
    auto try_key = [&](std::string_view k) {
      if (matched || k.empty()) return;
      key.assign(r.topic);
      key.push_back('#');
      key.append(k);
      matched = index_format::IndexHash(key) == e.key_hash;
    };
    if (auto uniq = FindProperty(r.properties, prop::kUniqKey)) try_key(*uniq);
    if (auto keys = FindProperty(r.properties, prop::kKeys)) {
      std::string_view rest = *keys;
      while (!matched && !rest.empty()) {
        size_t sp = rest.find(' ');
        try_key(rest.substr(0, sp));
        rest = sp == std::string_view::npos ? std::string_view()
                                            : rest.substr(sp + 1);
      }
    }
    if (!matched) {
      Fail(rep, f.path(), pos,
           fmt::format("entry {} (phys offset {}) has key hash {}, which "
                       "matches none of the record's "
                       "UNIQ_KEY/KEYS",
                       n, e.phys_offset, e.key_hash));
      return false;
    }
    rep->index_entries++;
  }
  return true;
}

}  // namespace

Result<StoreVerifyReport> VerifyStore(io::FileSystem* fs,
                                      const std::string& root,
                                      const VerifyOptions& options) {
  StoreVerifyReport rep;
  RecordStarts starts;
  const bool cross_check = options.check_queues || options.check_index;
  std::string log_dir = io::JoinPath(root, "commitlog");
  // The CommitLog's byte range, for progress: first segment base to the end of
  // the last one.
  int64_t log_first = -1;
  int64_t log_end = 0;
  if (options.progress) {
    TH_ASSIGN_OR_RETURN(auto entries, fs->ListDir(log_dir));
    for (const auto& e : entries) {
      Result<int64_t> base = FileNameToOffset(e.name);
      if (e.is_dir || e.size == 0 || !base.ok()) continue;
      log_first = log_first < 0 ? *base : std::min(log_first, *base);
      log_end = std::max(log_end, *base + static_cast<int64_t>(e.size));
    }
    if (log_first < 0) log_first = 0;
  }
  VerifiedRecordFn collect;
  if (cross_check || options.progress) {
    collect = [&](const DecodedRecord& rec, int64_t phys, int32_t size) {
      if (cross_check) {
        starts.phys.push_back(phys);
        starts.needs_queue.push_back(NeedsQueueUnit(rec.sys_flag));
      }
      if (options.progress) {
        options.progress("commitlog", phys + size - log_first,
                         log_end - log_first);
      }
    };
  }
  TH_ASSIGN_OR_RETURN(rep.commit_log,
                      VerifyCommitLog(fs, log_dir, options.check_crc, collect));
  if (!rep.commit_log.ok) {
    rep.ok = false;
    rep.error = rep.commit_log.error;
    rep.error_file = rep.commit_log.error_file;
    rep.error_offset = rep.commit_log.error_offset;
    return rep;
  }
  if (!cross_check) return rep;
  starts.in_queue.assign(starts.phys.size(), false);
  TH_ASSIGN_OR_RETURN(auto log, CommitLogReader::Open(fs, log_dir));

  if (options.check_queues) {
    TH_ASSIGN_OR_RETURN(auto queues, ListQueues(fs, root));
    for (const auto& q : queues) {
      TH_ASSIGN_OR_RETURN(auto cq, ConsumeQueueReader::Open(fs, root, q));
      rep.queues++;
      if (!VerifyQueue(*cq, q, *log, &starts, &rep)) return rep;
      if (options.progress) {
        options.progress("consume queues", rep.queues,
                         static_cast<int64_t>(queues.size()));
      }
    }
    for (size_t i = 0; i < starts.phys.size(); ++i) {
      if (starts.needs_queue[i] && !starts.in_queue[i])
        rep.records_not_in_queue++;
    }
  }
  if (options.check_index) {
    TH_ASSIGN_OR_RETURN(auto names, ListIndexFiles(fs, root));
    std::vector<std::unique_ptr<IndexFileReader>> files;
    for (const auto& name : names) {
      std::string path = io::JoinPath(io::JoinPath(root, "index"), name);
      TH_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(path));
      if (size == 0)
        continue;  // an interrupted creation; the store deletes it at load
      TH_ASSIGN_OR_RETURN(
          auto f, IndexFileReader::Open(fs, path, options.index_geometry));
      files.push_back(std::move(f));
    }
    // Newest first, so each file knows the lowest phys offset indexed after it.
    std::vector<int64_t> later_min(files.size() + 1, rep.commit_log.end_offset);
    for (size_t i = files.size(); i > 0; --i) {
      int64_t m = later_min[i];
      const auto& f = *files[i - 1];
      for (int32_t n = 1; n < f.entry_end(); ++n) {
        int64_t phys = f.EntryAt(n).phys_offset;
        if (phys < rep.commit_log.end_offset) m = std::min(m, phys);
      }
      later_min[i - 1] = m;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      rep.index_files++;
      int64_t m = later_min[i + 1];
      if (!VerifyIndexFile(*files[i], *log, starts, rep.commit_log.end_offset,
                           &m, &rep))
        return rep;
      if (options.progress) {
        options.progress("index files", rep.index_files,
                         static_cast<int64_t>(files.size()));
      }
    }
  }
  return rep;
}

}  // namespace thruster::store
