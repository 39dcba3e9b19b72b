#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "common/mutex.h"
#include "common/result.h"
#include "store/message_store.h"

// RocketMQ's SQL92 property filter (subscriptions with expressionType SQL92,
// broker setting enablePropertyFilter): the subset RocketMQ's selector
// grammar accepts, compiled once into a tree and evaluated against a
// message's properties at pull time.
//
//   expr       := or
//   or         := and (OR and)*
//   and        := not (AND not)*
//   not        := NOT not | predicate
//   predicate  := operand [ (= | <> | < | <= | > | >=) operand
//                         | [NOT] BETWEEN operand AND operand
//                         | [NOT] IN ( 'str' [, 'str']* )
//                         | IS [NOT] NULL ]
//   operand    := property | number | 'string' | TRUE | FALSE | NULL | ( expr )
//
// Keywords are case-insensitive; strings are single-quoted ('' is a quote);
// numbers are decimal integers (64-bit) or decimals/exponents (double), with
// an optional sign. Properties are names of letters, digits, '_', '$' and '.',
// not starting with a digit.
//
// Semantics, as RocketMQ's evaluator: a property is its text, or NULL when the
// message does not have it. Comparisons with a NULL operand are NULL
// (unknown), and NOT/AND/OR use SQL's three-valued logic; a message matches
// only when the whole expression is TRUE. <, <=, >, >= and BETWEEN compare
// numbers: a property whose text is not a number makes them false. = and <>
// compare strings with strings and numbers with numbers (a property's text is
// read as a number when compared with a number literal). IN lists are strings.
// Compile errors as RocketMQ's: a string, boolean or NULL literal as an
// operand of <, <=, >, >= (and BETWEEN); NULL as an operand of = or <>; a
// constant BETWEEN whose lower bound is above its upper bound; a non-boolean
// expression.
namespace thruster::broker::filter {

// Returns the text of a message property, or nullopt when it is absent.
using PropertyLookup =
    std::function<std::optional<std::string_view>(std::string_view name)>;

class SqlExpression {
 public:
  struct Node;
  // Compiles `text`; InvalidArgument saying what and where is wrong.
  static Result<std::shared_ptr<const SqlExpression>> Compile(
      std::string_view text);
  ~SqlExpression();

  // True when the expression is TRUE for these properties.
  bool Matches(const PropertyLookup& lookup) const;
  // Matches() over an encoded properties string (store spec §2.3).
  bool MatchesProperties(std::string_view properties) const;
  const std::string& text() const { return text_; }

 private:
  SqlExpression(std::string text, std::unique_ptr<Node> root);
  std::string text_;
  std::unique_ptr<Node> root_;
};

// Compiled expressions per (consumer group, topic, expression text), so a
// pull compiles a subscription once. Thread-safe.
class SqlFilterCache {
 public:
  // The compiled expression, compiling it on first use; the compile error
  // otherwise (not cached: a client that fixes its expression sends new text).
  Result<std::shared_ptr<const SqlExpression>> Get(std::string_view group,
                                                   std::string_view topic,
                                                   std::string_view text);
  size_t size() const;

 private:
  // Bounded: a client changing its expression forever cannot grow the broker.
  static constexpr size_t kMaxEntries = 4096;
  mutable Mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>,
           std::shared_ptr<const SqlExpression>>
      cache_ TH_GUARDED_BY(mu_);
};

// Drops the records of a FOUND pull result whose properties do not match
// `expr`; when none is left the result becomes NO_MATCHED_MESSAGE (the client
// pulls again from next_begin_offset at once, as after a tag-filtered empty
// range).
void ApplySqlFilter(const SqlExpression& expr, store::GetMessageResult* result);

}  // namespace thruster::broker::filter
