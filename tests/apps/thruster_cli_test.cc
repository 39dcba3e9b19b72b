// Runs the built `thruster` binary the way a person would: `store verify`,
// `store info --json` and `store recover --json` on copies of the RocketMQ
// fixture stores, and a short `bench store` run.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_util.h"

namespace thruster {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout only; stderr goes to the test log
};

CliRun Thruster(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(THRUSTER_BIN) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

nlohmann::json ParseJson(const std::string& s) {
  return nlohmann::json::parse(s, nullptr, false);
}

// A writable copy of a fixture store (the fixtures themselves are read-only).
class ThrusterCliFixtureTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    store_ = (fs::path(tmp_.path()) / "store").string();
    fs::copy(testing::FixturePath(GetParam()), store_,
             fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(store_)) {
      fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    }
    fs::permissions(store_, fs::perms::owner_write, fs::perm_options::add);
  }

  testing::TempDir tmp_;
  std::string store_;
};

TEST_P(ThrusterCliFixtureTest, VerifyFindsEveryRecordUnitAndEntryOk) {
  CliRun r = Thruster("store verify " + store_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["records"].get<int64_t>(), 2000);
  EXPECT_EQ(j["queue_units"].get<int64_t>(), 2000);
  EXPECT_GT(j["index_entries"].get<int64_t>(),
            2000);  // UNIQ_KEY and every KEYS token
  CliRun text = Thruster("store verify " + store_);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("records     2000"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("result      OK"), std::string::npos) << text.out;
}

TEST_P(ThrusterCliFixtureTest, InfoJsonDescribesSegmentsQueuesAndIndex) {
  CliRun r = Thruster("store info " + store_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["commitlog"]["segment_size"].get<int64_t>(), 1048576);
  EXPECT_EQ(j["commitlog"]["segments"].get<int64_t>(), 3);
  EXPECT_GT(j["commitlog"]["max_phys_offset"].get<int64_t>(), 2 * 1048576);
  EXPECT_EQ(j["consume_queues"].size(), 8u);
  EXPECT_EQ(j["consume_queue_units"].get<int64_t>(), 2000);
  ASSERT_EQ(j["index_files"].size(), 1u);
  EXPECT_EQ(j["index_files"][0]["slot_num"].get<int64_t>(), 20000);
  EXPECT_TRUE(j["checkpoint"].is_object());
}

TEST_P(ThrusterCliFixtureTest, DumpPrintsOneLinePerRecordAndUnit) {
  CliRun r = Thruster("store dump " + store_ + " --commitlog --json --count 5");
  ASSERT_EQ(r.exit_code, 0);
  auto first = ParseJson(r.out.substr(0, r.out.find('\n')));
  ASSERT_FALSE(first.is_discarded()) << r.out;
  EXPECT_EQ(first["phys_offset"].get<int64_t>(), 0);
  EXPECT_EQ(first["keys"].get<std::string>(), "key-0 order-0");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);
  CliRun q = Thruster("store dump " + store_ + " --queue SampleTopicA:0");
  ASSERT_EQ(q.exit_code, 0);
  EXPECT_EQ(std::count(q.out.begin(), q.out.end(), '\n'), 250);
}

TEST_P(ThrusterCliFixtureTest, RecoverAfterAbortRebuildsAndStaysVerifiable) {
  {
    std::FILE* f = std::fopen((fs::path(store_) / "abort").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  CliRun r = Thruster("store recover " + store_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["mode"].get<std::string>(), "abnormal");
  EXPECT_EQ(j["records"].get<int64_t>(), 2000);
  EXPECT_EQ(j["bytes_truncated"].get<int64_t>(), 0);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
  EXPECT_EQ(Thruster("store verify " + store_).exit_code, 0);
}

TEST_P(ThrusterCliFixtureTest, RecoverCutsACorruptLastRecordAndVerifyAgrees) {
  CliRun info = Thruster("store info " + store_ + " --json");
  auto j = ParseJson(info.out);
  ASSERT_FALSE(j.is_discarded()) << info.out;
  int64_t last = j["commitlog"]["last_record_offset"].get<int64_t>();
  int64_t base = j["commitlog"]["files"].back()["base_offset"].get<int64_t>();
  std::string seg = (fs::path(store_) / "commitlog" /
                     j["commitlog"]["files"].back()["name"].get<std::string>())
                        .string();
  {
    std::FILE* f = std::fopen(seg.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(last - base + 120), SEEK_SET);
    int c = std::fgetc(f);
    std::fseek(f, static_cast<long>(last - base + 120), SEEK_SET);
    std::fputc(c ^ 0x01, f);
    std::fclose(f);
  }
  EXPECT_EQ(Thruster("store verify " + store_).exit_code, 1);
  {
    std::FILE* f = std::fopen((fs::path(store_) / "abort").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  CliRun r = Thruster("store recover " + store_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto rec = ParseJson(r.out);
  ASSERT_FALSE(rec.is_discarded()) << r.out;
  EXPECT_EQ(rec["records"].get<int64_t>(), 1999);
  EXPECT_GT(rec["bytes_truncated"].get<int64_t>(), 0);
  EXPECT_EQ(rec["recovered_end"].get<int64_t>(), last);
  CliRun v = Thruster("store verify " + store_ + " --json");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto vj = ParseJson(v.out);
  ASSERT_FALSE(vj.is_discarded()) << v.out;
  EXPECT_EQ(vj["records"].get<int64_t>(), 1999);
  EXPECT_EQ(vj["queue_units"].get<int64_t>(), 1999);
}

INSTANTIATE_TEST_SUITE_P(Stores, ThrusterCliFixtureTest,
                         ::testing::Values("rocketmq-4.9.8-store",
                                           "rocketmq-5-store"),
                         [](const auto& info) {
                           return info.param[9] == '4' ? "RocketMq4"
                                                       : "RocketMq5";
                         });

TEST(ThrusterCliTest, VerifyFailsNamingFileAndOffsetOfAFlippedByte) {
  testing::TempDir tmp;
  std::string store = (fs::path(tmp.path()) / "store").string();
  fs::copy(testing::FixturePath("rocketmq-4.9.8-store"), store,
           fs::copy_options::recursive);
  std::string seg =
      (fs::path(store) / "commitlog" / "00000000000001048576").string();
  fs::permissions(seg, fs::perms::owner_write, fs::perm_options::add);
  // Find the first record of the second segment, then flip a byte of its body.
  CliRun d = Thruster("store dump " + store +
                      " --commitlog --json --from 1048576 --count 1");
  auto rec = ParseJson(d.out);
  ASSERT_FALSE(rec.is_discarded()) << d.out;
  int64_t phys = rec["phys_offset"].get<int64_t>();
  {
    std::FILE* f = std::fopen(seg.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(phys - 1048576 + 100), SEEK_SET);
    int c = std::fgetc(f);
    std::fseek(f, static_cast<long>(phys - 1048576 + 100), SEEK_SET);
    std::fputc(c ^ 0x40, f);
    std::fclose(f);
  }
  CliRun r = Thruster("store verify " + store);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("00000000000001048576"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(phys)), std::string::npos) << r.out;
}

TEST(ThrusterCliTest, BenchStoreJsonCarriesWriteReadAndKeyFigures) {
  testing::TempDir tmp;
  CliRun r = Thruster("bench store --dir " + tmp.path() +
                      " --messages 20000 --size 256 --read --keys --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = ParseJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  for (const char* key : {"msgs_per_sec", "mb_per_sec", "p50_us", "p99_us",
                          "p999_us", "read_msgs_per_sec", "read_mb_per_sec",
                          "key_lookup_p50_us", "key_lookup_p99_us"}) {
    ASSERT_TRUE(j.contains(key)) << key << " missing: " << r.out;
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(j["read_messages"].get<int64_t>(), 20000);
  EXPECT_EQ(j["key_lookup_misses"].get<int64_t>(), 0);
  EXPECT_EQ(j["errors"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace thruster
