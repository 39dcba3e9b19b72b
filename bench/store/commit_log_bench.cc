// Micro-benchmarks of the CommitLog hot path: encoding, validating and
// appending records.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <random>

#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/checkpoint.h"
#include "store/commit_log.h"
#include "store/io/posix_file_system.h"

namespace thruster::store {

using message::CheckRecord;
using message::EncodeProperties;
using message::EncodeRecord;
using message::HostAddress;
using message::MessageToStore;
namespace {

MessageToStore BenchMessage(const std::string& body, const std::string& props) {
  MessageToStore m;
  m.topic = "BenchTopic";
  m.queue_id = 1;
  m.body = AsBytes(body);
  m.properties = props;
  m.born_timestamp = 1700000000000;
  m.born_host = HostAddress::V4(127, 0, 0, 1, 50000);
  m.store_host = HostAddress::V4(127, 0, 0, 1, 10911);
  return m;
}

void BM_EncodeRecord(benchmark::State& state) {
  std::string body(static_cast<size_t>(state.range(0)), 'x');
  std::string props = EncodeProperties({{"TAGS", "TagA"}, {"KEYS", "key-1"}});
  MessageToStore m = BenchMessage(body, props);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(EncodeRecord(m, 4 << 20, &out));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}
BENCHMARK(BM_EncodeRecord)->Arg(128)->Arg(1024)->Arg(16384);

void BM_CheckRecord(benchmark::State& state) {
  std::string body(static_cast<size_t>(state.range(0)), 'x');
  std::string props = EncodeProperties({{"TAGS", "TagA"}, {"KEYS", "key-1"}});
  std::string rec;
  (void)EncodeRecord(BenchMessage(body, props), 4 << 20, &rec).ok();
  for (auto _ : state)
    benchmark::DoNotOptimize(CheckRecord(AsBytes(rec), true));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}
BENCHMARK(BM_CheckRecord)->Arg(128)->Arg(1024)->Arg(16384);

// Appends through the real file system (async flush) across segment rolls of 64
// MiB.
void BM_CommitLogAppend(benchmark::State& state) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "thruster-bench-commitlog")
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  MessageStoreConfig config;
  config.store_path_root_dir = dir;
  config.mapped_file_size_commit_log = 64 << 20;
  auto* fs = io::DefaultFileSystem();
  auto cp = Checkpoint::Open(fs, config.CheckpointPath());
  CommitLog log(fs, config, cp->get());
  if (!log.Load().ok() || !log.Start().ok()) {
    state.SkipWithError("cannot open the commitlog");
    return;
  }
  std::string body(static_cast<size_t>(state.range(0)), 'x');
  std::string props = EncodeProperties({{"TAGS", "TagA"}, {"KEYS", "key-1"}});
  MessageToStore m = BenchMessage(body, props);
  for (auto _ : state) {
    PutResult r = log.PutMessage(m);
    if (!r.ok()) state.SkipWithError(r.error.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
  log.Shutdown();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CommitLogAppend)->Arg(1024)->Iterations(500000);

// The same from 1, 2 and 4 threads appending to one CommitLog at once (each to
// its own queue), to show what the put lock costs under contention.
struct SharedAppendLog {
  std::string dir;
  std::unique_ptr<Checkpoint> checkpoint;
  std::unique_ptr<CommitLog> log;
};
SharedAppendLog* shared_append_log = nullptr;

void BM_CommitLogAppendThreads(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_append_log = new SharedAppendLog;
    shared_append_log->dir =
        (std::filesystem::temp_directory_path() / "thruster-bench-threads")
            .string();
    std::filesystem::remove_all(shared_append_log->dir);
    std::filesystem::create_directories(shared_append_log->dir);
    MessageStoreConfig config;
    config.store_path_root_dir = shared_append_log->dir;
    config.mapped_file_size_commit_log = 64 << 20;
    auto* fs = io::DefaultFileSystem();
    auto cp = Checkpoint::Open(fs, config.CheckpointPath());
    if (cp.ok()) {
      shared_append_log->checkpoint = std::move(cp).value();
      shared_append_log->log = std::make_unique<CommitLog>(
          fs, config, shared_append_log->checkpoint.get());
      if (!shared_append_log->log->Load().ok() ||
          !shared_append_log->log->Start().ok())
        shared_append_log->log.reset();
    }
  }
  std::string body(1024, 'x');
  std::string props = EncodeProperties({{"TAGS", "TagA"}, {"KEYS", "key-1"}});
  MessageToStore m = BenchMessage(body, props);
  m.queue_id = state.thread_index();
  for (auto _ : state) {
    // The loop's start is a barrier: thread 0 has opened the log by now.
    if (shared_append_log->log == nullptr) {
      state.SkipWithError("cannot open the commitlog");
      break;
    }
    PutResult r = shared_append_log->log->PutMessage(m);
    if (!r.ok()) state.SkipWithError(r.error.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    if (shared_append_log->log) shared_append_log->log->Shutdown();
    std::filesystem::remove_all(shared_append_log->dir);
    delete shared_append_log;
    shared_append_log = nullptr;
  }
}
BENCHMARK(BM_CommitLogAppendThreads)
    ->Iterations(200000)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

}  // namespace
}  // namespace thruster::store
