#include "message/host_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace thruster::message {

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

}  // namespace thruster::message
