#pragma once

// A blocking loopback TCP socket for tests that need to send exactly the bytes
// they choose (bad frames, half-open peers) or to read frames by hand. Every
// read has a receive timeout so a broken server fails the test instead of
// hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "common/coding.h"

namespace thruster::testing {

class RawSocket {
 public:
  explicit RawSocket(uint16_t port, int recv_timeout_ms = 5000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  // Shrinks the kernel receive buffer so a peer that writes to us fills it
  // quickly.
  void SetSmallReceiveBuffer() {
    int size = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }

  bool SendAll(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n =
          ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes; nullopt on EOF, error or timeout.
  std::optional<std::string> ReadExactly(size_t n) {
    std::string out(n, '\0');
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r <= 0) return std::nullopt;
      off += static_cast<size_t>(r);
    }
    return out;
  }

  // Reads one whole frame (length prefix included).
  std::optional<std::string> ReadFrame() {
    auto len = ReadExactly(4);
    if (!len) return std::nullopt;
    auto rest = ReadExactly(static_cast<size_t>(LoadI32(len->data())));
    if (!rest) return std::nullopt;
    return *len + *rest;
  }

  // True when the peer closed the connection (EOF or reset) within the receive
  // timeout; any bytes that arrive first are discarded.
  bool WaitForClose() {
    char buf[4096];
    while (true) {
      ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace thruster::testing
