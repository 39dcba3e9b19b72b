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
// string_view. A flat vector of (name, value) views rather than a tree: a
// header has about a dozen fields, so one allocation holds them all and a scan
// finds one quickly. The text lives either in a decoded frame the fields keep
// alive (decoders borrow it: no copy per field) or in the fields' own text
// blocks (insert_or_assign copies into them, several values per allocation).
// Offers the subset of std::map's interface the code uses. A plain value:
// copying copies the text; not thread-safe (callers serialise).
class ExtFields {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;
  using const_iterator = std::vector<value_type>::const_iterator;
  using iterator = const_iterator;

  ExtFields() = default;
  ExtFields(const ExtFields& other);
  ExtFields& operator=(const ExtFields& other);
  ExtFields(ExtFields&& other) noexcept;
  ExtFields& operator=(ExtFields&& other) noexcept;
  ~ExtFields();

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const_iterator find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != end(); }
  // Removes `name`; returns how many fields were removed (0 or 1).
  size_t erase(std::string_view name);
  // Sets `name` to `value` (both copied), replacing the value of an existing
  // field.
  void insert_or_assign(std::string_view name, std::string_view value);
  // Sets `name` to the decimal text of `value`, written straight into the
  // fields' text.
  void AssignInt(std::string_view name, int64_t value);
  void clear() { items_.clear(); }
  void reserve(size_t n) { items_.reserve(n); }

  // For decoders, on empty fields only: BorrowFrom(frame), then AppendBorrowed
  // for each field in wire order (name and value must lie in `frame`'s bytes,
  // which these fields keep alive from now on), then Seal(), which sorts them
  // by name once; of a name given twice the later value stays.
  void BorrowFrom(std::shared_ptr<const void> frame);
  void AppendBorrowed(std::string_view name, std::string_view value) {
    if (!items_.empty() && !NameBefore(items_.back().first, name))
      unsorted_ = true;
    items_.emplace_back(name, value);
  }
  void Seal();

  friend bool operator==(const ExtFields& a, const ExtFields& b) {
    return a.items_ == b.items_;
  }

 private:
  // A block of text owned by these fields; the text follows the header in the
  // same allocation. Blocks never move, so views into them stay valid.
  struct TextBlock {
    TextBlock* prev;
    size_t capacity;
    size_t used;
  };
  // a < b in name order, settling one-letter names without a memcmp call.
  static bool NameBefore(std::string_view a, std::string_view b) {
    if (!a.empty() && !b.empty() && a[0] != b[0])
      return static_cast<unsigned char>(a[0]) <
             static_cast<unsigned char>(b[0]);
    return a < b;
  }
  // Room for `n` bytes of text that live as long as these fields.
  char* AllocateText(size_t n);
  std::string_view CopyText(std::string_view text);
  // Sets `name` (copied) to `value`, which already lives in these fields.
  void Put(std::string_view name, std::string_view owned_value);
  void FreeText();

  std::vector<value_type> items_;  // ascending by name, names unique
  // The decoded frame borrowed views point into (null when none).
  std::shared_ptr<const void> frame_;
  TextBlock* text_ = nullptr;  // the newest block, linked to older ones
  bool unsorted_ = false;      // between AppendBorrowed and Seal only
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
// decoding produces a single body (for a binary header, bytes of the decoded
// frame the command shares with its copies; never written to).
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
  void SetExt(std::string_view name, std::string_view value) {
    ext_fields_.insert_or_assign(name, value);
  }
  void SetExt(std::string_view name, int64_t value) {
    ext_fields_.AssignInt(name, value);
  }
  void SetExt(std::string_view name, int32_t value) {
    ext_fields_.AssignInt(name, value);
  }
  void SetExtBool(std::string_view name, bool value) {
    ext_fields_.insert_or_assign(name, value ? "true" : "false");
  }
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
  std::span<const std::byte> body() const {
    return body_in_frame_ ? frame_body_ : std::span<const std::byte>(body_);
  }
  std::string_view body_view() const {
    auto b = body();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  void set_body(std::vector<std::byte> body) {
    body_ = std::move(body);
    DropFrameBody();
  }
  void set_body(std::string_view body);
  void set_body(std::span<const std::byte> body) {
    body_.assign(body.begin(), body.end());
    DropFrameBody();
  }
  // The body is `body`, not copied: bytes of a decoded frame that `frame`
  // keeps valid (shared by copies of this command).
  void set_body_in_frame(std::span<const std::byte> body,
                         std::shared_ptr<const void> frame) {
    body_.clear();
    frame_body_ = body;
    frame_ = std::move(frame);
    body_in_frame_ = true;
  }

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
  void DropFrameBody() {
    body_in_frame_ = false;
    frame_body_ = {};
    frame_.reset();
  }

  std::vector<std::byte> body_;  // unless body_in_frame_
  // set_body_in_frame: the body's bytes and what keeps them valid.
  std::span<const std::byte> frame_body_;
  std::shared_ptr<const void> frame_;
  bool body_in_frame_ = false;
  std::vector<BodySegment> body_segments_;
};

}  // namespace thruster::remoting
