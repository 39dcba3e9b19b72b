#include "remoting/remoting_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>
#include <new>
#include <utility>

#include "common/check.h"
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

ExtFields::ExtFields(const ExtFields& other) { *this = other; }

ExtFields& ExtFields::operator=(const ExtFields& other) {
  if (this == &other) return *this;
  // The copy owns its text: one block for all of it.
  std::vector<value_type> items;
  items.reserve(other.items_.size());
  size_t bytes = 0;
  for (const auto& [k, v] : other.items_) bytes += k.size() + v.size();
  FreeText();
  frame_.reset();
  char* p = bytes > 0 ? AllocateText(bytes) : nullptr;
  for (const auto& [k, v] : other.items_) {
    if (!k.empty()) std::memcpy(p, k.data(), k.size());
    if (!v.empty()) std::memcpy(p + k.size(), v.data(), v.size());
    items.emplace_back(std::string_view(p, k.size()),
                       std::string_view(p + k.size(), v.size()));
    if (p != nullptr) p += k.size() + v.size();
  }
  items_ = std::move(items);
  unsorted_ = false;
  return *this;
}

ExtFields::ExtFields(ExtFields&& other) noexcept
    : items_(std::move(other.items_)),
      frame_(std::move(other.frame_)),
      text_(std::exchange(other.text_, nullptr)),
      unsorted_(std::exchange(other.unsorted_, false)) {
  other.items_.clear();
}

ExtFields& ExtFields::operator=(ExtFields&& other) noexcept {
  if (this == &other) return *this;
  FreeText();
  items_ = std::move(other.items_);
  other.items_.clear();
  frame_ = std::move(other.frame_);
  text_ = std::exchange(other.text_, nullptr);
  unsorted_ = std::exchange(other.unsorted_, false);
  return *this;
}

ExtFields::~ExtFields() { FreeText(); }

void ExtFields::FreeText() {
  while (text_ != nullptr) {
    TextBlock* prev = text_->prev;
    text_->~TextBlock();
    ::operator delete(static_cast<void*>(text_));
    text_ = prev;
  }
}

char* ExtFields::AllocateText(size_t n) {
  // Small values share 256-byte blocks (a send response's six fields fit in
  // one); a large one gets a block of its own.
  constexpr size_t kBlockText = 256 - sizeof(TextBlock);
  if (text_ == nullptr || text_->capacity - text_->used < n) {
    const size_t capacity = std::max(n, kBlockText);
    void* mem = ::operator new(sizeof(TextBlock) + capacity);
    text_ = new (mem) TextBlock{text_, capacity, 0};
  }
  char* p = reinterpret_cast<char*>(text_ + 1) + text_->used;
  text_->used += n;
  return p;
}

std::string_view ExtFields::CopyText(std::string_view text) {
  if (text.empty()) return {};
  char* p = AllocateText(text.size());
  std::memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

ExtFields::const_iterator ExtFields::find(std::string_view name) const {
  // Length and first byte settle most mismatches (and the one-letter names of
  // SEND_MESSAGE_V2 entirely) without a memcmp call.
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    const std::string_view k = it->first;
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

void ExtFields::insert_or_assign(std::string_view name,
                                 std::string_view value) {
  Put(name, CopyText(value));
}

void ExtFields::AssignInt(std::string_view name, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  Put(name, CopyText(std::string_view(buf, static_cast<size_t>(end - buf))));
}

void ExtFields::Put(std::string_view name, std::string_view owned_value) {
  // Encoders write names in order, so most inserts append.
  if (items_.empty() || NameBefore(items_.back().first, name)) {
    // Room for a SEND_MESSAGE_V2 header (a..n) in the first allocation.
    if (items_.capacity() == 0) items_.reserve(16);
    items_.emplace_back(CopyText(name), owned_value);
    return;
  }
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const value_type& item, std::string_view n) {
                               return item.first < n;
                             });
  if (it != items_.end() && it->first == name) {
    it->second = owned_value;
  } else {
    items_.emplace(it, CopyText(name), owned_value);
  }
}

void ExtFields::BorrowFrom(std::shared_ptr<const void> frame) {
  TH_CHECK(items_.empty(), "ExtFields::BorrowFrom on {} fields", items_.size());
  frame_ = std::move(frame);
  unsorted_ = false;
}

void ExtFields::Seal() {
  if (!unsorted_) return;
  unsorted_ = false;
  std::stable_sort(items_.begin(), items_.end(),
                   [](const value_type& a, const value_type& b) {
                     return a.first < b.first;
                   });
  // Of equal names (now adjacent, in wire order) the last one stays.
  auto out = items_.begin();
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    auto next = std::next(it);
    if (next != items_.end() && next->first == it->first) continue;
    *out++ = *it;
  }
  items_.erase(out, items_.end());
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

std::optional<std::string_view> RemotingCommand::FindExt(
    std::string_view name) const {
  auto it = ext_fields_.find(name);
  if (it == ext_fields_.end()) return std::nullopt;
  return it->second;
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
  DropFrameBody();
}

void RemotingCommand::AddBodySegment(std::span<const std::byte> data,
                                     std::shared_ptr<const void> keep_alive) {
  body_segments_.push_back(BodySegment{data, std::move(keep_alive)});
}

size_t RemotingCommand::TotalBodySize() const {
  size_t n = body().size();
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
