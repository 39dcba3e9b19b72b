#include "common/coding.h"

#include <gtest/gtest.h>

namespace thruster {
namespace {

TEST(CodingTest, StoresBigEndian) {
  unsigned char buf[8];
  StoreI32(buf, -626843481);  // the v1 magic code
  EXPECT_EQ(buf[0], 0xDA);
  EXPECT_EQ(buf[1], 0xA3);
  EXPECT_EQ(buf[2], 0x20);
  EXPECT_EQ(buf[3], 0xA7);
  EXPECT_EQ(LoadI32(buf), -626843481);
  StoreI64(buf, 1073741824);
  EXPECT_EQ(buf[4], 0x40);
  EXPECT_EQ(LoadI64(buf), 1073741824);
}

TEST(CodingTest, ReaderStopsAtEnd) {
  std::string s;
  ByteWriter w(&s);
  w.I16(7);
  w.I32(-1);
  ByteReader r(s);
  EXPECT_EQ(r.I16(), 7);
  EXPECT_EQ(r.I32(), -1);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.I64(), 0);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace thruster
