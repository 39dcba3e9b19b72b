#include "store/checkpoint_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/coding.h"
#include "tests/support/test_util.h"

namespace thruster::store {
namespace {

// Store spec Appendix A.4.
CheckpointData AppendixA4() {
  CheckpointData d;
  d.physic_msg_timestamp = 1700000005123;
  d.logics_msg_timestamp = 1700000000123;
  d.index_msg_timestamp = 0;
  d.master_flushed_offset = 0;
  d.confirm_phy_offset = 1073741931;
  return d;
}

TEST(CheckpointFormatTest, EncodesAppendixA4ByteForByte) {
  std::vector<std::byte> file(kCheckpointFileSize);
  EncodeCheckpoint(AppendixA4(), file);
  EXPECT_EQ(testing::UpperHex(std::span(file).first(kCheckpointDataSize)),
            "0000018BCFE57C03"
            "0000018BCFE5687B"
            "0000000000000000"
            "0000000000000000"
            "000000004000006B");
  for (size_t i = kCheckpointDataSize; i < file.size(); ++i)
    ASSERT_EQ(file[i], std::byte{0}) << i;
}

TEST(CheckpointFormatTest, DecodeRoundTrips) {
  std::vector<std::byte> file(kCheckpointFileSize);
  CheckpointData d = AppendixA4();
  d.index_msg_timestamp = 1700000001000;
  d.master_flushed_offset = -1;
  EncodeCheckpoint(d, file);
  ASSERT_OK_AND_ASSIGN(CheckpointData back, DecodeCheckpoint(file));
  EXPECT_EQ(back, d);
}

TEST(CheckpointFormatTest, EncodeTouchesOnlyFortyBytes) {
  std::vector<std::byte> buf(kCheckpointDataSize + 8, std::byte{0xEE});
  EncodeCheckpoint(AppendixA4(), buf);
  for (size_t i = kCheckpointDataSize; i < buf.size(); ++i)
    EXPECT_EQ(buf[i], std::byte{0xEE});
}

TEST(CheckpointFormatTest, DecodeOfShortInputIsCorruption) {
  std::vector<std::byte> buf(kCheckpointDataSize - 1);
  Result<CheckpointData> r = DecodeCheckpoint(buf);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  ASSERT_OK_AND_ASSIGN(
      CheckpointData zero,
      DecodeCheckpoint(std::vector<std::byte>(kCheckpointDataSize)));
  EXPECT_EQ(zero, CheckpointData{});
}

TEST(CheckpointFormatTest, MinTimestampMatchesAppendixA4) {
  EXPECT_EQ(MinTimestamp(AppendixA4()), 1699999997123);
  EXPECT_EQ(MinTimestampIndex(AppendixA4()), 0);
  CheckpointData d = AppendixA4();
  d.index_msg_timestamp = 1700000009999;
  EXPECT_EQ(MinTimestampIndex(d), 1699999997123);
}

TEST(CheckpointFormatTest, MinTimestampNeverNegative) {
  EXPECT_EQ(MinTimestamp(CheckpointData{}), 0);
  CheckpointData d;
  d.physic_msg_timestamp = 2999;
  d.logics_msg_timestamp = 1700000000000;
  EXPECT_EQ(MinTimestamp(d), 0);
  d.physic_msg_timestamp = std::numeric_limits<int64_t>::min();  // corrupt file
  EXPECT_EQ(MinTimestamp(d), 0);
}

}  // namespace
}  // namespace thruster::store
