#include "ha/ha_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace thruster::ha {
namespace {

Status PollFor(int fd, short events, int timeout_ms, bool* ready) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Status::IOError("poll", errno);
  *ready = r > 0;
  return Status::OK();
}

Result<sockaddr_in> Resolve(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 ||
      colon + 1 == address.size())
    return Status::InvalidArgument("HA address '" + std::string(address) +
                                   "' is not host:port");
  const std::string host(address.substr(0, colon));
  const std::string port_text(address.substr(colon + 1));
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535)
    return Status::InvalidArgument("HA address '" + std::string(address) +
                                   "' has no valid port");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) == 1) return sa;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 ||
      res == nullptr)
    return Status::InvalidArgument("HA address '" + std::string(address) +
                                   "': cannot resolve " + host);
  sa.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  ::freeaddrinfo(res);
  return sa;
}

}  // namespace

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Socket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::ShutdownBoth() const {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

Status Socket::WriteAll(std::span<const std::byte> data, int timeout_ms) const {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data = data.subspan(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      bool ready = false;
      TH_RETURN_IF_ERROR(PollFor(fd_, POLLOUT, timeout_ms, &ready));
      if (!ready) return Status::IOError("HA write timed out", ETIMEDOUT);
      continue;
    }
    return Status::IOError("HA write", n < 0 ? errno : EPIPE);
  }
  return Status::OK();
}

Result<size_t> Socket::ReadSome(std::span<std::byte> out,
                                int timeout_ms) const {
  bool ready = false;
  TH_RETURN_IF_ERROR(PollFor(fd_, POLLIN, timeout_ms, &ready));
  if (!ready) return size_t{0};
  for (;;) {
    ssize_t n = ::recv(fd_, out.data(), out.size(), 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) return Status::IOError("HA peer closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return Status::IOError("HA read", errno);
  }
}

Result<Socket> Listen(const std::string& bind_address, uint16_t port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Status::IOError("HA socket", errno);
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_address.c_str(), &sa.sin_addr) != 1)
    return Status::InvalidArgument("HA bind address '" + bind_address +
                                   "' is not an IPv4 address");
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return Status::IOError(
        "HA bind " + bind_address + ":" + std::to_string(port), errno);
  if (::listen(s.fd(), 64) != 0) return Status::IOError("HA listen", errno);
  return s;
}

uint16_t LocalPort(const Socket& s) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return 0;
  return ntohs(sa.sin_port);
}

Result<Socket> Accept(const Socket& listener, int timeout_ms,
                      std::string* peer) {
  bool ready = false;
  TH_RETURN_IF_ERROR(PollFor(listener.fd(), POLLIN, timeout_ms, &ready));
  if (!ready) return Socket();
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  int fd = ::accept4(listener.fd(), reinterpret_cast<sockaddr*>(&sa), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
        errno == ECONNABORTED)
      return Socket();
    return Status::IOError("HA accept", errno);
  }
  char ip[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
  *peer = std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return Socket(fd);
}

Result<Socket> Connect(std::string_view address, int timeout_ms) {
  TH_ASSIGN_OR_RETURN(sockaddr_in sa, Resolve(address));
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Status::IOError("HA socket", errno);
  int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (errno != EINPROGRESS)
      return Status::IOError("HA connect " + std::string(address), errno);
    bool ready = false;
    TH_RETURN_IF_ERROR(PollFor(s.fd(), POLLOUT, timeout_ms, &ready));
    if (!ready)
      return Status::IOError("HA connect " + std::string(address) +
                                 " timed out",
                             ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return Status::IOError("HA connect " + std::string(address), err);
  }
  return s;
}

}  // namespace thruster::ha
