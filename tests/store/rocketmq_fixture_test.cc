// Reads the CommitLogs that Apache RocketMQ 4.9.8 and 5.x wrote
// (tests/fixtures) with CheckRecord and compares every record with the
// fixture's manifest. The fixture files are only read, never written.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "message/commit_log_format.h"
#include "message/message.h"
#include "message/properties.h"
#include "tests/support/test_util.h"

namespace thruster::store {

using message::JHash;
using message::MessageToStore;
using message::TagsCode;
namespace prop = message::prop;
using message::CheckRecord;
using message::DecodedRecord;
using message::EncodeRecord;
using message::FindProperty;
using message::kPropertySeparator;
using message::ParseProperties;
using message::PatchInLockFields;
using message::RecordCheck;
using message::RecordStatus;
namespace {

constexpr size_t kSegmentSize =
    1024 * 1024;  // mappedFileSizeCommitLog of the fixtures

struct Segment {
  int64_t base_offset = 0;
  std::string bytes;
};

std::vector<Segment> ReadSegments(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file())
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<Segment> segments;
  for (const std::string& name : names) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    Segment s;
    s.base_offset = std::stoll(name);
    s.bytes.assign(std::istreambuf_iterator<char>(in),
                   std::istreambuf_iterator<char>());
    segments.push_back(std::move(s));
  }
  return segments;
}

std::vector<nlohmann::json> ReadManifest(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j =
        nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      ADD_FAILURE() << "bad manifest line: " << line;
      return {};
    }
    out.push_back(std::move(j));
  }
  return out;
}

class RocketMqFixtureTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::string StoreDir() const {
    return ::thruster::testing::FixturePath(GetParam());
  }
  bool Is5x() const {
    return std::string_view(GetParam()) == "rocketmq-5-store";
  }
};

// Compares one decoded record with its manifest line.
void ExpectMatches(const DecodedRecord& r, int64_t phys_offset, int32_t size,
                   const nlohmann::json& m) {
  EXPECT_EQ(m.value("physOffset", int64_t{-1}), phys_offset);
  EXPECT_EQ(r.phys_offset, phys_offset);
  EXPECT_EQ(m.value("size", -1), size);
  EXPECT_EQ(m.value("topic", std::string()), r.topic);
  EXPECT_EQ(m.value("queueId", -1), r.queue_id);
  EXPECT_EQ(m.value("queueOffset", int64_t{-1}), r.queue_offset);
  EXPECT_EQ(m.value("sysFlag", -1), r.sys_flag);
  EXPECT_EQ(m.value("storeTimestamp", int64_t{-1}), r.store_timestamp);
  EXPECT_EQ(m.value("bodyLength", -1), static_cast<int64_t>(r.body.size()));
  EXPECT_EQ(m.value("bodyCrc", int64_t{-1}), r.body_crc);

  const std::optional<std::string_view> tags =
      FindProperty(r.properties, prop::kTags);
  const nlohmann::json want_tags = m.value("tags", nlohmann::json());
  if (want_tags.is_null()) {
    EXPECT_EQ(tags, std::nullopt);
    EXPECT_EQ(TagsCode(tags), 0);
  } else {
    ASSERT_TRUE(want_tags.is_string());
    ASSERT_TRUE(tags.has_value());
    EXPECT_EQ(*tags, want_tags.get<std::string>());
    EXPECT_EQ(TagsCode(tags), JHash(want_tags.get<std::string>()));
  }
  const nlohmann::json want_keys = m.value("keys", nlohmann::json());
  if (want_keys.is_string()) {
    EXPECT_EQ(FindProperty(r.properties, prop::kKeys),
              want_keys.get<std::string>());
  } else {
    EXPECT_EQ(FindProperty(r.properties, prop::kKeys), std::nullopt);
  }

  std::map<std::string, std::string, std::less<>> want_props;
  const nlohmann::json props = m.value("properties", nlohmann::json());
  ASSERT_TRUE(props.is_object());
  for (const auto& [name, value] : props.items()) {
    ASSERT_TRUE(value.is_string()) << name;
    want_props.emplace(name, value.get<std::string>());
  }
  EXPECT_EQ(ParseProperties(r.properties), want_props);
}

TEST_P(RocketMqFixtureTest, EveryRecordMatchesManifest) {
  const std::vector<Segment> segments = ReadSegments(StoreDir() + "/commitlog");
  std::vector<nlohmann::json> manifest =
      ReadManifest(StoreDir() + ".manifest.jsonl");
  ASSERT_EQ(segments.size(), 3u);
  ASSERT_EQ(manifest.size(), 2000u);

  size_t next = 0;  // manifest line
  int blanks = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    const Segment& seg = segments[s];
    ASSERT_EQ(seg.bytes.size(), kSegmentSize);
    ASSERT_EQ(seg.base_offset, static_cast<int64_t>(s * kSegmentSize));
    const std::span<const std::byte> data =
        AsBytes(std::string_view(seg.bytes));
    size_t pos = 0;
    while (pos < data.size()) {
      const RecordCheck c = CheckRecord(data.subspan(pos), /*check_crc=*/true);
      if (c.status == RecordStatus::kBlank) {
        EXPECT_EQ(static_cast<size_t>(c.size), data.size() - pos);
        ++blanks;
        break;
      }
      if (c.status != RecordStatus::kOk) {
        // The end of data: only in the last segment, and nothing but zeros
        // behind it.
        EXPECT_EQ(s, segments.size() - 1)
            << "stopped at " << seg.base_offset + static_cast<int64_t>(pos)
            << ": " << c.error;
        EXPECT_EQ(c.status, RecordStatus::kCorrupt) << c.error;
        EXPECT_TRUE(std::all_of(seg.bytes.begin() + static_cast<ptrdiff_t>(pos),
                                seg.bytes.end(),
                                [](char b) { return b == 0; }));
        break;
      }
      ASSERT_LT(next, manifest.size())
          << "more records than the manifest lists";
      const int64_t phys_offset = seg.base_offset + static_cast<int64_t>(pos);
      SCOPED_TRACE(::testing::Message()
                   << "record " << next << " at " << phys_offset);
      ExpectMatches(c.record, phys_offset, c.size, manifest[next]);

      // 4.9.8 writes no separator after the last property; 5.x writes one (one
      // byte more per record).
      ASSERT_FALSE(c.record.properties.empty());
      EXPECT_EQ(c.record.properties.back() == kPropertySeparator, Is5x());

      // Dispatch reads without the CRC check and must agree.
      const RecordCheck fast =
          CheckRecord(data.subspan(pos), /*check_crc=*/false);
      EXPECT_EQ(fast.status, RecordStatus::kOk);
      EXPECT_EQ(fast.size, c.size);

      // Re-encoding the decoded fields reproduces RocketMQ's bytes exactly.
      MessageToStore m;
      m.topic = c.record.topic;
      m.queue_id = c.record.queue_id;
      m.flag = c.record.flag;
      m.sys_flag = c.record.sys_flag;
      m.body = c.record.body;
      m.properties = c.record.properties;
      m.born_timestamp = c.record.born_timestamp;
      m.born_host = c.record.born_host;
      m.store_host = c.record.store_host;
      m.reconsume_times = c.record.reconsume_times;
      m.prepared_transaction_offset = c.record.prepared_transaction_offset;
      std::string encoded;
      ASSERT_TRUE(EncodeRecord(m, 4 * 1024 * 1024, &encoded).ok());
      PatchInLockFields(reinterpret_cast<std::byte*>(encoded.data()),
                        c.record.queue_offset, c.record.phys_offset,
                        c.record.store_timestamp);
      EXPECT_TRUE(encoded ==
                  seg.bytes.substr(pos, static_cast<size_t>(c.size)));

      ++next;
      pos += static_cast<size_t>(c.size);
    }
  }
  EXPECT_EQ(next, manifest.size());
  EXPECT_EQ(blanks, 2);  // the first two segments end with a blank record
}

INSTANTIATE_TEST_SUITE_P(Stores, RocketMqFixtureTest,
                         ::testing::Values("rocketmq-4.9.8-store",
                                           "rocketmq-5-store"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string_view(info.param) ==
                                          "rocketmq-5-store"
                                      ? "RocketMq5"
                                      : "RocketMq498";
                         });

}  // namespace
}  // namespace thruster::store
