#pragma once

// One request or response of the RocketMQ remoting protocol (spec/remoting.md
// §2): the header fields, the custom header as a name → text map (extFields,
// §2.5) and the body. Encoding to and from frames lives in frame_codec.h.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "remoting/codes.h"

namespace thruster::remoting {

// Header encoding of a frame (§1.2 byte 4).
enum class SerializeType : uint8_t { kJson = 0, kRocketMq = 1 };

inline constexpr int32_t kFlagResponse = 0x1;  // RPC_TYPE bit (§2.2)
inline constexpr int32_t kFlagOneway = 0x2;    // RPC_ONEWAY bit

// The ext fields of one command, sorted by name: the output is deterministic
// (Java's own order is hash order, which carries no meaning) and lookups take a
// string_view. A flat vector rather than a tree: a header has about a dozen
// fields, so one allocation holds them all and a scan finds one quickly. Offers
// the subset of std::map's interface the code uses. A plain value: not
// thread-safe (callers serialise).
class ExtFields {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;
  using iterator = const_iterator;

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const_iterator find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != end(); }
  // Removes `name`; returns how many fields were removed (0 or 1).
  size_t erase(std::string_view name);
  // Sets `name` to `value`, replacing the value of an existing field.
  void insert_or_assign(std::string name, std::string value);
  void clear() { items_.clear(); }
  void reserve(size_t n) { items_.reserve(n); }

  friend bool operator==(const ExtFields&, const ExtFields&) = default;

 private:
  std::vector<value_type> items_;  // ascending by name, names unique
};

// A body segment that is sent after the command's own body without being
// copied, e.g. a span into a memory-mapped commit-log segment for a pull
// response. `keep_alive` holds whatever keeps `data` valid (a reference-counted
// segment, a buffer) until the bytes have been written to the socket or the
// connection is gone.
struct BodySegment {
  std::span<const std::byte> data;
  std::shared_ptr<const void> keep_alive;
};

// A remoting command. A plain value: not thread-safe (callers serialise), cheap
// to move. The body is the command's own bytes followed by any extra segments;
// decoding always produces a single owned body.
class RemotingCommand {
 public:
  RemotingCommand() = default;

  // A request with this code, Thruster's language (JAVA) and version; opaque 0
  // (the sender assigns it).
  static RemotingCommand CreateRequest(int32_t code);
  // A response to this request: same opaque and serialize type, response flag
  // set, Thruster's version.
  RemotingCommand CreateResponse(int32_t code, std::string remark = {}) const;
  // A response with ResponseCodeFromStatus(status) and the status message as
  // remark.
  RemotingCommand CreateErrorResponse(const Status& status) const;

  int32_t code() const { return code_; }
  void set_code(int32_t code) { code_ = code; }
  LanguageCode language() const { return language_; }
  void set_language(LanguageCode language) { language_ = language; }
  int32_t version() const { return version_; }
  void set_version(int32_t version) { version_ = version; }
  int32_t opaque() const { return opaque_; }
  void set_opaque(int32_t opaque) { opaque_ = opaque; }
  int32_t flag() const { return flag_; }
  void set_flag(int32_t flag) { flag_ = flag; }
  // Empty means "no remark" (the binary header cannot carry an empty one, and
  // clients treat both alike).
  const std::string& remark() const { return remark_; }
  void set_remark(std::string remark) { remark_ = std::move(remark); }
  SerializeType serialize_type() const { return serialize_type_; }
  void set_serialize_type(SerializeType type) { serialize_type_ = type; }

  bool IsResponse() const { return (flag_ & kFlagResponse) != 0; }
  bool IsOneway() const { return (flag_ & kFlagOneway) != 0; }
  void MarkResponse() { flag_ |= kFlagResponse; }
  void MarkOneway() { flag_ |= kFlagOneway; }

  // --- extFields (§2.5). Values are text; the raw map is kept as received (ACL
  // signatures cover it). ---
  const ExtFields& ext_fields() const { return ext_fields_; }
  ExtFields& mutable_ext_fields() { return ext_fields_; }
  void SetExt(std::string name, std::string value);
  void SetExt(std::string name, const char* value) {
    SetExt(std::move(name), std::string(value));
  }
  void SetExt(std::string name, int64_t value);
  void SetExt(std::string name, int32_t value) {
    SetExt(std::move(name), static_cast<int64_t>(value));
  }
  void SetExtBool(std::string name, bool value);
  // The raw value, or nullopt when the field is absent.
  std::optional<std::string_view> FindExt(std::string_view name) const;
  // A mandatory field: InvalidArgument "missing header field <name>" when
  // absent or empty (§10.21).
  Result<std::string_view> RequireExt(std::string_view name) const;
  // Mandatory integers: InvalidArgument when absent, empty or not a decimal
  // that fits.
  Result<int32_t> RequireExtInt32(std::string_view name) const;
  Result<int64_t> RequireExtInt64(std::string_view name) const;
  // Optional fields: `def` when absent or empty; an unparsable number also
  // gives `def` (RocketMQ logs and leaves the field unset).
  std::string_view ExtOr(std::string_view name, std::string_view def) const;
  int32_t ExtInt32Or(std::string_view name, int32_t def) const;
  int64_t ExtInt64Or(std::string_view name, int64_t def) const;
  // "true" ignoring case is true, any other text false; `def` when absent or
  // empty.
  bool ExtBoolOr(std::string_view name, bool def) const;

  // --- body ---
  std::span<const std::byte> body() const { return body_; }
  std::string_view body_view() const {
    return {reinterpret_cast<const char*>(body_.data()), body_.size()};
  }
  void set_body(std::vector<std::byte> body) { body_ = std::move(body); }
  void set_body(std::string_view body);
  void set_body(std::span<const std::byte> body) {
    body_.assign(body.begin(), body.end());
  }
  std::vector<std::byte> release_body() { return std::move(body_); }

  // Extra segments written after body() without copying (responses only need
  // this; see BodySegment).
  const std::vector<BodySegment>& body_segments() const {
    return body_segments_;
  }
  void AddBodySegment(std::span<const std::byte> data,
                      std::shared_ptr<const void> keep_alive);
  // body().size() plus every segment.
  size_t TotalBodySize() const;

  // One-line summary for logs: code, flag, opaque, remark.
  std::string DebugString() const;

 private:
  int32_t code_ = 0;
  LanguageCode language_ = LanguageCode::kJava;
  int32_t version_ = kThrusterVersion;
  int32_t opaque_ = 0;
  int32_t flag_ = 0;
  std::string remark_;
  ExtFields ext_fields_;
  SerializeType serialize_type_ = SerializeType::kJson;
  std::vector<std::byte> body_;
  std::vector<BodySegment> body_segments_;
};

}  // namespace thruster::remoting
