#include "message/properties.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "message/find_properties.h"
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

TEST(PropertiesTest, AppendWritesOnePairAsEncodeDoes) {
  std::string props;
  AppendProperty(&props, "TAGS", "TagA");
  EXPECT_EQ(props, EncodeProperties({{"TAGS", "TagA"}}));
  AppendProperty(&props, "KEYS", "k1 k2");
  EXPECT_EQ(props, P("TAGS|TagA;KEYS|k1 k2;"));
  EXPECT_THAT(ParseProperties(props),
              ElementsAre(Pair("KEYS", "k1 k2"), Pair("TAGS", "TagA")));
}

TEST(PropertiesTest, AppendLeavesOutEmptyNamesAndValues) {
  std::string props = P("A|1;");
  AppendProperty(&props, "B", "");
  AppendProperty(&props, "", "2");
  EXPECT_EQ(props, P("A|1;"));
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

TEST(PropertiesTest, FindPropertiesAgreesWithFindProperty) {
  const std::vector<std::string> inputs = {
      P("KEYS|k1 k2;TAGS|TagA;A|1;A|2;E|;TAGSX|no"),
      P("TAGS|x;TAGS|;TAGS|y|z;UNIQ_KEY|u1;KEYS|;;|v;DELAY|3"),
      P("TAGS"),
      P("|TAGS;TAGS|;KEYS;UNIQ_KEY|a;UNIQ_KEY|b;"),
      P("WAIT|true;UNIQ_KEY|C0A8;TAGS|t"),
      "",
      P(";;;"),
  };
  const std::vector<std::string_view> names = {
      "TAGS", "KEYS", "UNIQ_KEY", "DELAY", "A", "E|x", "", "TAGSX"};
  const std::string sep_name = P("E|x");
  std::vector<std::string_view> with_sep = names;
  with_sep[5] = sep_name;  // a name holding the separator never matches
  for (const std::string& s : inputs) {
    std::vector<std::optional<std::string_view>> values(with_sep.size(),
                                                        "stale");
    FindProperties(s, with_sep, values);
    for (size_t i = 0; i < with_sep.size(); ++i)
      EXPECT_EQ(values[i], FindProperty(s, with_sep[i]))
          << "name " << with_sep[i] << " in " << s;
  }
  std::optional<std::string_view> v[3];
  const std::string_view three[] = {"TAGS", "KEYS", "UNIQ_KEY"};
  const std::string props = P("UNIQ_KEY|u;KEYS|k;TAGS|t");
  FindProperties(props, three, v);
  EXPECT_EQ(v[0], "t");
  EXPECT_EQ(v[1], "k");
  EXPECT_EQ(v[2], "u");
}

}  // namespace
}  // namespace thruster::message
