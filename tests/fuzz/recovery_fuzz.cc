// Store recovery over a fuzzed CommitLog segment and consume-queue file, on the
// in-memory file system. Input: byte 0 holds flags (bit 0: an `abort` file is
// present, so recovery is abnormal; bit 1: a checkpoint is written from bytes
// 3..; bit 2: no consume-queue file, the queue is rebuilt from the CommitLog),
// bytes 1-2 the length L of the segment's bytes (big-endian, capped by what
// follows), then L segment bytes, then the consume-queue bytes of
// SampleTopicA/0 (a topic of the fixture stores). Files are zero-padded to
// their configured size.
//
// Always: Load() either fails with an error or opens the store, every read of
// the queue stays inside the files, Shutdown() and the verifier finish. When
// the queue is rebuilt from the CommitLog (bit 2), also: every unit reads back
// as a valid record of that queue at that offset, and the store verifies clean
// after Shutdown(). A fuzzed consume-queue file may point anywhere: as in
// RocketMQ, recovery trusts the units below the CommitLog's end, so there the
// store only has to stay safe.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/logging.h"
#include "message/commit_log_format.h"
#include "store/message_store.h"
#include "store/message_store_config.h"
#include "store/store_verifier.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/mem_file_system.h"

namespace {

constexpr int64_t kRecoveryFuzzSegmentSize = 16 * 1024;
constexpr int64_t kRecoveryFuzzQueueFileSize = 20 * 64;
constexpr std::string_view kRecoveryFuzzTopic = "SampleTopicA";

thruster::store::MessageStoreConfig RecoveryFuzzConfig() {
  thruster::store::MessageStoreConfig c;
  c.store_path_root_dir = "/store";
  c.mapped_file_size_commit_log = kRecoveryFuzzSegmentSize;
  c.mapped_file_size_consume_queue = kRecoveryFuzzQueueFileSize;
  c.max_hash_slot_num = 16;
  c.max_index_num = 64;
  c.pre_touch_mapped_file = false;
  return c;
}

std::string PaddedTo(std::string_view bytes, int64_t size) {
  std::string out(bytes.substr(0, static_cast<size_t>(size)));
  out.resize(static_cast<size_t>(size), '\0');
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace store = thruster::store;
  if (size < 3) return 0;
  static const bool quiet = [] {
    thruster::logging::SetLevel(thruster::logging::Level::kError);
    return true;
  }();
  (void)quiet;
  const uint8_t flags = data[0];
  const size_t declared = (size_t{data[1]} << 8) | data[2];
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t seg_len = std::min(declared, rest.size());
  std::string_view segment = rest.substr(0, seg_len);
  const bool rebuild_queue = (flags & 4) != 0;
  std::string_view queue =
      rebuild_queue ? std::string_view() : rest.substr(seg_len);

  thruster::ManualClock clock(1700000000000);
  thruster::testing::MemFileSystem fs(&clock);
  const store::MessageStoreConfig config = RecoveryFuzzConfig();
  TH_FUZZ_CHECK(fs.CreateDirs(config.CommitLogDir()).ok());
  const std::string queue_dir =
      config.ConsumeQueueDir() + "/" + std::string(kRecoveryFuzzTopic) + "/0";
  TH_FUZZ_CHECK(fs.CreateDirs(queue_dir).ok());
  TH_FUZZ_CHECK(fs.WriteFile(config.CommitLogDir() + "/00000000000000000000",
                             PaddedTo(segment, kRecoveryFuzzSegmentSize))
                    .ok());
  if (!queue.empty()) {
    TH_FUZZ_CHECK(fs.WriteFile(queue_dir + "/00000000000000000000",
                               PaddedTo(queue, kRecoveryFuzzQueueFileSize))
                      .ok());
  }
  if (flags & 1) TH_FUZZ_CHECK(fs.WriteFile(config.AbortPath(), "").ok());
  if (flags & 2) {
    // The checkpoint's first bytes from the input: physicMsgTimestamp,
    // logicsMsgTimestamp, indexMsgTimestamp (4 KiB file, like RocketMQ's).
    TH_FUZZ_CHECK(
        fs.WriteFile(config.CheckpointPath(), PaddedTo(rest, 4096)).ok());
  }

  {
    store::MessageStore s(&fs, config, &clock);
    if (!s.Load().ok()) return 0;
    const int64_t min = s.GetMinOffsetInQueue(kRecoveryFuzzTopic, 0);
    const int64_t max = s.GetMaxOffsetInQueue(kRecoveryFuzzTopic, 0);
    TH_FUZZ_CHECK(min <= max);
    for (int64_t qo = min; qo < max; ++qo) {
      auto r = s.GetMessage("fuzz", kRecoveryFuzzTopic, 0, qo, 1, 1 << 20);
      if (r.status != store::GetMessageStatus::kFound) continue;
      TH_FUZZ_CHECK(!r.messages.empty());
      auto c = thruster::message::CheckRecord(r.messages[0].bytes, false);
      if (!rebuild_queue) continue;
      TH_FUZZ_CHECK(c.status == thruster::message::RecordStatus::kOk);
      TH_FUZZ_CHECK(c.record.topic == kRecoveryFuzzTopic);
      TH_FUZZ_CHECK(c.record.queue_id == 0);
      TH_FUZZ_CHECK(c.record.queue_offset == qo);
    }
    s.Shutdown();
  }
  store::VerifyOptions vo;
  vo.index_geometry =
      store::IndexGeometry{config.max_hash_slot_num, config.max_index_num};
  auto rep = store::VerifyStore(&fs, config.store_path_root_dir, vo);
  if (!rebuild_queue) return 0;
  TH_FUZZ_CHECK(rep.ok());
  if (!rep->ok) std::fprintf(stderr, "verify: %s\n", rep->error.c_str());
  TH_FUZZ_CHECK(rep->ok);
  return 0;
}
