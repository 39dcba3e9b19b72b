#include "common/crc32.h"

#include <gtest/gtest.h>

namespace thruster {
namespace {

TEST(Crc32Test, MatchesSpecVector) {
  // store spec §0: crc32r("hello") = 0x3610A686.
  EXPECT_EQ(Crc32R(std::string_view("hello")), 0x3610A686);
  EXPECT_EQ(Crc32(std::string_view("123456789").data(), 9), 0xCBF43926u);
}

TEST(Crc32Test, NeverNegative) {
  // 0xFFFFFFFF & 0x7FFFFFFF: a raw CRC with the top bit set loses it.
  std::string s(1000, 'x');
  for (int i = 0; i < 256; ++i) {
    s[0] = static_cast<char>(i);
    EXPECT_GE(Crc32R(std::string_view(s)), 0);
  }
}

}  // namespace
}  // namespace thruster
