// The SQL92 property filter's compiler and evaluator.
#include "broker/filter/sql_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "message/properties.h"

namespace thruster::broker::filter {
namespace {

using ::testing::HasSubstr;
using Props = std::map<std::string, std::string, std::less<>>;

class SqlFilterTest : public ::testing::Test {
 protected:
  // Whether `sql` matches a message with `props`; fails the test when `sql`
  // does not compile.
  static bool Match(const std::string& sql, const Props& props) {
    Result<std::shared_ptr<const SqlExpression>> e =
        SqlExpression::Compile(sql);
    EXPECT_TRUE(e.ok()) << sql << ": " << e.status().ToString();
    if (!e.ok()) return false;
    return (*e)->MatchesProperties(message::EncodeProperties(props));
  }
  static std::string CompileError(const std::string& sql) {
    Result<std::shared_ptr<const SqlExpression>> e =
        SqlExpression::Compile(sql);
    EXPECT_FALSE(e.ok()) << sql << " compiled";
    return e.ok() ? "" : std::string(e.status().message());
  }
};

TEST_F(SqlFilterTest, ComparisonsOnNumericProperties) {
  const Props p{{"a", "5"}, {"f", "2.5"}, {"neg", "-3"}};
  EXPECT_TRUE(Match("a = 5", p));
  EXPECT_FALSE(Match("a = 6", p));
  EXPECT_TRUE(Match("a <> 6", p));
  EXPECT_TRUE(Match("a > 4", p));
  EXPECT_FALSE(Match("a > 5", p));
  EXPECT_TRUE(Match("a >= 5", p));
  EXPECT_TRUE(Match("a < 5.5", p));
  EXPECT_TRUE(Match("a <= 5", p));
  EXPECT_TRUE(Match("f > 2", p));
  EXPECT_TRUE(Match("f < 2.6", p));
  EXPECT_TRUE(Match("neg < -2", p));
  EXPECT_TRUE(Match("neg = -3", p));
  EXPECT_TRUE(Match("a = 5.0", p));
  EXPECT_TRUE(Match("1e1 > a", p));
}

TEST_F(SqlFilterTest, StringEqualityAndIn) {
  const Props p{{"color", "red"}, {"quote", "it's"}};
  EXPECT_TRUE(Match("color = 'red'", p));
  EXPECT_FALSE(Match("color = 'Red'", p));
  EXPECT_TRUE(Match("color <> 'blue'", p));
  EXPECT_TRUE(Match("quote = 'it''s'", p));
  EXPECT_TRUE(Match("color IN ('blue', 'red')", p));
  EXPECT_FALSE(Match("color IN ('blue')", p));
  EXPECT_TRUE(Match("color NOT IN ('blue', 'green')", p));
  EXPECT_FALSE(Match("color not in ('red')", p));
  // A non-numeric text is never equal to a number.
  EXPECT_FALSE(Match("color = 5", p));
}

TEST_F(SqlFilterTest, BetweenIsInclusive) {
  for (const char* v : {"0", "3"}) {
    EXPECT_TRUE(Match("a BETWEEN 0 AND 3", {{"a", v}})) << v;
  }
  EXPECT_FALSE(Match("a BETWEEN 0 AND 3", {{"a", "4"}}));
  EXPECT_TRUE(Match("a NOT BETWEEN 0 AND 3", {{"a", "4"}}));
  EXPECT_FALSE(Match("a not between 0 and 3", {{"a", "2"}}));
}

TEST_F(SqlFilterTest, MissingPropertiesAreNullAndUnknown) {
  const Props none;
  EXPECT_TRUE(Match("a IS NULL", none));
  EXPECT_FALSE(Match("a IS NOT NULL", none));
  EXPECT_TRUE(Match("a IS NOT NULL", {{"a", "1"}}));
  // Comparisons with NULL are unknown: neither they nor their negation match.
  EXPECT_FALSE(Match("a = 1", none));
  EXPECT_FALSE(Match("NOT (a = 1)", none));
  EXPECT_FALSE(Match("a > 1", none));
  EXPECT_FALSE(Match("a BETWEEN 1 AND 2", none));
  EXPECT_FALSE(Match("a NOT BETWEEN 1 AND 2", none));
  EXPECT_FALSE(Match("a IN ('x')", none));
  EXPECT_FALSE(Match("a NOT IN ('x')", none));
  // Three-valued AND/OR: unknown OR true is true, unknown AND false is false.
  EXPECT_TRUE(Match("a = 1 OR TRUE", none));
  EXPECT_FALSE(Match("NOT (a = 1 AND FALSE) AND a = 1", none));
  EXPECT_TRUE(Match("NOT (a = 1 AND FALSE)", none));
  EXPECT_FALSE(Match("a = 1 OR FALSE", none));
}

TEST_F(SqlFilterTest, LogicAndPrecedence) {
  const Props p{{"a", "1"}, {"b", "x"}};
  EXPECT_TRUE(Match("a = 1 AND b = 'x'", p));
  EXPECT_FALSE(Match("a = 2 AND b = 'x'", p));
  EXPECT_TRUE(Match("a = 2 OR b = 'x'", p));
  // AND binds tighter than OR.
  EXPECT_TRUE(Match("a = 1 OR a = 2 AND b = 'y'", p));
  EXPECT_FALSE(Match("(a = 1 OR a = 2) AND b = 'y'", p));
  EXPECT_TRUE(Match("NOT a = 2", p));
  EXPECT_TRUE(Match("not (a = 2) and (b = 'x')", p));
  EXPECT_TRUE(Match("TRUE", p));
  EXPECT_FALSE(Match("FALSE", p));
}

TEST_F(SqlFilterTest, NonNumericTextInANumericComparisonNeverMatches) {
  // RocketMQ's evaluator fails on it, so the message is filtered out even
  // under NOT or OR.
  const Props p{{"a", "abc"}};
  EXPECT_FALSE(Match("a > 1", p));
  EXPECT_FALSE(Match("NOT (a > 1)", p));
  EXPECT_FALSE(Match("a > 1 OR TRUE", p));
}

TEST_F(SqlFilterTest, BadExpressionsAreCompileErrors) {
  EXPECT_THAT(CompileError(""), HasSubstr("empty"));
  EXPECT_THAT(CompileError("a >"), HasSubstr("expected a property or a value"));
  EXPECT_THAT(CompileError("a > 'x'"), HasSubstr("cannot be compared"));
  EXPECT_THAT(CompileError("a > TRUE"), HasSubstr("cannot be compared"));
  EXPECT_THAT(CompileError("a = NULL"), HasSubstr("IS NULL"));
  EXPECT_THAT(CompileError("a BETWEEN 5 AND 1"), HasSubstr("lower bound"));
  EXPECT_THAT(CompileError("a IN (1, 2)"), HasSubstr("string literals"));
  EXPECT_THAT(CompileError("a"), HasSubstr("not a condition"));
  EXPECT_THAT(CompileError("a = 1 AND b"), HasSubstr("not a condition"));
  EXPECT_THAT(CompileError("a = 'x"), HasSubstr("unterminated"));
  EXPECT_THAT(CompileError("(a = 1"), HasSubstr("')'"));
  EXPECT_THAT(CompileError("a = 1 b = 2"), HasSubstr("unexpected"));
  EXPECT_THAT(CompileError("a # 1"), HasSubstr("unexpected character"));
  EXPECT_THAT(CompileError("a IS 1"), HasSubstr("NULL"));
  // The message says where.
  EXPECT_THAT(CompileError("a = 1 AND b >"), HasSubstr("position 13"));
}

TEST_F(SqlFilterTest, CacheCompilesOncePerSubscription) {
  SqlFilterCache cache;
  auto a = cache.Get("G", "T", "a > 1");
  auto b = cache.Get("G", "T", "a > 1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  auto other = cache.Get("G2", "T", "a > 1");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(a->get(), other->get());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Get("G", "T", "a >").ok());
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace thruster::broker::filter
