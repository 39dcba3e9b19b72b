#include "store/message.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/coding.h"

namespace thruster::store {
namespace {


// Calls fn(name, value) for every pair ParseProperties keeps, in input order.
template <typename Fn>
void ForEachProperty(std::string_view s, Fn&& fn) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t end = s.find(kPropertySeparator, begin);
    if (end == std::string_view::npos) end = s.size();
    if (end - begin >= 3) {
      const std::string_view segment = s.substr(begin, end - begin);
      const size_t sep = segment.find(kNameValueSeparator);
      // Name and value must both be non-empty.
      if (sep != std::string_view::npos && sep > 0 &&
          sep + 1 < segment.size()) {
        fn(segment.substr(0, sep), segment.substr(sep + 1));
      }
    }
    begin = end + 1;
  }
}

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Decodes one code point from UTF-8 at s[*i], advancing *i. A malformed
// sequence yields U+FFFD and advances past its maximal valid prefix (at least
// one byte), as Java's decoder does.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte_at = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte_at(*i);
  constexpr uint32_t kReplacement = 0xFFFD;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int need;
  uint32_t cp;
  uint8_t lo = 0x80;  // allowed range of the second byte
  uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no encoded surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++*i;
    return kReplacement;
  }
  size_t k = *i + 1;
  for (int n = 0; n < need; ++n, ++k) {
    if (k >= s.size()) {
      *i = k;
      return kReplacement;
    }
    const uint8_t b = byte_at(k);
    const bool ok = n == 0 ? (b >= lo && b <= hi) : IsContinuation(b);
    if (!ok) {
      *i = k;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  *i = k;
  return cp;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

HostAddress HostAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                            int32_t port) {
  HostAddress h;
  h.ip[0] = a;
  h.ip[1] = b;
  h.ip[2] = c;
  h.ip[3] = d;
  h.port = port;
  return h;
}

Result<HostAddress> HostAddress::Parse(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos)
    return Status::InvalidArgument("host address without port");
  std::string_view addr = s.substr(0, colon);
  const std::string_view port_str = s.substr(colon + 1);
  HostAddress h;
  int port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_str.data(), port_str.data() + port_str.size(), port);
  if (port_str.empty() || ec != std::errc() ||
      ptr != port_str.data() + port_str.size() || port < 0 || port > 65535) {
    return Status::InvalidArgument("bad port in host address");
  }
  h.port = port;
  if (!addr.empty() && addr.front() == '[') {
    if (addr.size() < 2 || addr.back() != ']')
      return Status::InvalidArgument("bad IPv6 host address");
    addr = addr.substr(1, addr.size() - 2);
    h.v6 = true;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.empty() || addr.size() >= sizeof(buf))
    return Status::InvalidArgument("bad host address");
  std::memcpy(buf, addr.data(), addr.size());
  if (inet_pton(h.v6 ? AF_INET6 : AF_INET, buf, h.ip.data()) != 1) {
    return Status::InvalidArgument("bad host address");
  }
  return h;
}

std::string HostAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, ip.data(), buf, sizeof(buf)) ==
      nullptr)
    return "?";
  std::string out;
  if (v6) out.push_back('[');
  out.append(buf);
  if (v6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

std::string EncodeProperties(
    const std::map<std::string, std::string, std::less<>>& props) {
  size_t n = 0;
  for (const auto& [name, value] : props) {
    if (!value.empty()) n += name.size() + value.size() + 2;
  }
  std::string out;
  out.reserve(n);
  for (const auto& [name, value] : props) {
    if (value.empty()) continue;
    out.append(name);
    out.push_back(kNameValueSeparator);
    out.append(value);
    out.push_back(kPropertySeparator);
  }
  return out;
}

std::map<std::string, std::string, std::less<>> ParseProperties(
    std::string_view s) {
  std::map<std::string, std::string, std::less<>> out;
  ForEachProperty(s, [&](std::string_view name, std::string_view value) {
    auto it = out.find(name);
    if (it == out.end()) {
      out.emplace(std::string(name), std::string(value));
    } else {
      it->second.assign(value);
    }
  });
  return out;
}

std::optional<std::string_view> FindProperty(std::string_view props,
                                             std::string_view name) {
  std::optional<std::string_view> found;
  ForEachProperty(props, [&](std::string_view n, std::string_view value) {
    if (n == name) found = value;
  });
  return found;
}

int32_t JHash(std::string_view s) {
  // Unsigned arithmetic gives Java's 32-bit wrap-around without signed
  // overflow.
  uint32_t h = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      h = 31 * h + b;
      ++i;
      continue;
    }
    const uint32_t cp = NextCodePoint(s, &i);
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      h = 31 * h + (0xD800 + (v >> 10));
      h = 31 * h + (0xDC00 + (v & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return static_cast<int32_t>(h);
}

int64_t TagsCode(std::optional<std::string_view> tags) {
  if (!tags || tags->empty()) return 0;
  return JHash(*tags);
}

std::string CreateMessageId(const HostAddress& store_host,
                            int64_t phys_offset) {
  uint8_t tail[12];
  StoreI32(tail, store_host.port);
  StoreI64(tail + 4, phys_offset);
  const size_t ip_len = store_host.v6 ? 16 : 4;
  // Written in place: this runs once per answered send.
  std::string out(2 * (ip_len + sizeof(tail)), '\0');
  WriteHexUpper(store_host.ip.data(), ip_len, out.data());
  WriteHexUpper(tail, sizeof(tail), out.data() + 2 * ip_len);
  return out;
}

Result<MessageIdParts> DecodeMessageId(std::string_view id) {
  size_t ip_len;
  if (id.size() == 32) {
    ip_len = 4;
  } else if (id.size() == 56) {
    ip_len = 16;
  } else {
    return Status::InvalidArgument("message id must be 32 or 56 hex chars");
  }
  uint8_t bytes[28];
  for (size_t i = 0; i < id.size() / 2; ++i) {
    const int hi = HexValue(id[2 * i]);
    const int lo = HexValue(id[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Status::InvalidArgument("non-hex char in message id");
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  MessageIdParts parts;
  parts.store_host.v6 = ip_len == 16;
  std::memcpy(parts.store_host.ip.data(), bytes, ip_len);
  parts.store_host.port = LoadI32(bytes + ip_len);
  parts.phys_offset = LoadI64(bytes + ip_len + 4);
  return parts;
}

}  // namespace thruster::store
