#include "broker/acl/remote_address_matcher.h"
#include "common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/ip/address.hpp>
#include <charconv>

namespace thruster::broker::acl {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

bool ParseNumber(std::string_view s, int base, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

std::string ExpandV6(const asio::ip::address_v6& a) {
  auto bytes = a.to_bytes();
  std::string out;
  for (size_t i = 0; i < 16; i += 2) {
    if (i) out += ':';
    out += fmt::format("{:02X}{:02X}", bytes[i], bytes[i + 1]);
  }
  return out;
}

}  // namespace

Result<std::string> NormalizeIp(std::string_view ip) {
  asio::error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(TrimBlanks(ip)), ec);
  if (ec)
    return Status::InvalidArgument(
        fmt::format("'{}' is not an IP address", ip));
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6())
        .to_string();
  if (a.is_v4()) return a.to_v4().to_string();
  return ExpandV6(a.to_v6());
}

Result<RemoteAddressMatcher> RemoteAddressMatcher::Parse(
    std::string_view pattern) {
  RemoteAddressMatcher m;
  const std::string_view p = TrimBlanks(pattern);
  m.pattern_ = std::string(p);
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("bad remote address pattern '{}': {}", p, why));
  };
  if (p.empty()) return m;  // kNone
  if (p == "*" || p == "*.*.*.*" || p == "*:*:*:*:*:*:*:*") {
    m.kind_ = Kind::kAll;
    return m;
  }
  if (p.back() == '}') {
    const size_t open = p.find('{');
    if (open == std::string_view::npos) return bad("'}' without '{'");
    const std::string_view prefix = p.substr(0, open);
    for (std::string_view item :
         Split(p.substr(open + 1, p.size() - open - 2), ',')) {
      Result<std::string> ip =
          NormalizeIp(std::string(prefix) + std::string(TrimBlanks(item)));
      if (!ip.ok()) return bad(ip.status().message());
      m.addresses_.push_back(std::move(ip).value());
    }
    m.kind_ = Kind::kList;
    return m;
  }
  if (p.find(',') != std::string_view::npos) {
    for (std::string_view item : Split(p, ',')) {
      Result<std::string> ip = NormalizeIp(item);
      if (!ip.ok()) return bad(ip.status().message());
      m.addresses_.push_back(std::move(ip).value());
    }
    m.kind_ = Kind::kList;
    return m;
  }
  if (p.find('*') != std::string_view::npos ||
      p.find('-') != std::string_view::npos) {
    m.v6_ = p.find(':') != std::string_view::npos;
    const std::vector<std::string_view> segs = Split(p, m.v6_ ? ':' : '.');
    const size_t want = m.v6_ ? 8 : 4;
    const uint32_t max = m.v6_ ? 0xFFFF : 255;
    const int base = m.v6_ ? 16 : 10;
    if (segs.size() < 2 || segs.size() > want)
      return bad("wrong number of segments");
    if (!m.v6_ && segs.size() != want)
      return bad("an IPv4 range needs four segments");
    for (size_t i = 0; i < segs.size(); ++i) {
      const std::string_view s = TrimBlanks(segs[i]);
      const size_t dash = s.find('-');
      if (i > 0 && (s == "*" || dash != std::string_view::npos)) {
        if (s == "*") {
          m.low_ = 0;
          m.high_ = max;
        } else if (!ParseNumber(s.substr(0, dash), base, max, &m.low_) ||
                   !ParseNumber(s.substr(dash + 1), base, max, &m.high_) ||
                   m.low_ > m.high_) {
          return bad("malformed range segment");
        }
        if (m.v6_ && s == "*" && i + 1 != segs.size())
          return bad("'*' must be last");
        m.kind_ = Kind::kRange;
        return m;
      }
      uint32_t v = 0;
      if (!ParseNumber(s, base, max, &v)) return bad("malformed segment");
      m.prefix_.push_back(m.v6_ ? fmt::format("{:04X}", v) : std::to_string(v));
    }
    return bad("no range segment after the first");
  }
  Result<std::string> ip = NormalizeIp(p);
  if (!ip.ok()) return bad(ip.status().message());
  m.addresses_.push_back(std::move(ip).value());
  m.kind_ = Kind::kList;
  return m;
}

bool RemoteAddressMatcher::Matches(std::string_view client_ip) const {
  if (kind_ == Kind::kNone) return false;
  if (kind_ == Kind::kAll) return true;
  Result<std::string> ip = NormalizeIp(client_ip);
  if (!ip.ok()) return false;
  if (kind_ == Kind::kList)
    return std::find(addresses_.begin(), addresses_.end(), *ip) !=
           addresses_.end();
  const bool is_v6 = ip->find(':') != std::string::npos;
  if (is_v6 != v6_) return false;
  const std::vector<std::string_view> segs = Split(*ip, v6_ ? ':' : '.');
  if (segs.size() <= prefix_.size()) return false;
  for (size_t i = 0; i < prefix_.size(); ++i)
    if (segs[i] != prefix_[i]) return false;
  uint32_t v = 0;
  if (!ParseNumber(segs[prefix_.size()], v6_ ? 16 : 10, v6_ ? 0xFFFF : 255, &v))
    return false;
  return v >= low_ && v <= high_;
}

}  // namespace thruster::broker::acl
