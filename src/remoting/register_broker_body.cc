#include "remoting/register_broker_body.h"

#include <fmt/format.h>
#include <zlib.h>

#include <limits>

#include "common/coding.h"

namespace thruster::remoting {
namespace {

constexpr size_t kMaxInflated = 256u * 1024 * 1024;

Result<std::string> Deflate(std::string_view in) {
  uLongf bound = compressBound(static_cast<uLong>(in.size()));
  std::string out(bound, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                     reinterpret_cast<const Bytef*>(in.data()),
                     static_cast<uLong>(in.size()), 9);
  if (rc != Z_OK)
    return Status::InvalidArgument(fmt::format("zlib compress failed: {}", rc));
  out.resize(bound);
  return out;
}

Result<std::string> Inflate(std::span<const std::byte> in) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK)
    return Status::InvalidArgument("zlib inflateInit failed");
  zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() >= kMaxInflated) {
      inflateEnd(&zs);
      return Status::InvalidArgument(
          "compressed register body inflates beyond 256 MiB");
    }
    size_t old = out.size();
    out.resize(old + std::max<size_t>(64 * 1024, old));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(out.size() - old);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidArgument(
          fmt::format("bad compressed register body: zlib error {}", rc));
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("truncated compressed register body");
    }
  }
  inflateEnd(&zs);
  return out;
}

void PutString(ByteWriter& w, std::string_view s) {
  w.I32(static_cast<int32_t>(s.size()));
  w.Bytes(s);
}

Result<std::string_view> GetString(ByteReader& r, std::string_view what) {
  int32_t len = r.I32();
  if (!r.ok() || len < 0 || static_cast<size_t>(len) > r.remaining()) {
    return Status::InvalidArgument(
        fmt::format("compressed register body: bad {} length", what));
  }
  return AsStringView(r.Bytes(static_cast<size_t>(len)));
}

std::optional<int32_t> ParseInt32(std::string_view s) {
  auto v = json::ParseInt64(s);
  if (!v || *v < std::numeric_limits<int32_t>::min() ||
      *v > std::numeric_limits<int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int32_t>(*v);
}

// "name read write perm filterType[ attributesJSON]"
Result<TopicConfig> DecodeTopicText(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (parts.size() < 5) {
    size_t sp = text.find(' ', pos);
    if (sp == std::string_view::npos) {
      parts.push_back(text.substr(pos));
      pos = text.size();
      break;
    }
    parts.push_back(text.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (parts.size() < 5)
    return Status::InvalidArgument(
        fmt::format("bad topic config text '{}'", text));
  TopicConfig t;
  t.topic_name = std::string(parts[0]);
  auto r = ParseInt32(parts[1]);
  auto w = ParseInt32(parts[2]);
  auto p = ParseInt32(parts[3]);
  if (!r || !w || !p)
    return Status::InvalidArgument(
        fmt::format("bad topic config text '{}'", text));
  t.read_queue_nums = *r;
  t.write_queue_nums = *w;
  t.perm = *p;
  t.topic_filter_type = std::string(parts[4]);
  if (pos < text.size()) {
    TH_ASSIGN_OR_RETURN(json::Value attrs, json::Parse(text.substr(pos)));
    for (size_t i = 0; i < attrs.size() && attrs.is_object(); ++i) {
      auto k = attrs.key(i).AsText();
      auto v = attrs.value(i).AsText();
      if (k && v) t.attributes[*k] = *v;
    }
  }
  return t;
}

}  // namespace

std::string RegisterBrokerBody::EncodeJson() const {
  json::Value table = json::Value::Object();
  for (const auto& t : topic_configs) table.Set(t.topic_name, t.ToJson());
  json::Value wrapper = json::Value::Object();
  wrapper.Set("dataVersion", data_version.ToJson());
  wrapper.Set("topicConfigTable", std::move(table));
  json::Value filters = json::Value::Array();
  for (const auto& f : filter_server_list) filters.Push(json::Value::String(f));
  json::Value body = json::Value::Object();
  body.Set("filterServerList", std::move(filters));
  body.Set("topicConfigSerializeWrapper", std::move(wrapper));
  return json::Write(body);
}

Result<std::string> RegisterBrokerBody::EncodeCompressed() const {
  std::string raw;
  ByteWriter w(&raw);
  PutString(w, json::Write(data_version.ToJson()));
  w.I32(static_cast<int32_t>(topic_configs.size()));
  for (const auto& t : topic_configs) {
    // Space-separated fields: a name or filter type that is empty or holds a
    // space would decode as something else.
    for (const std::string* field : {&t.topic_name, &t.topic_filter_type}) {
      if (field->empty() || field->find(' ') != std::string::npos) {
        return Status::InvalidArgument(fmt::format(
            "topic '{}' cannot be sent compressed: empty or spaced field '{}'",
            t.topic_name, *field));
      }
    }
    std::string text =
        fmt::format("{} {} {} {} {}", t.topic_name, t.read_queue_nums,
                    t.write_queue_nums, t.perm, t.topic_filter_type);
    if (!t.attributes.empty()) {
      json::Value attrs = json::Value::Object();
      for (const auto& [k, v] : t.attributes)
        attrs.Set(k, json::Value::String(v));
      text += ' ';
      json::Write(attrs, &text);
    }
    PutString(w, text);
  }
  json::Value filters = json::Value::Array();
  for (const auto& f : filter_server_list) filters.Push(json::Value::String(f));
  PutString(w, json::Write(filters));
  return Deflate(raw);
}

Result<RegisterBrokerBody> RegisterBrokerBody::DecodeJson(
    std::string_view body) {
  TH_ASSIGN_OR_RETURN(json::Value v, json::Parse(body));
  if (!v.is_object())
    return Status::InvalidArgument("register body: not an object");
  RegisterBrokerBody out;
  if (const json::Value* fs = v.Find("filterServerList");
      fs != nullptr && fs->is_array()) {
    for (size_t i = 0; i < fs->size(); ++i) {
      if (auto s = fs->at(i).AsText()) out.filter_server_list.push_back(*s);
    }
  }
  const json::Value* wrapper = v.Find("topicConfigSerializeWrapper");
  if (wrapper == nullptr || !wrapper->is_object()) return out;
  if (const json::Value* dv = wrapper->Find("dataVersion");
      dv != nullptr && dv->is_object()) {
    out.data_version = DataVersion::FromJson(*dv);
  }
  if (const json::Value* table = wrapper->Find("topicConfigTable");
      table != nullptr && table->is_object()) {
    for (size_t i = 0; i < table->size(); ++i) {
      TopicConfig t = TopicConfig::FromJson(table->value(i));
      if (t.topic_name.empty())
        t.topic_name = table->key(i).AsText().value_or("");
      out.topic_configs.push_back(std::move(t));
    }
  }
  return out;
}

Result<RegisterBrokerBody> RegisterBrokerBody::DecodeCompressed(
    std::span<const std::byte> body) {
  TH_ASSIGN_OR_RETURN(std::string raw, Inflate(body));
  ByteReader r(raw);
  RegisterBrokerBody out;
  TH_ASSIGN_OR_RETURN(std::string_view dv_text, GetString(r, "data version"));
  TH_ASSIGN_OR_RETURN(json::Value dv, json::Parse(dv_text));
  out.data_version = DataVersion::FromJson(dv);
  int32_t count = r.I32();
  if (!r.ok() || count < 0)
    return Status::InvalidArgument("compressed register body: bad topic count");
  for (int32_t i = 0; i < count; ++i) {
    TH_ASSIGN_OR_RETURN(std::string_view text, GetString(r, "topic config"));
    TH_ASSIGN_OR_RETURN(TopicConfig t, DecodeTopicText(text));
    out.topic_configs.push_back(std::move(t));
  }
  TH_ASSIGN_OR_RETURN(std::string_view filters_text,
                      GetString(r, "filter server list"));
  TH_ASSIGN_OR_RETURN(json::Value filters, json::Parse(filters_text));
  for (size_t i = 0; i < filters.size() && filters.is_array(); ++i) {
    if (auto s = filters.at(i).AsText()) out.filter_server_list.push_back(*s);
  }
  return out;
}

Result<RegisterBrokerBody> RegisterBrokerBody::Decode(
    std::span<const std::byte> body, bool compressed) {
  if (body.empty()) return RegisterBrokerBody{};
  bool looks_zlib = body[0] == std::byte{0x78};
  if (compressed || looks_zlib) return DecodeCompressed(body);
  return DecodeJson(AsStringView(body));
}

}  // namespace thruster::remoting
