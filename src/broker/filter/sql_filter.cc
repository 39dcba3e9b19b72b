#include "broker/filter/sql_filter.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "message/commit_log_format.h"
#include "message/properties.h"

namespace thruster::broker::filter {
// Not in the anonymous namespace: SqlExpression::Node, declared in the header, holds one.
namespace sql_eval {

// A value during evaluation. kError stands for RocketMQ's evaluation
// exception (a non-numeric text in a numeric comparison): the whole message
// does not match, whatever surrounds it.
struct Value {
  enum class Kind { kNull, kBool, kLong, kDouble, kString, kError };
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t l = 0;
  double d = 0;
  std::string_view s;

  static Value Null() { return {}; }
  static Value Error() {
    Value x;
    x.kind = Kind::kError;
    return x;
  }
  static Value Bool(bool v) {
    Value x;
    x.kind = Kind::kBool;
    x.b = v;
    return x;
  }
  bool numeric() const { return kind == Kind::kLong || kind == Kind::kDouble; }
  double AsDouble() const {
    return kind == Kind::kLong ? static_cast<double>(l) : d;
  }
};

}  // namespace sql_eval
namespace {

using sql_eval::Value;

// Reads a whole string as a number (integer first, then decimal); nullopt
// when it is not one.
std::optional<Value> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  Value v;
  {
    std::string_view t = s;
    if (t.front() == '+') t.remove_prefix(1);
    int64_t l = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), l);
    if (ec == std::errc() && p == t.data() + t.size() && !t.empty()) {
      v.kind = Value::Kind::kLong;
      v.l = l;
      return v;
    }
  }
  const std::string copy(s);
  char* end = nullptr;
  const double d = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() ||
      std::isspace(static_cast<unsigned char>(copy.front())))
    return std::nullopt;
  v.kind = Value::Kind::kDouble;
  v.d = d;
  return v;
}

// <0, 0, >0 for two numbers.
int CompareNumbers(const Value& a, const Value& b) {
  if (a.kind == Value::Kind::kLong && b.kind == Value::Kind::kLong)
    return a.l < b.l ? -1 : (a.l > b.l ? 1 : 0);
  const double x = a.AsDouble(), y = b.AsDouble();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Brings a string operand facing a number to a number; nullopt if it is not
// one.
std::optional<std::pair<Value, Value>> AsNumbers(const Value& a,
                                                 const Value& b) {
  Value x = a, y = b;
  if (x.kind == Value::Kind::kString && y.numeric()) {
    std::optional<Value> n = ParseNumber(x.s);
    if (!n) return std::nullopt;
    x = *n;
  } else if (y.kind == Value::Kind::kString && x.numeric()) {
    std::optional<Value> n = ParseNumber(y.s);
    if (!n) return std::nullopt;
    y = *n;
  } else if (x.kind == Value::Kind::kString && y.kind == Value::Kind::kString) {
    std::optional<Value> nx = ParseNumber(x.s), ny = ParseNumber(y.s);
    if (!nx || !ny) return std::nullopt;
    x = *nx;
    y = *ny;
  }
  if (!x.numeric() || !y.numeric()) return std::nullopt;
  return std::make_pair(x, y);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

struct SqlExpression::Node {
  enum class Op {
    kLiteral,
    kProperty,
    kAnd,
    kOr,
    kNot,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kBetween,
    kNotBetween,
    kIn,
    kNotIn,
    kIsNull,
    kIsNotNull,
  };
  Op op = Op::kLiteral;
  Value literal;                  // kLiteral (its string lives in `text`)
  std::string text;               // kLiteral string, kProperty name
  std::vector<std::string> list;  // kIn / kNotIn
  std::unique_ptr<Node> a, b, c;

  bool IsBoolean() const {
    switch (op) {
      case Op::kLiteral:
        return literal.kind == Value::Kind::kBool;
      case Op::kProperty:
        return false;
      default:
        return true;
    }
  }
  bool IsConstant() const { return op == Op::kLiteral; }

  Value Eval(const PropertyLookup& lookup) const;
};

namespace {

using Node = SqlExpression::Node;
using Op = Node::Op;

Value Equal(const Value& x, const Value& y) {
  if (x.kind == Value::Kind::kError || y.kind == Value::Kind::kError)
    return Value::Error();
  const bool xn = x.kind == Value::Kind::kNull;
  const bool yn = y.kind == Value::Kind::kNull;
  if (xn && yn) return Value::Bool(true);
  if (xn) return Value::Null();
  if (yn) return Value::Bool(false);
  if (x.kind == Value::Kind::kString && y.kind == Value::Kind::kString)
    return Value::Bool(x.s == y.s);
  if (x.kind == Value::Kind::kBool || y.kind == Value::Kind::kBool)
    return Value::Bool(x.kind == y.kind && x.b == y.b);
  std::optional<std::pair<Value, Value>> n = AsNumbers(x, y);
  if (!n) return Value::Bool(false);
  return Value::Bool(CompareNumbers(n->first, n->second) == 0);
}

// `want` tells which orderings make it true.
Value Relational(const Value& x, const Value& y, bool lt, bool eq, bool gt) {
  if (x.kind == Value::Kind::kError || y.kind == Value::Kind::kError)
    return Value::Error();
  if (x.kind == Value::Kind::kNull || y.kind == Value::Kind::kNull)
    return Value::Null();
  std::optional<std::pair<Value, Value>> n = AsNumbers(x, y);
  if (!n) return Value::Error();
  const int c = CompareNumbers(n->first, n->second);
  return Value::Bool((c < 0 && lt) || (c == 0 && eq) || (c > 0 && gt));
}

Value Not(const Value& v) {
  if (v.kind != Value::Kind::kBool) return v;  // NULL or error stays
  return Value::Bool(!v.b);
}

}  // namespace

Value Node::Eval(const PropertyLookup& lookup) const {
  switch (op) {
    case Op::kLiteral: {
      Value v = literal;
      if (v.kind == Value::Kind::kString) v.s = text;
      return v;
    }
    case Op::kProperty: {
      std::optional<std::string_view> p = lookup(text);
      if (!p) return Value::Null();
      Value v;
      v.kind = Value::Kind::kString;
      v.s = *p;
      return v;
    }
    case Op::kAnd: {
      const Value l = a->Eval(lookup);
      if (l.kind == Value::Kind::kError) return l;
      if (l.kind == Value::Kind::kBool && !l.b) return Value::Bool(false);
      const Value r = b->Eval(lookup);
      if (r.kind == Value::Kind::kError) return r;
      if (r.kind == Value::Kind::kBool && !r.b) return Value::Bool(false);
      if (l.kind != Value::Kind::kBool || r.kind != Value::Kind::kBool)
        return Value::Null();
      return Value::Bool(true);
    }
    case Op::kOr: {
      const Value l = a->Eval(lookup);
      if (l.kind == Value::Kind::kError) return l;
      if (l.kind == Value::Kind::kBool && l.b) return Value::Bool(true);
      const Value r = b->Eval(lookup);
      if (r.kind == Value::Kind::kError) return r;
      if (r.kind == Value::Kind::kBool && r.b) return Value::Bool(true);
      if (l.kind != Value::Kind::kBool || r.kind != Value::Kind::kBool)
        return Value::Null();
      return Value::Bool(false);
    }
    case Op::kNot:
      return Not(a->Eval(lookup));
    case Op::kEq:
      return Equal(a->Eval(lookup), b->Eval(lookup));
    case Op::kNe:
      return Not(Equal(a->Eval(lookup), b->Eval(lookup)));
    case Op::kLt:
      return Relational(a->Eval(lookup), b->Eval(lookup), true, false, false);
    case Op::kLe:
      return Relational(a->Eval(lookup), b->Eval(lookup), true, true, false);
    case Op::kGt:
      return Relational(a->Eval(lookup), b->Eval(lookup), false, false, true);
    case Op::kGe:
      return Relational(a->Eval(lookup), b->Eval(lookup), false, true, true);
    case Op::kBetween:
    case Op::kNotBetween: {
      const Value v = a->Eval(lookup);
      const Value lo = Relational(v, b->Eval(lookup), false, true, true);
      if (lo.kind == Value::Kind::kError) return lo;
      const Value hi = Relational(v, c->Eval(lookup), true, true, false);
      if (hi.kind == Value::Kind::kError) return hi;
      Value both;
      if ((lo.kind == Value::Kind::kBool && !lo.b) ||
          (hi.kind == Value::Kind::kBool && !hi.b)) {
        both = Value::Bool(false);
      } else if (lo.kind == Value::Kind::kBool &&
                 hi.kind == Value::Kind::kBool) {
        both = Value::Bool(true);
      }
      return op == Op::kBetween ? both : Not(both);
    }
    case Op::kIn:
    case Op::kNotIn: {
      const Value v = a->Eval(lookup);
      if (v.kind == Value::Kind::kNull) return Value::Null();
      if (v.kind != Value::Kind::kString) return Value::Bool(false);
      const bool found = std::find(list.begin(), list.end(), v.s) != list.end();
      return Value::Bool(found != (op == Op::kNotIn));
    }
    case Op::kIsNull:
    case Op::kIsNotNull: {
      const bool null = a->Eval(lookup).kind == Value::Kind::kNull;
      return Value::Bool(null == (op == Op::kIsNull));
    }
  }
  return Value::Error();
}

namespace {

// Tokens of the selector language.
struct Token {
  enum class Kind {
    kEnd,
    kIdent,
    kNumber,
    kString,
    kOp,
    kLParen,
    kRParen,
    kComma
  };
  Kind kind = Kind::kEnd;
  std::string text;  // identifier/keyword, number text, unquoted string, op
  size_t pos = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    TH_RETURN_IF_ERROR(Lex());
    TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> root, ParseOr());
    if (Peek().kind != Token::Kind::kEnd)
      return Error("unexpected '" + Peek().text + "'", Peek().pos);
    if (!root->IsBoolean())
      return Status::InvalidArgument(
          "the expression is not a condition (it has no comparison)");
    return root;
  }

 private:
  static Status Error(const std::string& what, size_t pos) {
    return Status::InvalidArgument(what + " at position " +
                                   std::to_string(pos));
  }

  Status Lex() {
    size_t i = 0;
    while (i < in_.size()) {
      const char ch = in_[i];
      if (std::isspace(static_cast<unsigned char>(ch))) {
        ++i;
        continue;
      }
      Token t;
      t.pos = i;
      if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_' ||
          ch == '$') {
        size_t j = i;
        while (j < in_.size() &&
               (std::isalnum(static_cast<unsigned char>(in_[j])) ||
                in_[j] == '_' || in_[j] == '$' || in_[j] == '.'))
          ++j;
        t.kind = Token::Kind::kIdent;
        t.text = std::string(in_.substr(i, j - i));
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(ch)) ||
                 (ch == '.' && i + 1 < in_.size() &&
                  std::isdigit(static_cast<unsigned char>(in_[i + 1])))) {
        size_t j = i;
        while (
            j < in_.size() &&
            (std::isdigit(static_cast<unsigned char>(in_[j])) || in_[j] == '.'))
          ++j;
        if (j < in_.size() && (in_[j] == 'e' || in_[j] == 'E')) {
          size_t k = j + 1;
          if (k < in_.size() && (in_[k] == '+' || in_[k] == '-')) ++k;
          if (k < in_.size() &&
              std::isdigit(static_cast<unsigned char>(in_[k]))) {
            while (k < in_.size() &&
                   std::isdigit(static_cast<unsigned char>(in_[k])))
              ++k;
            j = k;
          }
        }
        // Java's long/float suffixes (L, F, D) are accepted and ignored.
        if (j < in_.size() && std::strchr("lLfFdD", in_[j]) != nullptr) ++j;
        t.kind = Token::Kind::kNumber;
        t.text = std::string(in_.substr(i, j - i));
        i = j;
      } else if (ch == '\'') {
        std::string s;
        size_t j = i + 1;
        bool closed = false;
        while (j < in_.size()) {
          if (in_[j] == '\'') {
            if (j + 1 < in_.size() && in_[j + 1] == '\'') {
              s.push_back('\'');
              j += 2;
              continue;
            }
            closed = true;
            ++j;
            break;
          }
          s.push_back(in_[j++]);
        }
        if (!closed) return Error("unterminated string", i);
        t.kind = Token::Kind::kString;
        t.text = std::move(s);
        i = j;
      } else if (ch == '(' || ch == ')' || ch == ',') {
        t.kind = ch == '('
                     ? Token::Kind::kLParen
                     : (ch == ')' ? Token::Kind::kRParen : Token::Kind::kComma);
        t.text = std::string(1, ch);
        ++i;
      } else if (ch == '=' || ch == '<' || ch == '>') {
        size_t len = 1;
        if (i + 1 < in_.size() &&
            ((ch == '<' && (in_[i + 1] == '=' || in_[i + 1] == '>')) ||
             (ch == '>' && in_[i + 1] == '=')))
          len = 2;
        t.kind = Token::Kind::kOp;
        t.text = std::string(in_.substr(i, len));
        i += len;
      } else if (ch == '-' || ch == '+') {
        t.kind = Token::Kind::kOp;
        t.text = std::string(1, ch);
        ++i;
      } else {
        return Error(std::string("unexpected character '") + ch + "'", i);
      }
      tokens_.push_back(std::move(t));
    }
    Token end;
    end.pos = in_.size();
    end.text = "end of expression";
    tokens_.push_back(end);
    return Status::OK();
  }

  const Token& Peek() const { return tokens_[next_]; }
  Token Take() { return tokens_[next_++]; }
  bool IsKeyword(const char* kw) const {
    return Peek().kind == Token::Kind::kIdent &&
           EqualsIgnoreCase(Peek().text, kw);
  }
  bool TakeKeyword(const char* kw) {
    if (!IsKeyword(kw)) return false;
    ++next_;
    return true;
  }
  Status Expect(Token::Kind kind, const char* what) {
    if (Peek().kind != kind)
      return Error(
          std::string("expected ") + what + " but found '" + Peek().text + "'",
          Peek().pos);
    ++next_;
    return Status::OK();
  }

  static std::unique_ptr<Node> Make(Op op, std::unique_ptr<Node> a,
                                    std::unique_ptr<Node> b = nullptr,
                                    std::unique_ptr<Node> c = nullptr) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    n->c = std::move(c);
    return n;
  }

  Result<std::unique_ptr<Node>> ParseOr() {
    TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> left, ParseAnd());
    while (TakeKeyword("OR")) {
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> right, ParseAnd());
      TH_RETURN_IF_ERROR(RequireBoolean(*left, "OR"));
      TH_RETURN_IF_ERROR(RequireBoolean(*right, "OR"));
      left = Make(Op::kOr, std::move(left), std::move(right));
    }
    return left;
  }
  Result<std::unique_ptr<Node>> ParseAnd() {
    TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> left, ParseNot());
    while (TakeKeyword("AND")) {
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> right, ParseNot());
      TH_RETURN_IF_ERROR(RequireBoolean(*left, "AND"));
      TH_RETURN_IF_ERROR(RequireBoolean(*right, "AND"));
      left = Make(Op::kAnd, std::move(left), std::move(right));
    }
    return left;
  }
  Result<std::unique_ptr<Node>> ParseNot() {
    if (TakeKeyword("NOT")) {
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> inner, ParseNot());
      TH_RETURN_IF_ERROR(RequireBoolean(*inner, "NOT"));
      return Make(Op::kNot, std::move(inner));
    }
    return ParsePredicate();
  }
  static Status RequireBoolean(const Node& n, const char* op) {
    if (n.IsBoolean()) return Status::OK();
    return Status::InvalidArgument(std::string("an operand of ") + op +
                                   " is not a condition");
  }
  // <, <=, >, >= and BETWEEN take only numbers as constants.
  static Status RequireComparable(const Node& n, const std::string& op) {
    if (n.IsConstant() && !n.literal.numeric())
      return Status::InvalidArgument("a " + Describe(n) +
                                     " cannot be compared with " + op);
    if (n.op != Op::kProperty && n.op != Op::kLiteral)
      return Status::InvalidArgument("a condition cannot be compared with " +
                                     op);
    return Status::OK();
  }
  static std::string Describe(const Node& n) {
    switch (n.literal.kind) {
      case Value::Kind::kNull:
        return "NULL";
      case Value::Kind::kBool:
        return n.literal.b ? "TRUE" : "FALSE";
      case Value::Kind::kString:
        return "string '" + n.text + "'";
      default:
        return "number";
    }
  }

  Result<std::unique_ptr<Node>> ParsePredicate() {
    const size_t pos = Peek().pos;
    TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> left, ParseOperand());
    if (Peek().kind == Token::Kind::kOp) {
      const std::string op = Take().text;
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> right, ParseOperand());
      if (op == "=" || op == "<>") {
        for (const Node* n : {left.get(), right.get()}) {
          if (n->IsConstant() && n->literal.kind == Value::Kind::kNull)
            return Error(
                "NULL cannot be compared with " + op + " (use IS NULL)", pos);
        }
        return Make(op == "=" ? Op::kEq : Op::kNe, std::move(left),
                    std::move(right));
      }
      if (op == "<" || op == "<=" || op == ">" || op == ">=") {
        TH_RETURN_IF_ERROR(RequireComparable(*left, op));
        TH_RETURN_IF_ERROR(RequireComparable(*right, op));
        const Op o = op == "<"    ? Op::kLt
                     : op == "<=" ? Op::kLe
                     : op == ">"  ? Op::kGt
                                  : Op::kGe;
        return Make(o, std::move(left), std::move(right));
      }
      return Error("unexpected '" + op + "'", pos);
    }
    const bool negated =
        IsKeyword("NOT") && next_ + 1 < tokens_.size() &&
        tokens_[next_ + 1].kind == Token::Kind::kIdent &&
        (EqualsIgnoreCase(tokens_[next_ + 1].text, "BETWEEN") ||
         EqualsIgnoreCase(tokens_[next_ + 1].text, "IN"));
    if (negated) ++next_;
    if (TakeKeyword("BETWEEN")) {
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> lo, ParseOperand());
      if (!TakeKeyword("AND"))
        return Error("expected AND in BETWEEN", Peek().pos);
      TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> hi, ParseOperand());
      for (const Node* n : {left.get(), lo.get(), hi.get()})
        TH_RETURN_IF_ERROR(RequireComparable(*n, "BETWEEN"));
      if (lo->IsConstant() && hi->IsConstant() &&
          CompareNumbers(lo->literal, hi->literal) > 0) {
        return Error("BETWEEN's lower bound is above its upper bound", pos);
      }
      return Make(negated ? Op::kNotBetween : Op::kBetween, std::move(left),
                  std::move(lo), std::move(hi));
    }
    if (TakeKeyword("IN")) {
      if (left->op != Op::kProperty)
        return Error("IN needs a property on its left", pos);
      TH_RETURN_IF_ERROR(Expect(Token::Kind::kLParen, "'('"));
      auto n = Make(negated ? Op::kNotIn : Op::kIn, std::move(left));
      while (true) {
        if (Peek().kind != Token::Kind::kString)
          return Error("IN lists take string literals", Peek().pos);
        n->list.push_back(Take().text);
        if (Peek().kind == Token::Kind::kComma) {
          ++next_;
          continue;
        }
        TH_RETURN_IF_ERROR(Expect(Token::Kind::kRParen, "')'"));
        break;
      }
      return n;
    }
    if (negated) return Error("expected BETWEEN or IN after NOT", pos);
    if (TakeKeyword("IS")) {
      const bool is_not = TakeKeyword("NOT");
      if (!TakeKeyword("NULL")) return Error("expected NULL after IS", pos);
      return Make(is_not ? Op::kIsNotNull : Op::kIsNull, std::move(left));
    }
    return left;
  }

  Result<std::unique_ptr<Node>> ParseOperand() {
    const Token& t = Peek();
    auto n = std::make_unique<Node>();
    n->op = Op::kLiteral;
    switch (t.kind) {
      case Token::Kind::kLParen: {
        ++next_;
        TH_ASSIGN_OR_RETURN(std::unique_ptr<Node> inner, ParseOr());
        TH_RETURN_IF_ERROR(Expect(Token::Kind::kRParen, "')'"));
        return inner;
      }
      case Token::Kind::kString:
        n->literal.kind = Value::Kind::kString;
        n->text = Take().text;
        return n;
      case Token::Kind::kNumber:
        return Number(Take(), false);
      case Token::Kind::kOp:
        if ((t.text == "-" || t.text == "+") && next_ + 1 < tokens_.size() &&
            tokens_[next_ + 1].kind == Token::Kind::kNumber) {
          const bool minus = Take().text == "-";
          return Number(Take(), minus);
        }
        break;
      case Token::Kind::kIdent: {
        if (EqualsIgnoreCase(t.text, "TRUE") ||
            EqualsIgnoreCase(t.text, "FALSE")) {
          n->literal = Value::Bool(EqualsIgnoreCase(Take().text, "TRUE"));
          return n;
        }
        if (EqualsIgnoreCase(t.text, "NULL")) {
          ++next_;
          return n;
        }
        for (const char* kw :
             {"AND", "OR", "NOT", "BETWEEN", "IN", "IS", "LIKE", "ESCAPE"}) {
          if (EqualsIgnoreCase(t.text, kw))
            return Error("unexpected keyword " + t.text, t.pos);
        }
        n->op = Op::kProperty;
        n->text = Take().text;
        return n;
      }
      default:
        break;
    }
    return Error("expected a property or a value but found '" + t.text + "'",
                 t.pos);
  }

  static Result<std::unique_ptr<Node>> Number(const Token& t, bool minus) {
    std::string text = t.text;
    bool suffix_long = false;
    if (!text.empty() && std::strchr("lLfFdD", text.back()) != nullptr) {
      suffix_long = text.back() == 'l' || text.back() == 'L';
      text.pop_back();
    }
    if (minus) text.insert(text.begin(), '-');
    std::optional<Value> v = ParseNumber(text);
    if (!v) return Error("bad number '" + t.text + "'", t.pos);
    if (suffix_long && v->kind != Value::Kind::kLong)
      return Error("bad number '" + t.text + "'", t.pos);
    auto n = std::make_unique<Node>();
    n->op = Op::kLiteral;
    n->literal = *v;
    return n;
  }

  std::string_view in_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
};

}  // namespace

SqlExpression::SqlExpression(std::string text, std::unique_ptr<Node> root)
    : text_(std::move(text)), root_(std::move(root)) {}
SqlExpression::~SqlExpression() = default;

Result<std::shared_ptr<const SqlExpression>> SqlExpression::Compile(
    std::string_view text) {
  std::string_view trimmed = text;
  while (!trimmed.empty() &&
         std::isspace(static_cast<unsigned char>(trimmed.front())))
    trimmed.remove_prefix(1);
  if (trimmed.empty())
    return Status::InvalidArgument("the SQL92 expression is empty");
  Parser parser(text);
  Result<std::unique_ptr<Node>> root = parser.ParseAll();
  if (!root.ok()) {
    return Status::InvalidArgument(
        "SQL92 expression \"" + std::string(text) +
        "\": " + std::string(root.status().message()));
  }
  return std::shared_ptr<const SqlExpression>(
      new SqlExpression(std::string(text), std::move(root).value()));
}

bool SqlExpression::Matches(const PropertyLookup& lookup) const {
  const Value v = root_->Eval(lookup);
  return v.kind == Value::Kind::kBool && v.b;
}

bool SqlExpression::MatchesProperties(std::string_view properties) const {
  return Matches([properties](std::string_view name) {
    return message::FindProperty(properties, name);
  });
}

Result<std::shared_ptr<const SqlExpression>> SqlFilterCache::Get(
    std::string_view group, std::string_view topic, std::string_view text) {
  auto key = std::make_tuple(std::string(group), std::string(topic),
                             std::string(text));
  {
    MutexLock lock(&mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  Result<std::shared_ptr<const SqlExpression>> compiled =
      SqlExpression::Compile(text);
  if (!compiled.ok()) return compiled.status();
  MutexLock lock(&mu_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_.emplace(std::move(key), *compiled);
  return *compiled;
}

size_t SqlFilterCache::size() const {
  MutexLock lock(&mu_);
  return cache_.size();
}

void ApplySqlFilter(const SqlExpression& expr,
                    store::GetMessageResult* result) {
  if (result->status != store::GetMessageStatus::kFound) return;
  auto& msgs = result->messages;
  int64_t total = 0;
  std::vector<store::SelectResult> kept;
  kept.reserve(msgs.size());
  for (store::SelectResult& m : msgs) {
    message::RecordCheck c = message::CheckRecord(m.bytes, false);
    if (c.status != message::RecordStatus::kOk) continue;
    if (!expr.MatchesProperties(c.record.properties)) continue;
    total += static_cast<int64_t>(m.bytes.size());
    kept.push_back(std::move(m));
  }
  msgs = std::move(kept);
  result->buffer_total_size = total;
  if (msgs.empty()) result->status = store::GetMessageStatus::kNoMatchedMessage;
}

}  // namespace thruster::broker::filter
