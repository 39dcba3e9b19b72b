#include "message/message.h"

#include <gtest/gtest.h>

#include <string>

#include "message/jhash.h"
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

// Java's String.hashCode, straight from its definition over UTF-16 code units.
int32_t JavaHashOfUtf16(std::u16string_view s) {
  uint32_t h = 0;
  for (char16_t c : s) h = 31 * h + c;
  return static_cast<int32_t>(h);
}

TEST(JHashTest, LongMixedStringsMatchJavaAtEveryAlignment) {
  // JHash takes ASCII four bytes at a time: the same string with 0..7 ASCII
  // bytes in front puts every other character at every alignment.
  const std::string utf8 =
      "IrPerMessage#C0A80A0B00002A9F0000000000000001 h\xC3\xA9llo "
      "w\xC3\xB6rld \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87 tail";
  const std::u16string utf16 =
      u"IrPerMessage#C0A80A0B00002A9F0000000000000001 h\u00E9llo "
      u"w\u00F6rld \U0001F600 \u4E2D\u6587 tail";
  for (size_t pad = 0; pad < 8; ++pad) {
    const std::string a = std::string(pad, 'x') + utf8;
    const std::u16string w = std::u16string(pad, u'x') + utf16;
    EXPECT_EQ(JHash(a), JavaHashOfUtf16(w)) << "pad " << pad;
    // Every prefix that ends between characters too: the four-byte steps
    // then end at every position. `units` counts the UTF-16 code units of
    // the prefix (a 4-byte sequence is two).
    size_t units = 0;
    for (size_t len = 0; len <= a.size(); ++len) {
      const auto b = len < a.size() ? static_cast<uint8_t>(a[len]) : 0;
      if (len < a.size() && (b & 0xC0) == 0x80) continue;  // inside one
      EXPECT_EQ(JHash(a.substr(0, len)), JavaHashOfUtf16(w.substr(0, units)))
          << "pad " << pad << ", first " << len << " bytes";
      units += b >= 0xF0 ? 2 : 1;
    }
  }
}

TEST(JHashTest, ContinueEqualsHashOfTheWholeString) {
  const std::string s =
      "Topic\xC3\xA9#key-0123456789 \xF0\x9F\x98\x80 and more text";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    // A cut inside a UTF-8 sequence is outside the promise.
    if (cut < s.size() && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80)
      continue;
    EXPECT_EQ(JHashContinue(JHash(s.substr(0, cut)), s.substr(cut)), JHash(s))
        << "cut at " << cut;
  }
  // A malformed tail before an ASCII byte: the replacement char, then the
  // ASCII, either way.
  EXPECT_EQ(JHashContinue(JHash("T\xC3"), "#k"), JHash("T\xC3#k"));
  EXPECT_EQ(JHashContinue(JHash("T\xE2\x82"), "#k"), JHash("T\xE2\x82#k"));
}

TEST(TagsCodeTest, HashOfTagsOrZero) {
  EXPECT_EQ(TagsCode("TagA"), 0x27A807);
  EXPECT_EQ(TagsCode("T#order-1"), -1840611261);  // sign-extended
  EXPECT_EQ(TagsCode(std::nullopt), 0);
  EXPECT_EQ(TagsCode(""), 0);
}

}  // namespace
}  // namespace thruster::message
