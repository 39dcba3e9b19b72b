#pragma once

// RocketMQ's JSON dialect (spec/remoting.md §4): what fastjson 1.x writes and
// what the Java, C++, Go and Node.js clients read. A small DOM with a lenient
// reader and a compact writer.
//
// Beyond standard JSON the reader accepts (§4.1, §4.3):
//   - bare numeric object keys            {0:"127.0.0.1:10911",1:"..."}
//   - objects used as keys {{"brokerName":"b","queueId":0,"topic":"T"}:{...}}
//   - whitespace anywhere, \uXXXX escapes with surrogate pairs, raw UTF-8
// and keeps the exact text of every number, so 9223372036854775807 survives a
// round trip.
//
// The writer emits compact JSON (no insignificant whitespace, which the Go
// client's hand-written route parser needs), strings as UTF-8 with the
// mandatory escapes only, object members in insertion order, and keys in
// whatever form the key Value has: a String key is quoted, a Number key is
// written bare (fastjson's form for integer-keyed maps), an Object key is
// written as an object (fastjson's form for MessageQueue-keyed maps).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace thruster::remoting::json {

// One JSON value. Objects keep their members in order; a key is itself a Value
// (normally a String). Not thread-safe (callers serialise); copyable.
class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Int(int64_t v);
  // A double in fastjson's style: shortest text that round-trips, always with a
  // fraction ("0.0", "1.5").
  static Value Double(double v);
  // A number from its text; the caller guarantees it is a valid JSON number.
  static Value NumberText(std::string text);
  static Value String(std::string s);
  static Value Array();
  static Value Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool bool_value() const { return bool_; }
  // The content of a String, or the exact source text of a Number; empty
  // otherwise.
  const std::string& text() const { return text_; }

  // --- arrays ---
  size_t size() const {
    return is_object() ? children_.size() / 2 : children_.size();
  }
  const Value& at(size_t i) const { return children_[i]; }
  Value& Push(Value v);

  // --- objects (members in insertion order) ---
  const Value& key(size_t i) const { return children_[2 * i]; }
  const Value& value(size_t i) const { return children_[2 * i + 1]; }
  Value& mutable_value(size_t i) { return children_[2 * i + 1]; }
  // Appends a member with a quoted string key; returns the stored value. Does
  // not check for duplicates.
  Value& Set(std::string key, Value v);
  // Appends a member whose key is any Value (a Number key is written bare, an
  // Object key as an object).
  Value& Add(Value key, Value v);
  // The value of the first member whose key is a String or a Number with this
  // text; nullptr if none.
  const Value* Find(std::string_view key) const;

  // --- lenient conversions (§4.3): strings, numbers and booleans convert into
  // each other --- String → its content; Number → its text; Bool →
  // "true"/"false"; others → nullopt.
  std::optional<std::string> AsText() const;
  // Number or String holding a decimal integer that fits; nullopt otherwise.
  std::optional<int64_t> AsInt64() const;
  // Number or numeric String; nullopt otherwise.
  std::optional<double> AsDouble() const;
  // Bool, or a String equal to "true"/"false" ignoring case (Java's
  // Boolean.parseBoolean: anything else is false), or a Number (non-zero is
  // true); nullopt for null, arrays and objects.
  std::optional<bool> AsBool() const;

  // Member lookups with defaults for absent, null or unconvertible members.
  std::string GetString(std::string_view key, std::string_view def = {}) const;
  int64_t GetInt64(std::string_view key, int64_t def = 0) const;
  bool GetBool(std::string_view key, bool def = false) const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  // Array: the items. Object: key0, value0, key1, value1, ... (keeps the class
  // free of an incomplete pair).
  std::vector<Value> children_;
};

// Parses one JSON document with the leniencies above; surrounding whitespace is
// allowed, anything else after the value is an error. Nesting deeper than 256
// levels is rejected. Errors are InvalidArgument with the byte offset.
Result<Value> Parse(std::string_view text);

// Pieces of the reader, for single-pass decoders of fixed shapes (the remoting
// header). Both take `*pos` at the token's first byte, move it past the token,
// and fail like Parse does (InvalidArgument with the byte offset).
// A string: `text[*pos]` is the opening quote; appends the unescaped content.
Status ReadString(std::string_view text, size_t* pos, std::string* out);
// A number (the caller's `text.substr(start, *pos - start)` is its exact text).
Status ScanNumber(std::string_view text, size_t* pos);

// Appends the compact text of `v` to `out`.
void Write(const Value& v, std::string* out);
std::string Write(const Value& v);

// Appends `s` as a quoted JSON string (escapes `"`, `\` and control characters;
// UTF-8 passes through).
void AppendQuoted(std::string_view s, std::string* out);

// True if `s` is a complete decimal integer that fits in int64 ("-12", not
// "1.0", not " 1").
std::optional<int64_t> ParseInt64(std::string_view s);

}  // namespace thruster::remoting::json
