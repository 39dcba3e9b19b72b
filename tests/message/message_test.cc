#include "message/message.h"

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

TEST(JHashTest, MatchesSpecVectors) {
  // Store spec §0.
  EXPECT_EQ(JHash("TagA"), 2598919);
  EXPECT_EQ(JHash("T#order-1"), -1840611261);
  EXPECT_EQ(JHash(""), 0);
  EXPECT_EQ(JHash("SampleTopicA"), 301082460);
}

TEST(JHashTest, HashesUtf16CodeUnits) {
  // Values from Java's String.hashCode.
  EXPECT_EQ(JHash("\xC3\xA9"), 233);              // U+00E9
  EXPECT_EQ(JHash("\xE2\x82\xAC"), 8364);         // U+20AC
  EXPECT_EQ(JHash("\xF0\x9F\x98\x80"), 1772899);  // U+1F600 = D83D DE00
  EXPECT_EQ(JHash("h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x98\x80 "
                  "\xE4\xB8\xAD\xE6\x96\x87"),
            -1594553648);
}

TEST(JHashTest, MalformedUtf8HashesAsReplacementChar) {
  // Java decodes each malformed sequence to U+FFFD.
  EXPECT_EQ(JHash("\xFF"), 0xFFFD);
  EXPECT_EQ(JHash("\xC3"), 0xFFFD);
  EXPECT_EQ(JHash("\xE2\x82"), 0xFFFD);
  EXPECT_EQ(JHash("\xC3"
                  "A"),
            31 * 0xFFFD + 'A');
  EXPECT_EQ(JHash("\xED\xA0\x80"),
            (31 * 0xFFFD + 0xFFFD) * 31 + 0xFFFD);  // encoded surrogate
}

TEST(TagsCodeTest, HashOfTagsOrZero) {
  EXPECT_EQ(TagsCode("TagA"), 0x27A807);
  EXPECT_EQ(TagsCode("T#order-1"), -1840611261);  // sign-extended
  EXPECT_EQ(TagsCode(std::nullopt), 0);
  EXPECT_EQ(TagsCode(""), 0);
}

}  // namespace
}  // namespace thruster::message
