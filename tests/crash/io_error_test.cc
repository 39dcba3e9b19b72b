// I/O errors: ENOSPC when a segment is created, EIO on msync/fdatasync, a
// failed config write or rename, a segment that cannot be read, and a real
// full file system (a small tmpfs the test mounts in its own mount
// namespace). Each must give the writer a clear error that names the file,
// crash nothing, corrupt nothing already stored, and (where that is safe)
// let appends resume once the cause is gone.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/consumer_offset_manager.h"
#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/properties.h"
#include "store/io/posix_file_system.h"
#include "store/message_store.h"
#include "store/store_verifier.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"
#include "tests/support/small_store.h"

namespace thruster {
namespace {

using store::GetMessageStatus;
using store::MessageStore;
using store::MessageStoreConfig;
using store::PutResult;
using store::PutStatus;
using testing::FaultFileSystem;
using testing::MemFileSystem;
using Op = FaultFileSystem::Op;

constexpr char kIoErrorTopic[] = "IoErrorTopic";

MessageStoreConfig SmallConfig(const std::string& root) {
  MessageStoreConfig c = testing::SmallStoreConfig(root);
  c.flush_interval_commit_log = 5;
  c.flush_interval_consume_queue = 5;
  return c;
}

PutResult Put(MessageStore* s, const std::string& body, int32_t queue = 0) {
  std::map<std::string, std::string, std::less<>> props{{"TAGS", "T"}};
  std::string p = message::EncodeProperties(props);
  message::MessageToStore m;
  m.topic = kIoErrorTopic;
  m.queue_id = queue;
  m.body = AsBytes(body);
  m.properties = p;
  m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
  m.store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);
  return s->PutMessage(m);
}

// The body at `offset` of queue 0, or "<status>".
std::string BodyAt(MessageStore* s, int64_t offset) {
  auto r = s->GetMessage("g", kIoErrorTopic, 0, offset, 1, 1 << 20);
  if (r.status != GetMessageStatus::kFound || r.messages.empty())
    return "<" + std::string(store::GetMessageStatusName(r.status)) + ">";
  auto c = message::CheckRecord(r.messages[0].bytes, true);
  return c.status == message::RecordStatus::kOk
             ? std::string(AsStringView(c.record.body))
             : "<bad record>";
}

void ExpectVerified(store::io::FileSystem* fs, const MessageStoreConfig& c) {
  store::VerifyOptions vo;
  vo.index_geometry = store::IndexGeometry{c.max_hash_slot_num, c.max_index_num};
  auto rep = store::VerifyStore(fs, c.store_path_root_dir, vo);
  ASSERT_OK(rep.status());
  EXPECT_TRUE(rep->ok) << rep->error;
}

class IoErrorTest : public ::testing::Test {
 protected:
  IoErrorTest()
      : fs_(std::make_unique<MemFileSystem>(&clock_)),
        config_(SmallConfig("/store")) {}
  ~IoErrorTest() override { store_.reset(); }

  void Open() {
    store_.reset();
    store_ = std::make_unique<MessageStore>(&fs_, config_, &clock_);
    ASSERT_OK(store_->Load());
    ASSERT_OK(store_->Start());
  }
  // Puts until `n` messages are acknowledged; returns their bodies by offset.
  void PutOk(int n) {
    for (int i = 0; i < n; ++i) {
      std::string body = "m" + std::to_string(acked_.size()) + std::string(200, 'x');
      PutResult r = Put(store_.get(), body);
      ASSERT_TRUE(r.ok()) << r.error;
      acked_[r.queue_offset] = body;
    }
  }
  void ExpectAllAcked() {
    ASSERT_TRUE(store_->WaitForDispatch(5000));
    for (const auto& [off, body] : acked_)
      EXPECT_EQ(BodyAt(store_.get(), off), body) << "offset " << off;
  }

  ManualClock clock_;
  FaultFileSystem fs_;
  MessageStoreConfig config_;
  std::unique_ptr<MessageStore> store_;
  std::map<int64_t, std::string> acked_;
};

TEST_F(IoErrorTest, EnospcCreatingASegmentFailsThePutAndAppendsResumeOnceFreed) {
  // The disk has no room for a second segment (nor for its pre-allocation).
  const std::string next = "/store/commitlog/00000000000000008192";
  fs_.FailPaths(next);
  Open();
  PutOk(10);  // about 2.5 KiB of the first 8 KiB segment
  PutResult failed;
  for (int i = 0; i < 100; ++i) {
    std::string body = "m" + std::to_string(acked_.size()) + std::string(200, 'x');
    failed = Put(store_.get(), body);
    if (!failed.ok()) break;
    acked_[failed.queue_offset] = body;
  }
  ASSERT_FALSE(failed.ok()) << "the roll never hit the full disk";
  EXPECT_EQ(failed.status, PutStatus::kCreateMappedFileFailed);
  EXPECT_NE(failed.error.find(next), std::string::npos) << failed.error;
  EXPECT_NE(failed.error.find("No space"), std::string::npos) << failed.error;
  // Space comes back: the next put rolls and succeeds, without a restart.
  fs_.ClearFaults();
  PutOk(30);
  ExpectAllAcked();
  store_->Shutdown();
  ExpectVerified(&fs_, config_);
  Open();
  ExpectAllAcked();
}

TEST_F(IoErrorTest, EioOnSyncFailsTheWriterAndTheStoreStaysReadOnlyUntilRestart) {
  config_.flush_disk_type = store::FlushDiskType::kSync;
  Open();
  PutOk(5);
  fs_.FailPaths("/store/commitlog/");
  PutResult r = Put(store_.get(), "never-acked");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("/store/commitlog/00000000000000000000"),
            std::string::npos)
      << r.error;
  // Failures stay failed: no retry that could ack bytes the kernel dropped.
  fs_.ClearFaults();
  PutResult again = Put(store_.get(), "still-refused");
  EXPECT_EQ(again.status, PutStatus::kServiceNotAvailable);
  EXPECT_NE(again.error.find("not writeable"), std::string::npos)
      << again.error;
  ExpectAllAcked();
  // A restart recovers and writes again.
  Open();
  ExpectAllAcked();
  PutOk(3);
  ExpectAllAcked();
  store_->Shutdown();
  ExpectVerified(&fs_, config_);
}

TEST_F(IoErrorTest, SegmentThatCannotBeReadFailsTheLoadNamingIt) {
  Open();
  PutOk(5);
  store_->Shutdown();
  store_.reset();
  const std::string seg = "/store/commitlog/00000000000000000000";
  fs_.FailPaths(seg);
  {
    MessageStore broken(&fs_, config_, &clock_);
    Status s = broken.Load();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find(seg), std::string::npos) << s.ToString();
  }
  fs_.ClearFaults();
  Open();
  ExpectAllAcked();
}

TEST_F(IoErrorTest, ShutdownWithAFailingDispatchLeavesTheRestToRecovery) {
  Open();
  fs_.FailPaths("/store/consumequeue/");  // every queue file write fails
  PutOk(20);
  const auto start = std::chrono::steady_clock::now();
  store_->Shutdown();
  const auto took = std::chrono::steady_clock::now() - start;
  // The drain gives up at the first failed dispatch instead of retrying for
  // 5 s; `abort` stays, so the next start dispatches from the CommitLog.
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(fs_.Exists("/store/abort"));
  fs_.ClearFaults();
  Open();
  ExpectAllAcked();
  EXPECT_EQ(store_->GetMaxOffsetInQueue(kIoErrorTopic, 0), 20);
}

class ConfigIoErrorTest : public ::testing::Test {
 protected:
  ConfigIoErrorTest() : fs_(std::make_unique<MemFileSystem>()) {
    EXPECT_OK(fs_.CreateDirs("/store/config"));
  }
  FaultFileSystem fs_;
};

TEST_F(ConfigIoErrorTest, FailedWriteOrRenameKeepsThePersistedOffsets) {
  const std::string file = "/store/config/consumerOffset.json";
  broker::ConsumerOffsetManager offsets(&fs_, "/store/config");
  ASSERT_OK(offsets.Load());
  offsets.Commit("g", "t", 0, 10);
  ASSERT_OK(offsets.Persist());
  for (Op op : {Op::kWriteFile, Op::kRename}) {
    offsets.Commit("g", "t", 0, 20);
    fs_.FailNth(op, 1);  // ENOSPC-like EIO on the write, or the rename
    Status s = offsets.Persist();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find(file), std::string::npos) << s.ToString();
    broker::ConsumerOffsetManager reread(&fs_, "/store/config");
    ASSERT_OK(reread.Load());
    EXPECT_EQ(reread.Query("g", "t", 0), 10) << "after a failed persist";
    // Once the cause is gone the next persist writes the new value.
    ASSERT_OK(offsets.Persist(true));
    broker::ConsumerOffsetManager after(&fs_, "/store/config");
    ASSERT_OK(after.Load());
    EXPECT_EQ(after.Query("g", "t", 0), 20);
    offsets.Commit("g", "t", 0, 10);
    ASSERT_OK(offsets.Persist(true));
  }
}

// ---- a real full file system: tmpfs in a private mount namespace ----------

// Runs in a forked child (a death test): mounts a 4 MiB tmpfs over `dir`,
// fills it, checks the errors, frees space and checks that appends resume.
// Exits 0 and prints "full disk: ok" on success.
void FullTmpfsScenario(const std::string& dir) {
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "full disk: %s\n", what.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  };
  if (::geteuid() != 0) {
    // An unprivileged user may mount tmpfs in its own user namespace.
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      fail("unshare(CLONE_NEWUSER|CLONE_NEWNS): " + std::string(strerror(errno)));
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
  } else if (::unshare(CLONE_NEWNS) != 0) {
    fail("unshare(CLONE_NEWNS): " + std::string(strerror(errno)));
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail("make / private: " + std::string(strerror(errno)));
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m") != 0)
    fail("mount tmpfs: " + std::string(strerror(errno)));

  store::io::PosixFileSystem fs;
  MessageStoreConfig c = SmallConfig(dir + "/store");
  c.mapped_file_size_commit_log = 1 << 20;
  c.flush_disk_type = store::FlushDiskType::kSync;
  c.disk_space_warning_level_ratio = 99;  // let the disk really fill
  c.disk_max_used_space_ratio = 95;
  {
    // 2 MiB of ballast, so the second segment finds no room.
    std::ofstream ballast(dir + "/ballast", std::ios::binary);
    std::string mb(1 << 20, 'b');
    ballast << mb << mb;
    if (!ballast) fail("cannot write the ballast");
  }
  std::map<int64_t, std::string> acked;
  PutResult last;
  {
    MessageStore s(&fs, c);
    if (Status st = s.Load(); !st.ok()) fail("load: " + st.ToString());
    if (Status st = s.Start(); !st.ok()) fail("start: " + st.ToString());
    for (int i = 0; i < 20000; ++i) {
      std::string body = "m" + std::to_string(i) + std::string(1000, 'x');
      last = Put(&s, body);
      if (!last.ok()) break;
      acked[last.queue_offset] = body;
    }
    if (last.ok()) fail("the disk never filled");
    if (last.error.find("/store/commitlog/") == std::string::npos ||
        last.error.find("No space") == std::string::npos)
      fail("unclear error: " + last.error);
    std::fprintf(stderr, "full disk: put failed as expected: %s: %s\n",
                 std::string(store::PutStatusName(last.status)).c_str(),
                 last.error.c_str());
    // Free the ballast: appends resume without a restart.
    std::filesystem::remove(dir + "/ballast");
    for (int i = 0; i < 50; ++i) {
      std::string body = "after" + std::to_string(i) + std::string(1000, 'y');
      PutResult r = Put(&s, body);
      if (!r.ok()) fail("no append after freeing space: " + r.error);
      acked[r.queue_offset] = body;
    }
    if (!s.WaitForDispatch(10000)) fail("dispatch did not catch up");
    for (const auto& [off, body] : acked)
      if (BodyAt(&s, off) != body) fail("lost offset " + std::to_string(off));
    s.Shutdown();
  }
  store::VerifyOptions vo;
  vo.index_geometry = store::IndexGeometry{c.max_hash_slot_num, c.max_index_num};
  auto rep = store::VerifyStore(&fs, c.store_path_root_dir, vo);
  if (!rep.ok() || !rep->ok)
    fail("verify: " + (rep.ok() ? rep->error : rep.status().ToString()));
  std::fprintf(stderr, "full disk: ok (%zu messages checked)\n", acked.size());
  std::fflush(stderr);
  std::_Exit(0);
}

TEST(FullFileSystemTest, RealTmpfsFillsUpGivesAClearErrorAndResumesOnceFreed) {
  GTEST_FLAG_SET(death_test_style, "fast");  // fork only: the child is
                                             // single-threaded for unshare
  testing::TempDir tmp;
  EXPECT_EXIT(FullTmpfsScenario(tmp.path()), ::testing::ExitedWithCode(0),
              "full disk: ok");
}

}  // namespace
}  // namespace thruster
