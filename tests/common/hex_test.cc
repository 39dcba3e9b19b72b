#include "common/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace thruster {
namespace {

TEST(HexTest, WritesTwoDigitsPerByteMostSignificantFirst) {
  const uint8_t bytes[] = {0x00, 0x0A, 0x7F, 0xC0, 0xFF};
  char out[10];
  WriteHexUpper(bytes, sizeof(bytes), out);
  EXPECT_EQ(std::string(out, sizeof(out)), "000A7FC0FF");
  WriteHex(bytes, sizeof(bytes), out, HexCase::kLower);
  EXPECT_EQ(std::string(out, sizeof(out)), "000a7fc0ff");
  EXPECT_EQ(HexUpper(std::string_view("\x01\xab", 2)), "01AB");
  EXPECT_EQ(HexUpper(""), "");
}

TEST(HexTest, DigitValuesInEitherCase) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('/'), -1);
  EXPECT_EQ(HexDigitValue(':'), -1);
}

TEST(HexTest, ReadHexRoundTripsAndRejectsBadText) {
  uint8_t out[4] = {};
  ASSERT_TRUE(ReadHex("0aFf10c7", out));
  EXPECT_EQ(out[0], 0x0A);
  EXPECT_EQ(out[1], 0xFF);
  EXPECT_EQ(out[2], 0x10);
  EXPECT_EQ(out[3], 0xC7);
  EXPECT_EQ(HexUpper(std::string_view(reinterpret_cast<char*>(out), 4)),
            "0AFF10C7");
  EXPECT_FALSE(ReadHex("abc", out));   // odd length
  EXPECT_FALSE(ReadHex("0x12", out));  // not a digit
  EXPECT_TRUE(ReadHex("", out));
}

}  // namespace
}  // namespace thruster
