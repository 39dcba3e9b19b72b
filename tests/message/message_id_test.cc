#include "message/message_id.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

TEST(MessageIdTest, MatchesAppendixA1) {
  const HostAddress store_host = HostAddress::V4(192, 168, 0, 1, 10911);
  EXPECT_EQ(CreateMessageId(store_host, 1073741824),
            "C0A8000100002A9F0000000040000000");
  ASSERT_OK_AND_ASSIGN(MessageIdParts parts,
                       DecodeMessageId("C0A8000100002A9F0000000040000000"));
  EXPECT_EQ(parts.store_host, store_host);
  EXPECT_EQ(parts.phys_offset, 1073741824);
}

TEST(MessageIdTest, DecodeAcceptsLowercase) {
  ASSERT_OK_AND_ASSIGN(MessageIdParts parts,
                       DecodeMessageId("c0a8000100002a9f0000000040000000"));
  EXPECT_EQ(parts.phys_offset, 1073741824);
}

TEST(MessageIdTest, V6RoundTrip) {
  ASSERT_OK_AND_ASSIGN(HostAddress h, HostAddress::Parse("[fd00::1]:10911"));
  const std::string id = CreateMessageId(h, 0x0123456789ABCDEF);
  EXPECT_EQ(id,
            "FD000000000000000000000000000001"
            "00002A9F"
            "0123456789ABCDEF");
  ASSERT_OK_AND_ASSIGN(MessageIdParts parts, DecodeMessageId(id));
  EXPECT_EQ(parts.store_host, h);
  EXPECT_EQ(parts.phys_offset, 0x0123456789ABCDEF);
}

TEST(MessageIdTest, DecodeRejectsBadLengthOrChars) {
  EXPECT_FALSE(DecodeMessageId("").ok());
  EXPECT_FALSE(DecodeMessageId("C0A8000100002A9F000000004000000").ok());
  EXPECT_FALSE(DecodeMessageId("C0A8000100002A9F00000000400000000").ok());
  EXPECT_FALSE(DecodeMessageId("G0A8000100002A9F0000000040000000").ok());
}

}  // namespace
}  // namespace thruster::message
