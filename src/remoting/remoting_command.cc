#include "remoting/remoting_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "remoting/json.h"

namespace thruster::remoting {
namespace {

bool EqualsTrueIgnoreCase(std::string_view s) {
  if (s.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "true"[i]) return false;
  }
  return true;
}

}  // namespace

ExtFields::const_iterator ExtFields::find(std::string_view name) const {
  // Length and first byte settle most mismatches (and the one-letter names of
  // SEND_MESSAGE_V2 entirely) without a memcmp call.
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    const std::string& k = it->first;
    if (k.size() != name.size()) continue;
    if (k.empty()) return it;
    if (k[0] != name[0]) continue;
    if (k.size() == 1 ||
        std::memcmp(k.data() + 1, name.data() + 1, k.size() - 1) == 0)
      return it;
  }
  return items_.end();
}

size_t ExtFields::erase(std::string_view name) {
  auto it = find(name);
  if (it == items_.end()) return 0;
  items_.erase(it);
  return 1;
}

void ExtFields::insert_or_assign(std::string name, std::string value) {
  // Encoders write names in order, so most inserts append; comparing first
  // bytes settles that without a memcmp call for one-letter names.
  const bool append = items_.empty() ||
                      (!name.empty() && !items_.back().first.empty() &&
                       static_cast<unsigned char>(items_.back().first[0]) <
                           static_cast<unsigned char>(name[0])) ||
                      items_.back().first < name;
  if (append) {
    // Room for a SEND_MESSAGE_V2 header (a..n) in the first allocation.
    if (items_.capacity() == 0) items_.reserve(16);
    items_.emplace_back(std::move(name), std::move(value));
    return;
  }
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const value_type& item, const std::string& n) {
                               return item.first < n;
                             });
  if (it != items_.end() && it->first == name) {
    it->second = std::move(value);
  } else {
    items_.emplace(it, std::move(name), std::move(value));
  }
}

RemotingCommand RemotingCommand::CreateRequest(int32_t code) {
  RemotingCommand cmd;
  cmd.code_ = code;
  return cmd;
}

RemotingCommand RemotingCommand::CreateResponse(int32_t code,
                                                std::string remark) const {
  RemotingCommand resp;
  resp.code_ = code;
  resp.opaque_ = opaque_;
  resp.flag_ = kFlagResponse;
  resp.serialize_type_ = serialize_type_;
  resp.remark_ = std::move(remark);
  return resp;
}

RemotingCommand RemotingCommand::CreateErrorResponse(
    const Status& status) const {
  return CreateResponse(ResponseCodeFromStatus(status),
                        std::string(status.message()));
}

void RemotingCommand::SetExt(std::string name, std::string value) {
  ext_fields_.insert_or_assign(std::move(name), std::move(value));
}

void RemotingCommand::SetExt(std::string name, int64_t value) {
  ext_fields_.insert_or_assign(std::move(name), std::to_string(value));
}

void RemotingCommand::SetExtBool(std::string name, bool value) {
  ext_fields_.insert_or_assign(std::move(name), value ? "true" : "false");
}

std::optional<std::string_view> RemotingCommand::FindExt(
    std::string_view name) const {
  auto it = ext_fields_.find(name);
  if (it == ext_fields_.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<std::string_view> RemotingCommand::RequireExt(
    std::string_view name) const {
  auto v = FindExt(name);
  if (!v || v->empty())
    return Status::InvalidArgument(
        fmt::format("missing header field {}", name));
  return *v;
}

Result<int64_t> RemotingCommand::RequireExtInt64(std::string_view name) const {
  TH_ASSIGN_OR_RETURN(std::string_view text, RequireExt(name));
  auto v = json::ParseInt64(text);
  if (!v)
    return Status::InvalidArgument(
        fmt::format("header field {} is not a number: {}", name, text));
  return *v;
}

Result<int32_t> RemotingCommand::RequireExtInt32(std::string_view name) const {
  TH_ASSIGN_OR_RETURN(int64_t v, RequireExtInt64(name));
  if (v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument(
        fmt::format("header field {} out of range: {}", name, v));
  }
  return static_cast<int32_t>(v);
}

std::string_view RemotingCommand::ExtOr(std::string_view name,
                                        std::string_view def) const {
  auto v = FindExt(name);
  return v && !v->empty() ? *v : def;
}

int64_t RemotingCommand::ExtInt64Or(std::string_view name, int64_t def) const {
  auto v = FindExt(name);
  if (!v || v->empty()) return def;
  return json::ParseInt64(*v).value_or(def);
}

int32_t RemotingCommand::ExtInt32Or(std::string_view name, int32_t def) const {
  int64_t v = ExtInt64Or(name, def);
  if (v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max())
    return def;
  return static_cast<int32_t>(v);
}

bool RemotingCommand::ExtBoolOr(std::string_view name, bool def) const {
  auto v = FindExt(name);
  if (!v || v->empty()) return def;
  return EqualsTrueIgnoreCase(*v);
}

void RemotingCommand::set_body(std::string_view body) {
  auto* p = reinterpret_cast<const std::byte*>(body.data());
  body_.assign(p, p + body.size());
}

void RemotingCommand::AddBodySegment(std::span<const std::byte> data,
                                     std::shared_ptr<const void> keep_alive) {
  body_segments_.push_back(BodySegment{data, std::move(keep_alive)});
}

size_t RemotingCommand::TotalBodySize() const {
  size_t n = body_.size();
  for (const auto& s : body_segments_) n += s.data.size();
  return n;
}

std::string RemotingCommand::DebugString() const {
  return fmt::format(
      "code={} flag={} opaque={} lang={} version={} ext={} body={}B "
      "remark='{}'",
      code_, flag_, opaque_, LanguageName(language_), version_,
      ext_fields_.size(), TotalBodySize(), remark_);
}

}  // namespace thruster::remoting
