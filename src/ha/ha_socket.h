#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

// The few blocking TCP calls the HA threads need (each HA connection has its
// own threads, as RocketMQ's HAConnection does, so the remoting event loop
// never carries CommitLog streams). Every call takes a timeout; none throws.
namespace thruster::ha {

// Owns one socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { Close(); }
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void Close();
  // Wakes any thread blocked on this socket (both directions); the descriptor
  // stays open until Close().
  void ShutdownBoth() const;

  // Writes all of `data`; IOError on a socket error or when no progress was
  // possible for `timeout_ms`.
  Status WriteAll(std::span<const std::byte> data, int timeout_ms) const;
  // Reads what is there into `out`, waiting up to `timeout_ms` for something:
  // bytes read (0 on timeout), or IOError (a closed peer included).
  Result<size_t> ReadSome(std::span<std::byte> out, int timeout_ms) const;

 private:
  int fd_ = -1;
};

// A listening socket on `bind_address`:`port` (0: ephemeral).
Result<Socket> Listen(const std::string& bind_address, uint16_t port);
// The bound port of a socket.
uint16_t LocalPort(const Socket& s);
// Waits up to `timeout_ms` for a connection: an invalid Socket on timeout.
Result<Socket> Accept(const Socket& listener, int timeout_ms,
                      std::string* peer);
// Connects to "host:port" (IPv4 address or name) within `timeout_ms`, with
// TCP_NODELAY.
Result<Socket> Connect(std::string_view address, int timeout_ms);

}  // namespace thruster::ha
