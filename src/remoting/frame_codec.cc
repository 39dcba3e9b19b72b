#include "remoting/frame_codec.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "common/coding.h"
#include "remoting/json.h"

namespace thruster::remoting {
namespace {

void AppendInt(int64_t v, std::string* out) { out->append(std::to_string(v)); }

bool FitsInt16(int64_t v) {
  return v >= std::numeric_limits<int16_t>::min() &&
         v <= std::numeric_limits<int16_t>::max();
}

Result<int32_t> ToInt32(const json::Value& v, std::string_view member) {
  auto i = v.AsInt64();
  if (!i || *i < std::numeric_limits<int32_t>::min() ||
      *i > std::numeric_limits<int32_t>::max()) {
    return Status::Corruption(fmt::format("json header: bad {}", member));
  }
  return static_cast<int32_t>(*i);
}

// The JSON headers clients actually send, decoded in one pass straight into
// the command's fields, without building a json::Value: string member names;
// numbers, strings, booleans and null as values; a flat extFields object.
// Anything else (nested values, bare-number or object keys, a repeated member,
// a syntax error) makes Read() return false, and the caller decodes with the
// general reader instead, which has the same meaning and words the errors.
class FastJsonHeaderReader {
 public:
  explicit FastJsonHeaderReader(std::string_view in) : in_(in) {}

  // On true, every member was understood and the command's fields are set.
  bool Read(RemotingCommand* cmd) {
    SkipWs();
    if (!Eat('{')) return false;
    SkipWs();
    if (Eat('}')) return false;  // no code
    std::string key;
    while (true) {
      if (!ReadName(&key) || !ReadMember(key)) return false;
      SkipWs();
      if (Eat(',')) continue;
      if (Eat('}')) break;
      return false;
    }
    SkipWs();
    if (pos_ != in_.size() || (seen_ & kCode) == 0) return false;
    cmd->set_code(code_);
    if (set_ & kLanguage) cmd->set_language(language_);
    if (set_ & kVersion) cmd->set_version(version_);
    if (set_ & kOpaque) cmd->set_opaque(opaque_);
    if (set_ & kFlag) cmd->set_flag(flag_);
    if (seen_ & kRemark) cmd->set_remark(std::move(remark_));
    if (cmd->ext_fields().empty()) {
      cmd->mutable_ext_fields() = std::move(ext_);
    } else {
      for (auto& [k, v] : ext_)
        cmd->mutable_ext_fields().insert_or_assign(k, v);
    }
    return true;
  }

 private:
  enum Member : uint32_t {
    kCode = 1,
    kLanguage = 2,
    kVersion = 4,
    kOpaque = 8,
    kFlag = 16,
    kRemark = 32,
    kExtFields = 64,
  };
  enum class Kind { kString, kNumber, kTrue, kFalse, kNull };
  // A scalar value: a string's unescaped content or a number's exact text.
  struct Scalar {
    Kind kind = Kind::kNull;
    std::string text;
  };

  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void SkipWs() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' ||
                                 in_[pos_] == '\n' || in_[pos_] == '\r'))
      ++pos_;
  }
  bool EatWord(std::string_view w) {
    if (in_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  // A member's name and the ':' after it, with the whitespace around both.
  bool ReadName(std::string* name) {
    SkipWs();
    if (Peek() != '"') return false;
    name->clear();
    if (!json::ReadString(in_, &pos_, name).ok()) return false;
    SkipWs();
    if (!Eat(':')) return false;
    SkipWs();
    return true;
  }
  // False for anything but a scalar (or a malformed one).
  bool ReadScalar(Scalar* out) {
    out->text.clear();
    switch (Peek()) {
      case '"':
        out->kind = Kind::kString;
        return json::ReadString(in_, &pos_, &out->text).ok();
      case 't':
        out->kind = Kind::kTrue;
        return EatWord("true");
      case 'f':
        out->kind = Kind::kFalse;
        return EatWord("false");
      case 'n':
        out->kind = Kind::kNull;
        return EatWord("null");
      default: {
        size_t start = pos_;
        if (!json::ScanNumber(in_, &pos_).ok()) return false;
        out->kind = Kind::kNumber;
        out->text.assign(in_.substr(start, pos_ - start));
        return true;
      }
    }
  }
  // json::Value::AsText: strings and numbers as their text, booleans as
  // "true"/"false"; nothing for null.
  static std::optional<std::string> AsText(Scalar&& v) {
    switch (v.kind) {
      case Kind::kString:
      case Kind::kNumber:
        return std::move(v.text);
      case Kind::kTrue:
        return std::string("true");
      case Kind::kFalse:
        return std::string("false");
      case Kind::kNull:
        return std::nullopt;
    }
    return std::nullopt;
  }
  // AsText's text without a copy, for a scalar that is not null.
  static std::string_view TextOf(const Scalar& v) {
    switch (v.kind) {
      case Kind::kTrue:
        return "true";
      case Kind::kFalse:
        return "false";
      default:
        return v.text;
    }
  }
  // An int32 member; false where the general decoder would reject it.
  static bool ToInt32(const Scalar& v, int32_t* out) {
    if (v.kind != Kind::kNumber && v.kind != Kind::kString) return false;
    auto i = json::ParseInt64(v.text);
    if (!i || *i < std::numeric_limits<int32_t>::min() ||
        *i > std::numeric_limits<int32_t>::max())
      return false;
    *out = static_cast<int32_t>(*i);
    return true;
  }
  bool Mark(Member m) {
    if (seen_ & m)
      return false;  // repeated: the general decoder takes the first
    seen_ |= m;
    return true;
  }

  bool ReadMember(const std::string& key) {
    if (key == "extFields") {
      if (!Mark(kExtFields)) return false;
      if (Peek() == '{') return ReadExtFields();
      Scalar v;
      return ReadScalar(&v) && v.kind == Kind::kNull;
    }
    Scalar v;
    if (!ReadScalar(&v)) return false;
    if (key == "code") {
      return Mark(kCode) && ToInt32(v, &code_);
    }
    if (key == "version" || key == "opaque" || key == "flag") {
      Member m = key == "version"  ? kVersion
                 : key == "opaque" ? kOpaque
                                   : kFlag;
      if (!Mark(m)) return false;
      if (v.kind == Kind::kNull) return true;  // absent
      set_ |= m;
      int32_t* field = m == kVersion  ? &version_
                       : m == kOpaque ? &opaque_
                                      : &flag_;
      return ToInt32(v, field);
    }
    if (key == "language") {
      if (!Mark(kLanguage)) return false;
      if (v.kind == Kind::kNull) return true;
      set_ |= kLanguage;
      language_ =
          v.kind == Kind::kString
              ? LanguageFromName(v.text)
              : LanguageFromNumber(v.kind == Kind::kNumber
                                       ? json::ParseInt64(v.text).value_or(-1)
                                       : -1);
      return true;
    }
    if (key == "remark") {
      if (!Mark(kRemark)) return false;
      remark_ = AsText(std::move(v)).value_or("");
      return true;
    }
    return true;  // unknown member with a scalar value: ignored
  }

  bool ReadExtFields() {
    ++pos_;  // '{'
    SkipWs();
    if (Eat('}')) return true;
    ext_.reserve(16);
    std::string name;
    Scalar v;
    while (true) {
      if (!ReadName(&name) || !ReadScalar(&v)) return false;
      if (v.kind != Kind::kNull) {  // null means absent (§1.3)
        ext_.insert_or_assign(name, TextOf(v));
      }
      SkipWs();
      if (Eat(',')) continue;
      return Eat('}');
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  uint32_t seen_ = 0;  // members met
  uint32_t set_ = 0;   // members met with a value (not null)
  int32_t code_ = 0;
  LanguageCode language_ = LanguageCode::kJava;
  int32_t version_ = 0;
  int32_t opaque_ = 0;
  int32_t flag_ = 0;
  std::string remark_;
  ExtFields ext_;
};

Status DecodeBinaryHeaderIn(std::span<const std::byte> header,
                            std::shared_ptr<const void> frame,
                            RemotingCommand* cmd);

}  // namespace

Result<size_t> PeekFrameSize(std::span<const std::byte> stream,
                             size_t max_frame_length) {
  if (stream.size() < kLengthFieldSize) return size_t{0};
  int32_t length = LoadI32(stream.data());
  if (length < static_cast<int32_t>(kHeaderLengthWordSize)) {
    return Status::InvalidArgument(
        fmt::format("frame length {} too small", length));
  }
  if (static_cast<size_t>(length) > max_frame_length) {
    return Status::InvalidArgument(fmt::format("frame length {} exceeds max {}",
                                               length, max_frame_length));
  }
  return kLengthFieldSize + static_cast<size_t>(length);
}

Result<RemotingCommand> DecodeFrame(std::span<const std::byte> frame) {
  if (frame.size() < kLengthFieldSize + kHeaderLengthWordSize) {
    return Status::Corruption(fmt::format(
        "truncated frame: {} bytes, need at least 8", frame.size()));
  }
  int32_t length = LoadI32(frame.data());
  if (length < static_cast<int32_t>(kHeaderLengthWordSize)) {
    return Status::Corruption(fmt::format("bad frame length {}", length));
  }
  size_t have = frame.size() - kLengthFieldSize;
  if (have < static_cast<size_t>(length)) {
    return Status::Corruption(fmt::format(
        "truncated frame: length {} but {} bytes follow", length, have));
  }
  if (have > static_cast<size_t>(length)) {
    return Status::Corruption(fmt::format(
        "trailing bytes: length {} but {} bytes follow", length, have));
  }
  return DecodeFramePayload(frame.subspan(kLengthFieldSize));
}

Result<RemotingCommand> DecodeFramePayload(std::span<const std::byte> payload) {
  if (payload.size() < kHeaderLengthWordSize) {
    return Status::Corruption(
        fmt::format("truncated frame: {} payload bytes", payload.size()));
  }
  auto word = static_cast<uint32_t>(LoadI32(payload.data()));
  auto type = static_cast<uint8_t>(word >> 24);
  size_t header_length = word & 0xFFFFFFu;
  size_t rest = payload.size() - kHeaderLengthWordSize;
  if (header_length > rest) {
    return Status::Corruption(fmt::format(
        "header length {} beyond frame ({} bytes after the header-length word)",
        header_length, rest));
  }
  RemotingCommand cmd;
  if (type == static_cast<uint8_t>(SerializeType::kRocketMq)) {
    // One copy of the frame, which the command keeps: the ext fields and the
    // body point into it (no string per field, no second body buffer).
    std::shared_ptr<std::byte[]> frame =
        std::make_shared_for_overwrite<std::byte[]>(payload.size());
    if (!payload.empty())
      std::memcpy(frame.get(), payload.data(), payload.size());
    const std::span<const std::byte> copy(frame.get(), payload.size());
    TH_RETURN_IF_ERROR(DecodeBinaryHeaderIn(
        copy.subspan(kHeaderLengthWordSize, header_length), frame, &cmd));
    cmd.set_serialize_type(SerializeType::kRocketMq);
    cmd.set_body_in_frame(copy.subspan(kHeaderLengthWordSize + header_length),
                          std::move(frame));
    return cmd;
  }
  auto header = payload.subspan(kHeaderLengthWordSize, header_length);
  if (type == static_cast<uint8_t>(SerializeType::kJson)) {
    TH_RETURN_IF_ERROR(DecodeJsonHeader(AsStringView(header), &cmd));
    cmd.set_serialize_type(SerializeType::kJson);
  } else {
    return Status::Corruption(fmt::format("unknown serialize type {}", type));
  }
  cmd.set_body(payload.subspan(kHeaderLengthWordSize + header_length));
  return cmd;
}

void EncodeJsonHeader(const RemotingCommand& cmd, std::string* out) {
  out->append("{\"code\":");
  AppendInt(cmd.code(), out);
  if (!cmd.ext_fields().empty()) {
    out->append(",\"extFields\":{");
    bool first = true;
    for (const auto& [k, v] : cmd.ext_fields()) {
      if (!first) out->push_back(',');
      first = false;
      json::AppendQuoted(k, out);
      out->push_back(':');
      json::AppendQuoted(v, out);
    }
    out->push_back('}');
  }
  out->append(",\"flag\":");
  AppendInt(cmd.flag(), out);
  out->append(",\"language\":\"");
  out->append(LanguageName(cmd.language()));
  out->append("\",\"opaque\":");
  AppendInt(cmd.opaque(), out);
  if (!cmd.remark().empty()) {
    out->append(",\"remark\":");
    json::AppendQuoted(cmd.remark(), out);
  }
  out->append(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
  AppendInt(cmd.version(), out);
  out->push_back('}');
}

Status DecodeJsonHeader(std::string_view text, RemotingCommand* cmd) {
  if (FastJsonHeaderReader(text).Read(cmd)) return Status::OK();
  return DecodeJsonHeaderWithParser(text, cmd);
}

Status DecodeJsonHeaderWithParser(std::string_view text, RemotingCommand* cmd) {
  auto parsed = json::Parse(text);
  if (!parsed.ok())
    return Status::Corruption(
        fmt::format("json header: {}", parsed.status().message()));
  const json::Value& h = *parsed;
  if (!h.is_object()) return Status::Corruption("json header: not an object");
  const json::Value* code = h.Find("code");
  if (code == nullptr) return Status::Corruption("json header: no code");
  TH_ASSIGN_OR_RETURN(int32_t c, ToInt32(*code, "code"));
  cmd->set_code(c);
  if (const json::Value* v = h.Find("language");
      v != nullptr && !v->is_null()) {
    if (v->is_string()) {
      cmd->set_language(LanguageFromName(v->text()));
    } else {
      cmd->set_language(LanguageFromNumber(v->AsInt64().value_or(-1)));
    }
  }
  for (auto [member, setter] :
       {std::pair{"version", &RemotingCommand::set_version},
        std::pair{"opaque", &RemotingCommand::set_opaque},
        std::pair{"flag", &RemotingCommand::set_flag}}) {
    const json::Value* v = h.Find(member);
    if (v == nullptr || v->is_null()) continue;
    TH_ASSIGN_OR_RETURN(int32_t i, ToInt32(*v, member));
    (cmd->*setter)(i);
  }
  if (const json::Value* v = h.Find("remark"); v != nullptr) {
    cmd->set_remark(v->AsText().value_or(""));
  }
  if (const json::Value* ext = h.Find("extFields");
      ext != nullptr && !ext->is_null()) {
    if (!ext->is_object())
      return Status::Corruption("json header: extFields is not an object");
    ExtFields& fields = cmd->mutable_ext_fields();
    for (size_t i = 0; i < ext->size(); ++i) {
      const json::Value& v = ext->value(i);
      if (v.is_null()) continue;  // null means absent (§1.3)
      auto key = ext->key(i).AsText();
      if (!key)
        return Status::Corruption("json header: extFields key is not a string");
      auto text = v.AsText();
      fields.insert_or_assign(std::move(*key),
                              text ? std::move(*text) : json::Write(v));
    }
  }
  return Status::OK();
}

Status EncodeBinaryHeader(const RemotingCommand& cmd, std::string* out) {
  if (!FitsInt16(cmd.code())) {
    return Status::InvalidArgument(
        fmt::format("code {} does not fit a binary header", cmd.code()));
  }
  if (!FitsInt16(cmd.version())) {
    return Status::InvalidArgument(
        fmt::format("version {} does not fit a binary header", cmd.version()));
  }
  size_t ext_len = 0;
  for (const auto& [k, v] : cmd.ext_fields()) {
    if (k.empty() || v.empty()) continue;  // would decode as absent anyway
    if (k.size() > static_cast<size_t>(std::numeric_limits<int16_t>::max())) {
      return Status::InvalidArgument(
          "ext field name too long for a binary header");
    }
    ext_len += 2 + k.size() + 4 + v.size();
  }
  const std::string& remark = cmd.remark();
  // Sized once, then filled in place.
  size_t pos = out->size();
  out->resize(pos + kBinaryHeaderFixedSize + remark.size() + ext_len);
  char* p = out->data() + pos;
  StoreBE(p, static_cast<int16_t>(cmd.code()));
  p[2] = static_cast<char>(static_cast<int8_t>(cmd.language()));
  StoreBE(p + 3, static_cast<int16_t>(cmd.version()));
  StoreBE(p + 5, cmd.opaque());
  StoreBE(p + 9, cmd.flag());
  StoreBE(p + 13, static_cast<int32_t>(remark.size()));
  p += 17;
  std::memcpy(p, remark.data(), remark.size());
  p += remark.size();
  StoreBE(p, static_cast<int32_t>(ext_len));
  p += 4;
  for (const auto& [k, v] : cmd.ext_fields()) {
    if (k.empty() || v.empty()) continue;
    StoreBE(p, static_cast<int16_t>(k.size()));
    std::memcpy(p + 2, k.data(), k.size());
    p += 2 + k.size();
    StoreBE(p, static_cast<int32_t>(v.size()));
    std::memcpy(p + 4, v.data(), v.size());
    p += 4 + v.size();
  }
  return Status::OK();
}

namespace {

// DecodeBinaryHeader, with `frame` keeping `header`'s bytes alive: the ext
// fields then point into them instead of holding copies (when the command has
// none yet).
Status DecodeBinaryHeaderIn(std::span<const std::byte> header,
                            std::shared_ptr<const void> frame,
                            RemotingCommand* cmd) {
  ByteReader r(header);
  int16_t code = r.I16();
  int8_t language = r.I8();
  int16_t version = r.I16();
  int32_t opaque = r.I32();
  int32_t flag = r.I32();
  int32_t remark_len = r.I32();
  if (!r.ok()) return Status::Corruption("binary header: truncated");
  if (remark_len < 0 || static_cast<size_t>(remark_len) > r.remaining()) {
    return Status::Corruption(fmt::format(
        "binary header: remark length {} beyond header", remark_len));
  }
  cmd->set_code(code);
  cmd->set_language(LanguageFromNumber(language));
  cmd->set_version(version);
  cmd->set_opaque(opaque);
  cmd->set_flag(flag);
  cmd->set_remark(
      std::string(AsStringView(r.Bytes(static_cast<size_t>(remark_len)))));
  int32_t ext_len = r.I32();
  if (!r.ok())
    return Status::Corruption("binary header: truncated before ext length");
  if (ext_len < 0 || static_cast<size_t>(ext_len) > r.remaining()) {
    return Status::Corruption(
        fmt::format("binary header: ext length {} beyond header", ext_len));
  }
  const ConstByteSpan ext = r.Bytes(static_cast<size_t>(ext_len));
  ExtFields& fields = cmd->mutable_ext_fields();
  const bool borrow = fields.empty();
  if (borrow) {
    fields.BorrowFrom(std::move(frame));
    fields.reserve(16);
  }
  Status status = Status::OK();
  // Each field: i16 name length, name, i32 value length, value. Read with
  // one bounds check per length (a send header has about 13 fields).
  const char* p = reinterpret_cast<const char*>(ext.data());
  const char* const end = p + ext.size();
  while (p != end) {
    if (end - p < 2 || LoadI16(p) < 0) {
      status = Status::Corruption("binary header: bad ext key length");
      break;
    }
    const auto key_len = static_cast<size_t>(LoadI16(p));
    p += 2;
    // A name running past the fields leaves no value length to read.
    if (static_cast<size_t>(end - p) < key_len + 4) {
      status = Status::Corruption("binary header: bad ext value length");
      break;
    }
    const std::string_view key(p, key_len);
    p += key_len;
    const int32_t value_len = LoadI32(p);
    p += 4;
    if (value_len < 0 ||
        static_cast<size_t>(value_len) > static_cast<size_t>(end - p)) {
      status = Status::Corruption("binary header: bad ext value length");
      break;
    }
    const std::string_view value(p, static_cast<size_t>(value_len));
    p += value_len;
    if (key.empty() || value.empty())
      continue;  // empty decodes as null: absent
    if (borrow) {
      fields.AppendBorrowed(key, value);
    } else {
      fields.insert_or_assign(key, value);
    }
  }
  if (borrow) fields.Seal();
  return status;
}

}  // namespace

Status DecodeBinaryHeader(std::span<const std::byte> header,
                          RemotingCommand* cmd) {
  // A copy the fields can point into: the caller's bytes may go first.
  auto copy =
      std::make_shared<std::vector<std::byte>>(header.begin(), header.end());
  std::span<const std::byte> bytes(*copy);
  return DecodeBinaryHeaderIn(bytes, std::move(copy), cmd);
}

Status EncodeFramePrefix(const RemotingCommand& cmd, std::string* out) {
  size_t start = out->size();
  // One allocation: the exact size of a binary header, a close guess for JSON
  // (escapes can make it longer).
  size_t ext_bytes = 0;
  for (const auto& [k, v] : cmd.ext_fields()) ext_bytes += k.size() + v.size();
  out->reserve(start + kLengthFieldSize + kHeaderLengthWordSize + 160 +
               cmd.remark().size() + ext_bytes + 8 * cmd.ext_fields().size() +
               cmd.body().size());
  out->append(kLengthFieldSize + kHeaderLengthWordSize, '\0');
  if (cmd.serialize_type() == SerializeType::kRocketMq) {
    Status s = EncodeBinaryHeader(cmd, out);
    if (!s.ok()) {
      out->resize(start);
      return s;
    }
  } else {
    EncodeJsonHeader(cmd, out);
  }
  size_t header_length =
      out->size() - start - kLengthFieldSize - kHeaderLengthWordSize;
  size_t length = kHeaderLengthWordSize + header_length + cmd.TotalBodySize();
  if (header_length > kMaxHeaderLength ||
      length > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    out->resize(start);
    return Status::InvalidArgument(fmt::format(
        "frame too large: header {} bytes, length {}", header_length, length));
  }
  auto word = (static_cast<uint32_t>(cmd.serialize_type()) << 24) |
              static_cast<uint32_t>(header_length);
  StoreI32(out->data() + start, static_cast<int32_t>(length));
  StoreI32(out->data() + start + kLengthFieldSize, static_cast<int32_t>(word));
  out->append(cmd.body_view());
  return Status::OK();
}

Result<std::string> EncodeFrame(const RemotingCommand& cmd) {
  std::string out;
  TH_RETURN_IF_ERROR(EncodeFramePrefix(cmd, &out));
  for (const auto& seg : cmd.body_segments())
    out.append(AsStringView(seg.data));
  return out;
}

}  // namespace thruster::remoting
