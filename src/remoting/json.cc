#include "remoting/json.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/hex.h"

namespace thruster::remoting::json {
namespace {

constexpr int kMaxDepth = 256;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Status ErrorAt(std::string_view what, size_t pos) {
  return Status::InvalidArgument(fmt::format("json: {} at byte {}", what, pos));
}

Status ReadHex4(std::string_view in, size_t& pos, uint32_t* cp) {
  if (in.size() - pos < 4) return ErrorAt("truncated \\u escape", pos);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = HexDigitValue(in[pos++]);
    if (digit < 0) return ErrorAt("bad \\u escape", pos);
    v = v << 4 | static_cast<uint32_t>(digit);
  }
  *cp = v;
  return Status::OK();
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<Value> ParseDocument() {
    Value v;
    TH_RETURN_IF_ERROR(ParseValue(&v, 0));
    SkipWs();
    if (pos_ != in_.size())
      return Error("trailing characters after the JSON value");
    return v;
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument(
        fmt::format("json: {} at byte {}", what, pos_));
  }

  void SkipWs() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status ParseValue(Value* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipWs();
    if (pos_ >= in_.size()) return Error("unexpected end of input");
    char c = in_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out, depth);
      case '[':
        return ParseArray(out, depth);
      case '"': {
        std::string s;
        TH_RETURN_IF_ERROR(ParseString(&s));
        *out = Value::String(std::move(s));
        return Status::OK();
      }
      case 't':
        if (!Consume("true")) return Error("bad literal");
        *out = Value::Bool(true);
        return Status::OK();
      case 'f':
        if (!Consume("false")) return Error("bad literal");
        *out = Value::Bool(false);
        return Status::OK();
      case 'n':
        if (!Consume("null")) return Error("bad literal");
        *out = Value::Null();
        return Status::OK();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error(fmt::format("unexpected character '{}'", c));
    }
  }

  Status ParseNumber(Value* out) {
    size_t start = pos_;
    TH_RETURN_IF_ERROR(ScanNumber(in_, &pos_));
    *out = Value::NumberText(std::string(in_.substr(start, pos_ - start)));
    return Status::OK();
  }

  Status ParseString(std::string* out) { return ReadString(in_, &pos_, out); }

  Status ParseArray(Value* out, int depth) {
    ++pos_;
    *out = Value::Array();
    SkipWs();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      Value item;
      TH_RETURN_IF_ERROR(ParseValue(&item, depth + 1));
      out->Push(std::move(item));
      SkipWs();
      if (pos_ >= in_.size()) return Error("unterminated array");
      char c = in_[pos_++];
      if (c == ']') return Status::OK();
      if (c != ',') return Error("expected ',' or ']'");
    }
  }

  Status ParseKey(Value* key, int depth) {
    SkipWs();
    if (pos_ >= in_.size()) return Error("unterminated object");
    char c = in_[pos_];
    if (c == '"') {
      std::string s;
      TH_RETURN_IF_ERROR(ParseString(&s));
      *key = Value::String(std::move(s));
      return Status::OK();
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return ParseNumber(key);  // fastjson integer-keyed map
    if (c == '{')
      return ParseObject(key, depth + 1);  // fastjson object-keyed map
    return Error("expected an object key");
  }

  Status ParseObject(Value* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    ++pos_;
    *out = Value::Object();
    SkipWs();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      Value key;
      TH_RETURN_IF_ERROR(ParseKey(&key, depth));
      SkipWs();
      if (pos_ >= in_.size() || in_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      Value v;
      TH_RETURN_IF_ERROR(ParseValue(&v, depth + 1));
      out->Add(std::move(key), std::move(v));
      SkipWs();
      if (pos_ >= in_.size()) return Error("unterminated object");
      char c = in_[pos_++];
      if (c == '}') return Status::OK();
      if (c != ',') return Error("expected ',' or '}'");
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), i);
  return NumberText(std::string(buf, r.ptr));
}

Value Value::Double(double d) {
  if (!std::isfinite(d))
    return Value();  // fastjson writes null for NaN and infinities
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return NumberText(std::move(s));
}

Value Value::NumberText(std::string text) {
  Value v;
  v.type_ = Type::kNumber;
  v.text_ = std::move(text);
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.text_ = std::move(s);
  return v;
}

Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

Value& Value::Push(Value v) {
  children_.push_back(std::move(v));
  return children_.back();
}

Value& Value::Set(std::string key, Value v) {
  return Add(Value::String(std::move(key)), std::move(v));
}

Value& Value::Add(Value key, Value v) {
  children_.push_back(std::move(key));
  children_.push_back(std::move(v));
  return children_.back();
}

const Value* Value::Find(std::string_view k) const {
  if (!is_object()) return nullptr;
  for (size_t i = 0; i + 1 < children_.size(); i += 2) {
    const Value& key = children_[i];
    if ((key.is_string() || key.is_number()) && key.text_ == k)
      return &children_[i + 1];
  }
  return nullptr;
}

std::optional<std::string> Value::AsText() const {
  switch (type_) {
    case Type::kString:
    case Type::kNumber:
      return text_;
    case Type::kBool:
      return std::string(bool_ ? "true" : "false");
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> Value::AsInt64() const {
  if (!is_number() && !is_string()) return std::nullopt;
  return ParseInt64(text_);
}

std::optional<double> Value::AsDouble() const {
  if (!is_number() && !is_string()) return std::nullopt;
  if (text_.empty()) return std::nullopt;
  double d = 0;
  auto r = std::from_chars(text_.data(), text_.data() + text_.size(), d);
  if (r.ec != std::errc() || r.ptr != text_.data() + text_.size())
    return std::nullopt;
  return d;
}

std::optional<bool> Value::AsBool() const {
  switch (type_) {
    case Type::kBool:
      return bool_;
    case Type::kString:
      return EqualsIgnoreCase(text_, "true");
    case Type::kNumber:
      return AsDouble().value_or(0) != 0;
    default:
      return std::nullopt;
  }
}

std::string Value::GetString(std::string_view key, std::string_view def) const {
  const Value* v = Find(key);
  if (v == nullptr) return std::string(def);
  auto t = v->AsText();
  return t ? std::move(*t) : std::string(def);
}

int64_t Value::GetInt64(std::string_view key, int64_t def) const {
  const Value* v = Find(key);
  if (v == nullptr) return def;
  return v->AsInt64().value_or(def);
}

bool Value::GetBool(std::string_view key, bool def) const {
  const Value* v = Find(key);
  if (v == nullptr) return def;
  return v->AsBool().value_or(def);
}

bool operator==(const Value& a, const Value& b) {
  return a.type_ == b.type_ && a.bool_ == b.bool_ && a.text_ == b.text_ &&
         a.children_ == b.children_;
}

Result<Value> Parse(std::string_view text) {
  return Parser(text).ParseDocument();
}

Status ScanNumber(std::string_view in, size_t* pos_ptr) {
  size_t& pos = *pos_ptr;
  auto digits = [&] {
    size_t d = pos;
    while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') ++pos;
    return pos - d;
  };
  if (pos < in.size() && in[pos] == '-') ++pos;
  if (digits() == 0) return ErrorAt("bad number", pos);
  if (pos < in.size() && in[pos] == '.') {
    ++pos;
    if (digits() == 0) return ErrorAt("bad number fraction", pos);
  }
  if (pos < in.size() && (in[pos] == 'e' || in[pos] == 'E')) {
    ++pos;
    if (pos < in.size() && (in[pos] == '+' || in[pos] == '-')) ++pos;
    if (digits() == 0) return ErrorAt("bad number exponent", pos);
  }
  return Status::OK();
}

Status ReadString(std::string_view in, size_t* pos_ptr, std::string* out) {
  size_t& pos = *pos_ptr;
  ++pos;  // opening quote
  while (true) {
    size_t run = pos;
    while (pos < in.size() && in[pos] != '"' && in[pos] != '\\') ++pos;
    out->append(in.data() + run, pos - run);
    if (pos >= in.size()) return ErrorAt("unterminated string", pos);
    if (in[pos] == '"') {
      ++pos;
      return Status::OK();
    }
    ++pos;  // backslash
    if (pos >= in.size()) return ErrorAt("unterminated escape", pos);
    char e = in[pos++];
    switch (e) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        uint32_t cp;
        TH_RETURN_IF_ERROR(ReadHex4(in, pos, &cp));
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low = 0;
          if (in.substr(pos, 2) == "\\u") {
            size_t save = pos;
            pos += 2;
            TH_RETURN_IF_ERROR(ReadHex4(in, pos, &low));
            if (low < 0xDC00 || low > 0xDFFF) {
              pos = save;  // not a pair: the next escape stands on its own
              low = 0;
            }
          }
          cp = low != 0 ? 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                        : 0xFFFD;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;  // lone low surrogate
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return ErrorAt("bad escape", pos);
    }
  }
}

void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0'};
        WriteHex(&c, 1, esc + 4, HexCase::kLower);
        out->append(esc, sizeof(esc));
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void Write(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case Value::Type::kNumber:
      out->append(v.text());
      return;
    case Value::Type::kString:
      AppendQuoted(v.text(), out);
      return;
    case Value::Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out->push_back(',');
        Write(v.at(i), out);
      }
      out->push_back(']');
      return;
    case Value::Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out->push_back(',');
        Write(v.key(i), out);
        out->push_back(':');
        Write(v.value(i), out);
      }
      out->push_back('}');
      return;
  }
}

std::string Write(const Value& v) {
  std::string out;
  Write(v, &out);
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const char* begin = s.data();
  if (*begin == '+') {  // Java's Long.parseLong accepts a leading '+'
    ++begin;
    if (begin == s.data() + s.size() || *begin == '-') return std::nullopt;
  }
  int64_t v = 0;
  auto r = std::from_chars(begin, s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace thruster::remoting::json
