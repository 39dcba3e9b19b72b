#include "message/batch_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/coding.h"
#include "common/hex.h"
#include "message/properties.h"
#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

constexpr int64_t kMaxSize = 4 << 20;

// flag 7, body "one", properties KEYS=one: 22 + 3 + 9 = 34 bytes.
const std::string kGoldenEntry = testing::BytesFromHex(
    "00000022 00000000 00000000 00000007 00000003 6F6E65"
    "0009 4B455953 01 6F6E65 02");

std::string Entry(int32_t flag, std::string_view body,
                  std::string_view properties) {
  std::string out;
  EXPECT_OK(EncodeBatchEntry({flag, AsBytes(body), properties}, &out));
  return out;
}

// Entries as (flag, body, properties) strings, or the reader's first error.
Result<std::vector<std::string>> ReadAll(std::string_view batch,
                                         int64_t max_size = kMaxSize) {
  std::vector<std::string> out;
  Status s =
      ForEachBatchEntry(AsBytes(batch), max_size, [&](const BatchEntry& e) {
        out.push_back(std::to_string(e.flag) + "," +
                      std::string(AsStringView(e.body)) + "," +
                      std::string(e.properties));
        return Status::OK();
      });
  if (!s.ok()) return s;
  return out;
}

std::string ErrorOf(std::string_view batch, int64_t max_size = kMaxSize) {
  Status s = ValidateBatch(AsBytes(batch), max_size);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  return std::string(s.message());
}

TEST(BatchCodecTest, EncodeWritesTheGoldenBytes) {
  EXPECT_EQ(HexUpper(Entry(7, "one", EncodeProperties({{"KEYS", "one"}}))),
            HexUpper(kGoldenEntry));
}

TEST(BatchCodecTest, DecodeReadsTheGoldenEntry) {
  BatchReader reader(AsBytes(kGoldenEntry));
  ASSERT_FALSE(reader.done());
  ASSERT_OK_AND_ASSIGN(BatchEntry e, reader.Next());
  EXPECT_EQ(e.flag, 7);
  EXPECT_EQ(AsStringView(e.body), "one");
  EXPECT_EQ(FindProperty(e.properties, prop::kKeys), "one");
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.index(), 1);
}

TEST(BatchCodecTest, EntriesAreReadInOrderIncludingEmptyBodiesAndProperties) {
  const std::string batch =
      Entry(1, "a", "") + Entry(2, "", "x\x01y\x02") + Entry(3, "ccc", "");
  ASSERT_OK_AND_ASSIGN(auto entries, ReadAll(batch));
  EXPECT_EQ(entries,
            (std::vector<std::string>{"1,a,", "2,,x\x01y\x02", "3,ccc,"}));
  EXPECT_OK(ValidateBatch(AsBytes(batch), kMaxSize));
}

TEST(BatchCodecTest, EmptyBatchIsInvalid) {
  EXPECT_EQ(ErrorOf(""), "empty batch");
}

TEST(BatchCodecTest, BatchLargerThanTheMaxSizeIsInvalid) {
  const std::string batch = Entry(0, std::string(100, 'x'), "");
  EXPECT_OK(ValidateBatch(AsBytes(batch), 122));
  EXPECT_EQ(ErrorOf(batch, 121),
            "batch of 122 bytes exceeds maxMessageSize 121");
}

TEST(BatchCodecTest, TruncatedEntryIsNamed) {
  const std::string batch = kGoldenEntry + kGoldenEntry.substr(0, 21);
  EXPECT_EQ(ErrorOf(batch), "batch entry 1 is truncated");
  EXPECT_EQ(ErrorOf(kGoldenEntry.substr(0, 3)), "batch entry 0 is truncated");
}

TEST(BatchCodecTest, EntryCutInsideItsBodyHasABadLength) {
  const std::string batch =
      kGoldenEntry + kGoldenEntry.substr(0, kGoldenEntry.size() - 1);
  EXPECT_EQ(ErrorOf(batch), "batch entry 1 has a bad length");
}

TEST(BatchCodecTest, BadTotalSizeOrBodyLengthIsABadLength) {
  const auto with = [](size_t pos, int32_t v) {
    std::string e = kGoldenEntry;
    StoreI32(e.data() + pos, v);
    return kGoldenEntry + e;
  };
  EXPECT_EQ(ErrorOf(with(0, 21)), "batch entry 1 has a bad length");
  EXPECT_EQ(ErrorOf(with(0, -1)), "batch entry 1 has a bad length");
  EXPECT_EQ(ErrorOf(with(0, 35)), "batch entry 1 has a bad length");
  EXPECT_EQ(ErrorOf(with(kBatchEntryBodyLengthPos, -3)),
            "batch entry 1 has a bad length");
  // 13 > TOTALSIZE - 22.
  EXPECT_EQ(ErrorOf(with(kBatchEntryBodyLengthPos, 13)),
            "batch entry 1 has a bad length");
}

TEST(BatchCodecTest, PropertiesLengthMustCloseTheEntry) {
  const size_t props_len_pos = kBatchEntryBodyPos + 3;
  const auto with = [&](int16_t v) {
    std::string e = kGoldenEntry;
    StoreI16(e.data() + props_len_pos, v);
    return e;
  };
  EXPECT_EQ(ErrorOf(with(-1)), "batch entry 0 has a bad properties length");
  EXPECT_EQ(ErrorOf(with(8)), "batch entry 0 has a bad properties length");
  EXPECT_EQ(ErrorOf(with(10)), "batch entry 0 has a bad properties length");
  EXPECT_EQ(ErrorOf(with(INT16_MAX)),
            "batch entry 0 has a bad properties length");
}

// The fields describe a shorter entry than TOTALSIZE: trailing bytes the
// CommitLog once skipped silently; now the whole batch is refused.
TEST(BatchCodecTest, TotalSizeLongerThanTheFieldsIsRejected) {
  std::string e = kGoldenEntry + "zz";
  StoreI32(e.data(), static_cast<int32_t>(e.size()));
  EXPECT_EQ(ErrorOf(e), "batch entry 0 has a bad properties length");
}

TEST(BatchCodecTest, TheCallbacksErrorStopsTheWalk) {
  const std::string batch = kGoldenEntry + kGoldenEntry + kGoldenEntry;
  int calls = 0;
  Status s =
      ForEachBatchEntry(AsBytes(batch), kMaxSize, [&](const BatchEntry&) {
        return ++calls == 2 ? Status::InvalidArgument("stop") : Status::OK();
      });
  EXPECT_EQ(s.message(), "stop");
  EXPECT_EQ(calls, 2);
}

TEST(BatchCodecTest, EncodeRefusesPropertiesLongerThan32767Bytes) {
  std::string out;
  const std::string props(32768, 'p');
  EXPECT_EQ(EncodeBatchEntry({0, {}, props}, &out).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
  EXPECT_OK(EncodeBatchEntry({0, {}, std::string_view(props).substr(1)}, &out));
  ASSERT_OK_AND_ASSIGN(auto entries, ReadAll(out));
  EXPECT_EQ(entries.size(), 1u);
}

}  // namespace
}  // namespace thruster::message
