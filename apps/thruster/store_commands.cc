// `thruster store ...`: offline inspection, dumping, verification and recovery
// of a store directory. info, dump and verify only read (they work on read-only
// copies, even of RocketMQ's own stores); recover takes the `lock` and runs the
// broker's start-up recovery.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/hex.h"
#include "common/logging.h"
#include "common/properties.h"
#include "message/commit_log_format.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "store/index_file_format.h"
#include "store/io/posix_file_system.h"
#include "store/message_store.h"
#include "store/store_inspector.h"
#include "store/store_verifier.h"
#include "thruster/commands.h"
#include "thruster/progress.h"

namespace thruster::cli {
namespace {

using nlohmann::json;

struct StoreOptions {
  std::string dir;
  bool json = false;
  bool no_crc = false;
  bool commitlog_only = false;
  // dump
  bool commitlog = false;
  std::string queue;  // TOPIC:ID
  bool index = false;
  int64_t from = 0;
  int64_t count = -1;
  // index geometry when the file size does not tell it; recover: a broker.conf
  int32_t index_slots = 0;
  int32_t index_num = 0;
  std::string config;
};

std::optional<store::IndexGeometry> GeometryOverride(const StoreOptions& o) {
  if (o.index_slots <= 0 || o.index_num <= 0) return std::nullopt;
  return store::IndexGeometry{o.index_slots, o.index_num};
}

int Fail(std::string_view cmd, const Status& s) {
  fmt::print(stderr, "thruster store {}: {}\n", cmd, s.ToString());
  return 2;
}

// ---- info

json HeaderJson(const store::index_format::Header& h) {
  return {{"begin_timestamp", h.begin_timestamp},
          {"end_timestamp", h.end_timestamp},
          {"begin_phys_offset", h.begin_phys_offset},
          {"end_phys_offset", h.end_phys_offset},
          {"hash_slot_count", h.hash_slot_count},
          {"index_count", h.index_count}};
}

int Info(const StoreOptions& o) {
  auto r = store::InspectStore(store::io::DefaultFileSystem(), o.dir,
                               GeometryOverride(o));
  if (!r.ok()) return Fail("info", r.status());
  const store::StoreInfo& info = *r;
  if (o.json) {
    json segments = json::array();
    for (const auto& s : info.segments)
      segments.push_back({{"name", s.name}, {"base_offset", s.base_offset}});
    json queues = json::array();
    int64_t units = 0;
    for (const auto& q : info.queues) {
      units += q.max_offset - q.min_offset;
      queues.push_back({{"topic", q.queue.topic},
                        {"queue_id", q.queue.queue_id},
                        {"files", q.files},
                        {"file_size", q.file_size},
                        {"min_offset", q.min_offset},
                        {"max_offset", q.max_offset},
                        {"min_phys_offset", q.min_phys_offset},
                        {"max_phys_offset", q.max_phys_offset}});
    }
    json index = json::array();
    int64_t index_entries = 0;
    for (const auto& f : info.index_files) {
      json j = HeaderJson(f.header);
      j["name"] = f.name;
      j["file_size"] = f.file_size;
      j["slot_num"] = f.geometry.slot_num;
      j["index_num"] = f.geometry.index_num;
      index.push_back(j);
      index_entries += std::max(0, f.header.index_count - 1);
    }
    json out = {{"root", info.root},
                {"commitlog",
                 {{"segments", info.segments.size()},
                  {"segment_size", info.segment_size},
                  {"files", segments},
                  {"min_phys_offset", info.min_phys_offset},
                  {"max_phys_offset", info.max_phys_offset},
                  {"first_record_offset", info.first_record_offset},
                  {"last_record_offset", info.last_record_offset}}},
                {"consume_queues", queues},
                {"consume_queue_units", units},
                {"index_files", index},
                {"index_entries", index_entries},
                {"abort", info.has_abort},
                {"lock", info.has_lock}};
    if (info.has_checkpoint) {
      const auto& c = info.checkpoint;
      out["checkpoint"] = {{"physic_msg_timestamp", c.physic_msg_timestamp},
                           {"logics_msg_timestamp", c.logics_msg_timestamp},
                           {"index_msg_timestamp", c.index_msg_timestamp},
                           {"master_flushed_offset", c.master_flushed_offset},
                           {"confirm_phy_offset", c.confirm_phy_offset}};
    } else {
      out["checkpoint"] = nullptr;
    }
    fmt::print("{}\n", out.dump());
    return 0;
  }
  fmt::print("store {}\n", info.root);
  fmt::print("commitlog   {} segment(s) of {} bytes", info.segments.size(),
             info.segment_size);
  if (!info.segments.empty()) {
    fmt::print(", {} .. {}", info.segments.front().name,
               info.segments.back().name);
  }
  fmt::print(
      "\n            phys offsets [{}, {}), first record {}, last record {}\n",
      info.min_phys_offset, info.max_phys_offset, info.first_record_offset,
      info.last_record_offset);
  fmt::print("consume queues {}\n", info.queues.size());
  for (const auto& q : info.queues) {
    fmt::print(
        "  {}:{}  offsets [{}, {})  {} file(s) of {} bytes  phys {} .. {}\n",
        q.queue.topic, q.queue.queue_id, q.min_offset, q.max_offset, q.files,
        q.file_size, q.min_phys_offset, q.max_phys_offset);
  }
  fmt::print("index files {}\n", info.index_files.size());
  for (const auto& f : info.index_files) {
    const auto& h = f.header;
    fmt::print("  {}  {} slots x {} entries  index count {}  slot count {}\n",
               f.name, f.geometry.slot_num, f.geometry.index_num, h.index_count,
               h.hash_slot_count);
    fmt::print("      timestamps [{}, {}]  phys offsets [{}, {}]\n",
               h.begin_timestamp, h.end_timestamp, h.begin_phys_offset,
               h.end_phys_offset);
  }
  if (info.has_checkpoint) {
    const auto& c = info.checkpoint;
    fmt::print(
        "checkpoint  physic {}  logics {}  index {}  master flushed {}  "
        "confirm {}\n",
        c.physic_msg_timestamp, c.logics_msg_timestamp, c.index_msg_timestamp,
        c.master_flushed_offset, c.confirm_phy_offset);
  } else {
    fmt::print("checkpoint  (none)\n");
  }
  fmt::print("abort       {}\n",
             info.has_abort ? "present (last stop was not clean)" : "absent");
  fmt::print("lock        {}\n", info.has_lock ? "present" : "absent");
  return 0;
}

// ---- dump

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == message::kNameValueSeparator) {
      out += '=';
    } else if (c == message::kPropertySeparator) {
      out += ';';
    } else if (static_cast<unsigned char>(c) < 0x20) {
      const auto byte = static_cast<uint8_t>(c);
      char esc[4] = {'\\', 'x'};
      WriteHex(&byte, 1, esc + 2, HexCase::kLower);
      out.append(esc, sizeof(esc));
    } else {
      out += c;
    }
  }
  return out;
}

int DumpCommitLog(const StoreOptions& o) {
  auto log = store::CommitLogReader::Open(
      store::io::DefaultFileSystem(), store::io::JoinPath(o.dir, "commitlog"));
  if (!log.ok()) return Fail("dump", log.status());
  int64_t printed = 0;
  // Progress in bytes of the log, when the records go to a file or a pipe.
  const auto& segments = (*log)->segments();
  const int64_t log_end =
      segments.empty() ? 0 : segments.back().base_offset + segments.back().size;
  const int64_t dump_start = std::max(o.from, (*log)->min_offset());
  std::atomic<int64_t> dumped{0};
  ProgressLine progress("dump", "bytes",
                        std::max<int64_t>(0, log_end - dump_start), &dumped,
                        !o.json && isatty(STDOUT_FILENO) != 1);
  auto end = (*log)->Walk(
      o.from, !o.no_crc,
      [&](const message::DecodedRecord& r, int64_t phys, int32_t size) {
        if (o.count >= 0 && printed >= o.count) return false;
        ++printed;
        dumped.store(phys + size - dump_start, std::memory_order_relaxed);
        std::string msg_id = message::CreateMessageId(r.store_host, phys);
        auto keys = message::FindProperty(r.properties, message::prop::kKeys);
        auto tags = message::FindProperty(r.properties, message::prop::kTags);
        if (o.json) {
          json j = {{"phys_offset", phys},
                    {"size", size},
                    {"topic", r.topic},
                    {"queue_id", r.queue_id},
                    {"queue_offset", r.queue_offset},
                    {"store_timestamp", r.store_timestamp},
                    {"born_timestamp", r.born_timestamp},
                    {"sys_flag", r.sys_flag},
                    {"flag", r.flag},
                    {"msg_id", msg_id},
                    {"keys", keys ? json(std::string(*keys)) : json(nullptr)},
                    {"tags", tags ? json(std::string(*tags)) : json(nullptr)},
                    {"body_length", r.body.size()},
                    {"body_crc", r.body_crc},
                    {"magic", r.magic == message::kMagicV2 ? 2 : 1},
                    {"properties", Printable(r.properties)}};
          fmt::print("{}\n",
                     j.dump(-1, ' ', false, json::error_handler_t::replace));
        } else {
          fmt::print(
              "{} size={} topic={} queue={} qoffset={} store_ts={} sysflag={} "
              "msgId={} keys={} tags={} "
              "body_len={} body_crc={}\n",
              phys, size, r.topic, r.queue_id, r.queue_offset,
              r.store_timestamp, r.sys_flag, msg_id,
              keys ? Printable(*keys) : "-", tags ? Printable(*tags) : "-",
              r.body.size(), r.body_crc);
        }
        return true;
      });
  if (!end.ok) {
    fmt::print(stderr, "thruster store dump: {} at phys offset {}: {}\n",
               (*log)->SegmentPath(end.error_offset), end.error_offset,
               end.error);
    return 1;
  }
  return 0;
}

int DumpQueue(const StoreOptions& o) {
  auto colon = o.queue.rfind(':');
  store::QueueId q;
  if (colon == std::string::npos || colon == 0 || colon + 1 == o.queue.size()) {
    fmt::print(stderr, "thruster store dump: --queue wants TOPIC:QUEUE_ID\n");
    return 2;
  }
  q.topic = o.queue.substr(0, colon);
  auto id = std::string_view(o.queue).substr(colon + 1);
  int64_t v = 0;
  for (char c : id) {
    if (c < '0' || c > '9' || v > std::numeric_limits<int32_t>::max() / 10) {
      fmt::print(stderr, "thruster store dump: bad queue id '{}'\n", id);
      return 2;
    }
    v = v * 10 + (c - '0');
  }
  q.queue_id = static_cast<int32_t>(v);
  auto cq =
      store::ConsumeQueueReader::Open(store::io::DefaultFileSystem(), o.dir, q);
  if (!cq.ok()) return Fail("dump", cq.status());
  if ((*cq)->files().empty()) {
    fmt::print(stderr, "thruster store dump: no consume queue {}:{} under {}\n",
               q.topic, q.queue_id, o.dir);
    return 1;
  }
  int64_t printed = 0;
  (*cq)->Walk(o.from, [&](int64_t qo, const store::cq_format::Entry& e,
                          size_t file, int64_t file_pos) {
    if (o.count >= 0 && printed >= o.count) return false;
    ++printed;
    bool pre_blank = store::cq_format::IsPreBlank(e);
    if (o.json) {
      fmt::print("{}\n", json({{"queue_offset", qo},
                               {"phys_offset", e.phys_offset},
                               {"size", e.size},
                               {"tags_code", e.tags_code},
                               {"file", (*cq)->files()[file].name},
                               {"file_pos", file_pos},
                               {"pre_blank", pre_blank}})
                             .dump());
    } else {
      fmt::print("{} phys={} size={} tags_code={} file={} pos={}{}\n", qo,
                 e.phys_offset, e.size, e.tags_code, (*cq)->files()[file].name,
                 file_pos, pre_blank ? " (pre-blank)" : "");
    }
    return true;
  });
  return 0;
}

int DumpIndex(const StoreOptions& o) {
  auto* fs = store::io::DefaultFileSystem();
  auto names = store::ListIndexFiles(fs, o.dir);
  if (!names.ok()) return Fail("dump", names.status());
  int64_t seen =
      0;  // entries counted across files, oldest first; --from skips this many
  int64_t printed = 0;
  for (const auto& name : *names) {
    std::string path =
        store::io::JoinPath(store::io::JoinPath(o.dir, "index"), name);
    auto f = store::IndexFileReader::Open(fs, path, GeometryOverride(o));
    if (!f.ok()) return Fail("dump", f.status());
    const auto& h = (*f)->header();
    const int32_t slots = (*f)->geometry().slot_num;
    for (int32_t n = 1; n < (*f)->entry_end(); ++n, ++seen) {
      if (seen < o.from) continue;
      if (o.count >= 0 && printed >= o.count) return 0;
      ++printed;
      auto e = (*f)->EntryAt(n);
      int64_t store_time =
          h.begin_timestamp + static_cast<int64_t>(e.time_diff) * 1000;
      int32_t slot = e.key_hash >= 0 ? e.key_hash % slots : -1;
      if (o.json) {
        fmt::print("{}\n",
                   json({{"file", name},
                         {"entry", n},
                         {"file_pos", store::index_format::EntryPos(slots, n)},
                         {"key_hash", e.key_hash},
                         {"slot", slot},
                         {"phys_offset", e.phys_offset},
                         {"time_diff", e.time_diff},
                         {"store_time", store_time},
                         {"prev_index", e.prev_index}})
                       .dump());
      } else {
        fmt::print(
            "{} #{} hash={} slot={} phys={} time_diff={} store_time~{} "
            "prev={}\n",
            name, n, e.key_hash, slot, e.phys_offset, e.time_diff, store_time,
            e.prev_index);
      }
    }
  }
  return 0;
}

int Dump(const StoreOptions& o) {
  int modes =
      (o.commitlog ? 1 : 0) + (o.queue.empty() ? 0 : 1) + (o.index ? 1 : 0);
  if (modes != 1) {
    fmt::print(stderr,
               "thruster store dump: give exactly one of --commitlog, --queue "
               "TOPIC:ID, --index\n");
    return 2;
  }
  if (o.commitlog) return DumpCommitLog(o);
  if (o.index) return DumpIndex(o);
  return DumpQueue(o);
}

// ---- verify

int Verify(const StoreOptions& o) {
  store::VerifyOptions vo;
  vo.check_crc = !o.no_crc;
  vo.check_queues = !o.commitlog_only;
  vo.check_index = !o.commitlog_only;
  vo.index_geometry = GeometryOverride(o);
  // One progress line per stage, on a terminal and without --json.
  std::atomic<int64_t> progress_done{0};
  std::unique_ptr<ProgressLine> progress;
  std::string progress_stage;
  if (ProgressLine::ShouldShow(!o.json)) {
    vo.progress = [&](std::string_view stage, int64_t done, int64_t total) {
      if (!progress || stage != progress_stage) {
        progress.reset();
        progress_stage = std::string(stage);
        progress_done.store(0, std::memory_order_relaxed);
        progress = std::make_unique<ProgressLine>(
            "verify " + progress_stage + ":",
            stage == "commitlog" ? "bytes" : "files", total, &progress_done,
            true);
      }
      progress_done.store(done, std::memory_order_relaxed);
    };
  }
  auto r = store::VerifyStore(store::io::DefaultFileSystem(), o.dir, vo);
  progress.reset();
  if (!r.ok()) return Fail("verify", r.status());
  const auto& rep = *r;
  const auto& cl = rep.commit_log;
  if (o.json) {
    json j = {{"ok", rep.ok},
              {"segments", cl.segments},
              {"segment_size", cl.segment_size},
              {"records", cl.records},
              {"bytes", cl.bytes},
              {"first_offset", cl.first_offset},
              {"last_offset", cl.last_offset},
              {"end_offset", cl.end_offset},
              {"queues", rep.queues},
              {"queue_units", rep.queue_units},
              {"queue_units_expired", rep.queue_units_expired},
              {"records_not_in_queue", rep.records_not_in_queue},
              {"index_files", rep.index_files},
              {"index_entries", rep.index_entries},
              {"index_entries_expired", rep.index_entries_expired},
              {"index_entries_stale", rep.index_entries_stale}};
    if (!rep.ok) {
      j["error"] = rep.error;
      j["error_file"] = rep.error_file;
      j["error_offset"] = rep.error_offset;
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("commitlog   {}\n", store::io::JoinPath(o.dir, "commitlog"));
    fmt::print("segments    {} of {} bytes\n", cl.segments, cl.segment_size);
    fmt::print("records     {}\n", cl.records);
    fmt::print("bytes       {}\n", cl.bytes);
    fmt::print("first       {}\n", cl.first_offset);
    fmt::print("last        {}\n", cl.last_offset);
    fmt::print("end         {}\n", cl.end_offset);
    if (!o.commitlog_only) {
      fmt::print(
          "queues      {} with {} units ({} below the commitlog min offset); "
          "{} records in no queue\n",
          rep.queues, rep.queue_units, rep.queue_units_expired,
          rep.records_not_in_queue);
      fmt::print(
          "index       {} file(s) with {} entries ({} below the commitlog min "
          "offset, {} stale from a cut tail)\n",
          rep.index_files, rep.index_entries, rep.index_entries_expired,
          rep.index_entries_stale);
    }
    if (rep.ok) {
      fmt::print("result      OK\n");
    } else {
      fmt::print("result      CORRUPT: {}\n", rep.error);
    }
  }
  if (!rep.ok) fmt::print(stderr, "thruster store verify: {}\n", rep.error);
  return rep.ok ? 0 : 1;
}

// ---- recover

int Recover(const StoreOptions& o) {
  auto* fs = store::io::DefaultFileSystem();
  store::MessageStoreConfig config;
  if (!o.config.empty()) {
    auto props = Properties::Load(o.config);
    if (!props.ok()) return Fail("recover", props.status());
    auto c = store::MessageStoreConfig::FromProperties(*props);
    if (!c.ok()) return Fail("recover", c.status());
    config = *c;
  } else {
    // Sizes from the files, so a store written with any settings (RocketMQ's
    // too) loads as it is.
    auto g = store::DetectStoreGeometry(fs, o.dir);
    if (!g.ok()) return Fail("recover", g.status());
    if (g->commit_log_segment_size > 0)
      config.mapped_file_size_commit_log = g->commit_log_segment_size;
    if (g->consume_queue_file_size > 0)
      config.mapped_file_size_consume_queue = g->consume_queue_file_size;
    if (auto over = GeometryOverride(o)) g->index = over;
    if (g->index) {
      config.max_hash_slot_num = g->index->slot_num;
      config.max_index_num = g->index->index_num;
    }
  }
  config.store_path_root_dir = o.dir;
  config.store_path_commit_log.clear();
  if (o.json) logging::SetLevel(logging::Level::kWarn);
  bool abort_before = fs->Exists(config.AbortPath());
  auto t0 = std::chrono::steady_clock::now();
  store::MessageStore ms(fs, config);
  Status s = ms.Load();
  if (!s.ok()) return Fail("recover", s);
  const store::StoreRecoveryReport rep = ms.recovery_report();
  int64_t min_phys = ms.GetMinPhyOffset();
  int64_t max_phys = ms.GetMaxPhyOffset();
  size_t queues = ms.ListQueues().size();
  ms.Shutdown();
  // Shutdown() removes `abort` only after a Start(); an abnormal stop stays
  // marked, so the broker's next start re-checks the tail as well.
  bool abort_after = fs->Exists(config.AbortPath());
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  const auto& cl = rep.commit_log;
  if (o.json) {
    json j = {{"seconds", rep.seconds},
              {"total_seconds", total},
              {"mode", rep.last_exit_ok ? "normal" : "abnormal"},
              {"last_exit_ok", rep.last_exit_ok},
              {"abort_present", abort_before},
              {"abort_after", abort_after},
              {"files_scanned", cl.files_scanned},
              {"records", cl.records},
              {"bytes_truncated", cl.bytes_truncated},
              {"recovered_end", cl.process_offset},
              {"commitlog_scan_seconds", cl.seconds},
              {"min_phys_offset", min_phys},
              {"max_phys_offset", max_phys},
              {"consume_queues_loaded", rep.consume_queues},
              {"consume_queues", queues},
              {"segment_size", config.mapped_file_size_commit_log}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("store       {}\n", o.dir);
    fmt::print("recovery    {} ({})\n",
               rep.last_exit_ok ? "normal" : "abnormal",
               abort_before ? "abort file present" : "no abort file");
    if (abort_after)
      fmt::print(
          "            abort file left in place: the next start recovers "
          "abnormally too\n");
    fmt::print("scanned     {} file(s), {} record(s) in {:.3f} s\n",
               cl.files_scanned, cl.records, cl.seconds);
    fmt::print("truncated   {} bytes\n", cl.bytes_truncated);
    fmt::print("recovered   commitlog [{}, {}), end {}\n", min_phys, max_phys,
               cl.process_offset);
    fmt::print("queues      {} loaded, {} after recovery\n", rep.consume_queues,
               queues);
    fmt::print(
        "took        {:.3f} s to load and recover, {:.3f} s with shutdown\n",
        rep.seconds, total);
  }
  return 0;
}

}  // namespace

void AddStoreCommands(CLI::App& app, int* exit_code) {
  auto* store = app.add_subcommand(
      "store", "offline store tools (info, dump, verify, recover)");
  store->require_subcommand(1);
  static StoreOptions o;
  auto add_geometry = [](CLI::App* c) {
    c->add_option("--index-slots", o.index_slots,
                  "maxHashSlotNum of the index files (default: from the size)");
    c->add_option("--index-num", o.index_num,
                  "maxIndexNum of the index files (default: from the size)");
  };

  auto* info = store->add_subcommand(
      "info", "segments, consume queues, index files, checkpoint (read-only)");
  info->add_option("dir", o.dir, "store root directory")->required();
  info->add_flag("--json", o.json, "print one JSON object");
  add_geometry(info);
  info->callback([exit_code] { *exit_code = Info(o); });

  auto* dump = store->add_subcommand(
      "dump",
      "print records, consume-queue units or index entries (read-only)");
  dump->add_option("dir", o.dir, "store root directory")->required();
  dump->add_flag("--commitlog", o.commitlog,
                 "records; --from is a phys offset");
  dump->add_option("--queue", o.queue,
                   "units of TOPIC:QUEUE_ID; --from is a queue offset");
  dump->add_flag(
      "--index", o.index,
      "index entries, oldest file first; --from skips that many entries");
  dump->add_option("--from", o.from, "where to start (see each mode)")
      ->capture_default_str();
  dump->add_option("--count", o.count, "at most this many lines (-1: all)")
      ->capture_default_str();
  dump->add_flag("--json", o.json, "one JSON object per line");
  dump->add_flag("--no-crc", o.no_crc,
                 "do not check body CRCs while dumping records");
  add_geometry(dump);
  dump->callback([exit_code] { *exit_code = Dump(o); });

  auto* verify =
      store->add_subcommand("verify",
                            "check every record, consume-queue unit and index "
                            "entry; non-zero exit on corruption");
  verify->add_option("dir", o.dir, "store root directory (holds commitlog/)")
      ->required();
  verify->add_flag("--json", o.json, "print one JSON object");
  verify->add_flag("--no-crc", o.no_crc, "skip body CRC checks");
  verify->add_flag("--commitlog-only", o.commitlog_only,
                   "check the CommitLog only");
  add_geometry(verify);
  verify->callback([exit_code] { *exit_code = Verify(o); });

  auto* recover =
      store->add_subcommand("recover",
                            "run the broker's start-up recovery offline (takes "
                            "the lock; truncates and rebuilds)");
  recover->add_option("dir", o.dir, "store root directory")->required();
  recover->add_flag("--json", o.json, "print one JSON object");
  recover->add_option(
      "--config", o.config,
      "broker.conf with the store's settings (default: sizes from the files)");
  add_geometry(recover);
  recover->callback([exit_code] { *exit_code = Recover(o); });
}

}  // namespace thruster::cli
