#include "message/message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "message/host_address.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

using Props = std::map<std::string, std::string, std::less<>>;

// Builds a properties string from pieces; '|' stands for 0x01 and ';' for 0x02
// to keep tests readable.
std::string P(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '|') c = kNameValueSeparator;
    if (c == ';') c = kPropertySeparator;
  }
  return out;
}

TEST(HostAddressTest, V4ToStringAndParseRoundTrip) {
  const HostAddress h = HostAddress::V4(192, 168, 0, 1, 10911);
  EXPECT_EQ(h.ToString(), "192.168.0.1:10911");
  EXPECT_EQ(h.size(), 8);
  ASSERT_OK_AND_ASSIGN(HostAddress parsed,
                       HostAddress::Parse("192.168.0.1:10911"));
  EXPECT_EQ(parsed, h);
}

TEST(HostAddressTest, V6ParseAndToString) {
  ASSERT_OK_AND_ASSIGN(HostAddress h, HostAddress::Parse("[::1]:10911"));
  EXPECT_TRUE(h.v6);
  EXPECT_EQ(h.size(), 20);
  EXPECT_EQ(h.port, 10911);
  EXPECT_EQ(h.ip[15], 1);
  EXPECT_EQ(h.ToString(), "[::1]:10911");
  ASSERT_OK_AND_ASSIGN(HostAddress h2, HostAddress::Parse("[fd00::2:1]:0"));
  EXPECT_EQ(h2.ip[0], 0xFD);
  EXPECT_EQ(h2.ToString(), "[fd00::2:1]:0");
}

TEST(HostAddressTest, ParseRejectsMalformedInput) {
  for (std::string_view bad :
       {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:65536", "1.2.3.4:-1",
        "1.2.3:80", "[::1:80", "::1:80", "[]:80", "[1.2.3.4]:80", ":80",
        "256.1.1.1:80"}) {
    EXPECT_FALSE(HostAddress::Parse(bad).ok()) << bad;
  }
}

TEST(PropertiesTest, EncodeWritesSeparatorAfterEveryPair) {
  // Spec §2.3: TAGS=TagA encodes to 54 41 47 53 01 54 61 67 41 02.
  EXPECT_EQ(EncodeProperties({{"TAGS", "TagA"}}),
            std::string("TAGS\x01TagA\x02"));
  EXPECT_EQ(EncodeProperties({{"A", "1"}, {"B", "2"}}), P("A|1;B|2;"));
}

TEST(PropertiesTest, EncodeSkipsEmptyValues) {
  EXPECT_EQ(EncodeProperties({{"A", ""}, {"B", "2"}}), P("B|2;"));
  EXPECT_EQ(EncodeProperties({}), "");
}

TEST(PropertiesTest, ParseRoundTripsEncode) {
  const Props props = {
      {"KEYS", "key-1 order-0"}, {"TAGS", "TagA"}, {"UNIQ_KEY", "ABC"}};
  EXPECT_EQ(ParseProperties(EncodeProperties(props)), props);
}

TEST(PropertiesTest, ParseAcceptsMissingTrailingSeparator) {
  // RocketMQ 4.9.8 stores no 0x02 after the last pair; 5.x does.
  EXPECT_THAT(ParseProperties(P("A|1;B|2")),
              ElementsAre(Pair("A", "1"), Pair("B", "2")));
  EXPECT_THAT(ParseProperties(P("A|1;B|2;")),
              ElementsAre(Pair("A", "1"), Pair("B", "2")));
}

TEST(PropertiesTest, ParseDropsEmptyNamesAndValues) {
  EXPECT_THAT(ParseProperties(P("A|;B|2;|3;|;C|3")),
              ElementsAre(Pair("B", "2"), Pair("C", "3")));
}

TEST(PropertiesTest, ParseIgnoresShortSegments) {
  // "A|" and "|" are under 3 bytes; so is "AB" (no separator either).
  EXPECT_THAT(ParseProperties(P("A|;|;AB;;;X|1")), ElementsAre(Pair("X", "1")));
  // A 3-byte segment without 0x01 is dropped as well.
  EXPECT_THAT(ParseProperties(P("ABC;X|1")), ElementsAre(Pair("X", "1")));
  EXPECT_TRUE(ParseProperties("").empty());
  EXPECT_TRUE(ParseProperties(P(";;;")).empty());
}

TEST(PropertiesTest, ParseLaterDuplicateWins) {
  EXPECT_THAT(ParseProperties(P("A|1;B|2;A|3;")),
              ElementsAre(Pair("A", "3"), Pair("B", "2")));
  // An invalid later duplicate does not erase the earlier value.
  EXPECT_THAT(ParseProperties(P("A|1;A|;")), ElementsAre(Pair("A", "1")));
}

TEST(PropertiesTest, ParseSplitsAtFirstNameValueSeparator) {
  EXPECT_THAT(ParseProperties(P("A|b|c;")), ElementsAre(Pair("A", P("b|c"))));
}

TEST(PropertiesTest, FindPropertyMatchesParse) {
  const std::string s = P("KEYS|k1 k2;TAGS|TagA;A|1;A|2;E|;TAGSX|no");
  EXPECT_EQ(FindProperty(s, "KEYS"), "k1 k2");
  EXPECT_EQ(FindProperty(s, "TAGS"), "TagA");
  EXPECT_EQ(FindProperty(s, "A"), "2");
  EXPECT_EQ(FindProperty(s, "E"), std::nullopt);
  EXPECT_EQ(FindProperty(s, "TAG"), std::nullopt);
  EXPECT_EQ(FindProperty(s, "no"), std::nullopt);
  EXPECT_EQ(FindProperty("", "A"), std::nullopt);
  for (const auto& [name, value] : ParseProperties(s))
    EXPECT_EQ(FindProperty(s, name), value);
}

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
