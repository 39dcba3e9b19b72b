// Connection's TLS half: first-byte detection, the handshake, and reading and
// writing through OpenSSL over the connection's socket. Everything here runs on
// the connection's strand.

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include "common/logging.h"
#include "remoting/connection.h"

namespace thruster::remoting {
namespace {

// The TLS record type of a handshake; a ClientHello starts 16 03 0x. A
// plaintext frame cannot start with it (its length would exceed 369 MB).
constexpr unsigned char kTlsHandshakeByte = 0x16;
// Frames are copied into one buffer of about this size per SSL_write (records
// are 16 KiB; a bigger buffer fills several per call).
constexpr size_t kTlsWriteChunk = 256 * 1024;

std::atomic<bool> g_logged_ktls{false};

}  // namespace

void Connection::DetectTls() {
  socket_.async_wait(
      asio::socket_base::wait_read,
      [self = shared_from_this()](const asio::error_code& ec) {
        if (ec) {
          self->CloseOnStrand(ec.message());
          return;
        }
        unsigned char first = 0;
        ssize_t n = ::recv(self->socket_.native_handle(), &first, 1,
                           MSG_PEEK | MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            self->DetectTls();
            return;
          }
          self->CloseOnStrand(std::system_category().message(errno));
          return;
        }
        if (n == 0) {
          self->CloseOnStrand("peer closed");
          return;
        }
        if (first == kTlsHandshakeByte) {
          self->BeginTls();
          return;
        }
        if (self->tls_ctx_->mode() == TlsMode::kEnforcing) {
          TH_LOG(remoting, kWarn,
                 "refusing plaintext connection from {}: tls.server.mode is "
                 "enforcing",
                 self->remote_address_);
          self->CloseOnStrand("plaintext refused");
          return;
        }
        // Permissive: plaintext from here on, exactly as without TLS.
        self->tls_ctx_.reset();
        self->writing_ = false;
        if (!self->write_queue_.empty()) self->DoWrite();
        self->DoRead();
      });
}

void Connection::BeginTls() {
  asio::error_code ec;
  socket_.native_non_blocking(true, ec);
  if (ec) {
    CloseOnStrand(ec.message());
    return;
  }
  Result<std::unique_ptr<TlsSession>> session =
      TlsSession::Create(tls_ctx_, socket_.native_handle());
  if (!session.ok()) {
    TH_LOG(remoting, kWarn, "TLS with {}: {}", remote_address_,
           session.status().ToString());
    CloseOnStrand("TLS setup failed");
    return;
  }
  tls_ = std::move(session).value();
  DoHandshake();
}

void Connection::WaitForTls(int ssl_error, void (Connection::*next)()) {
  socket_.async_wait(
      ssl_error == SSL_ERROR_WANT_WRITE ? asio::socket_base::wait_write
                                        : asio::socket_base::wait_read,
      [self = shared_from_this(), next](const asio::error_code& ec) {
        if (ec || self->closed_.load(std::memory_order_acquire)) {
          self->CloseOnStrand(ec ? ec.message() : "closed");
          return;
        }
        ((*self).*next)();
      });
}

void Connection::FailTls(std::string_view what, int ret) {
  tls_->set_failed();
  const std::string why = tls_->ErrorText(ret);
  TH_LOG(remoting, kWarn, "TLS {} with {} failed: {}", what, remote_address_,
         why);
  CloseOnStrand(fmt::format("TLS {} failed: {}", what, why));
}

void Connection::DoHandshake() {
  if (closed_.load(std::memory_order_acquire)) return;
  ERR_clear_error();
  const int r = SSL_do_handshake(tls_->ssl());
  if (r == 1) {
    Touch();
    tls_copy_ = !tls_->KernelSends();
    if (!g_logged_ktls.exchange(true)) {
      TH_LOG(remoting, kInfo, "TLS ({}) with {}: {}",
             SSL_get_version(tls_->ssl()), remote_address_,
             tls_copy_ ? "kTLS not in use (no kernel tls module or cipher "
                         "not offloadable): frames are copied and encrypted "
                         "by OpenSSL"
                       : "kTLS in use: the kernel encrypts, pulls stay "
                         "zero-copy");
    }
    TH_LOG(remoting, kDebug, "TLS handshake with {} done ({}, kTLS send {})",
           remote_address_, SSL_get_version(tls_->ssl()), !tls_copy_);
    writing_ = false;
    if (!write_queue_.empty()) DoWrite();
    DoTlsRead();
    return;
  }
  const int err = SSL_get_error(tls_->ssl(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    WaitForTls(err, &Connection::DoHandshake);
    return;
  }
  FailTls("handshake", r);
}

void Connection::DoTlsRead() {
  while (!closed_.load(std::memory_order_acquire)) {
    if (read_len_ == read_buf_.size()) read_buf_.resize(read_buf_.size() * 2);
    size_t n = 0;
    ERR_clear_error();
    const int r = SSL_read_ex(tls_->ssl(), read_buf_.data() + read_len_,
                              read_buf_.size() - read_len_, &n);
    if (r == 1) {
      if (!TakeRead(n)) return;
      continue;
    }
    const int err = SSL_get_error(tls_->ssl(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      WaitForTls(err, &Connection::DoTlsRead);
      return;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      CloseOnStrand("peer closed");
      return;
    }
    tls_->set_failed();
    CloseOnStrand("TLS read failed: " + tls_->ErrorText(r));
    return;
  }
}

void Connection::DoTlsWrite() {
  while (true) {
    if (closed_.load(std::memory_order_acquire)) {
      writing_ = false;
      return;
    }
    if (tls_out_pos_ == tls_out_.size()) {
      // The copy is where TLS without kTLS pays: body segments (pulls straight
      // from the mapped commit log) are copied here, and their keep-alives go
      // with the frame.
      tls_out_.clear();
      tls_out_pos_ = 0;
      if (tls_out_.capacity() > 4 * kTlsWriteChunk) tls_out_.shrink_to_fit();
      while (!write_queue_.empty() && tls_out_.size() < kTlsWriteChunk) {
        const OutFrame& f = write_queue_.front();
        tls_out_.append(f.prefix);
        for (const BodySegment& seg : f.segments)
          tls_out_.append(reinterpret_cast<const char*>(seg.data.data()),
                          seg.data.size());
        write_queue_.pop_front();
      }
      if (tls_out_.empty()) {
        writing_ = false;
        return;
      }
    }
    writing_ = true;
    size_t n = 0;
    ERR_clear_error();
    const int r = SSL_write_ex(tls_->ssl(), tls_out_.data() + tls_out_pos_,
                               tls_out_.size() - tls_out_pos_, &n);
    if (r == 1) {
      Touch();
      tls_out_pos_ += n;
      queued_bytes_ -= std::min(queued_bytes_, n);
      MaybeResumeReads();
      continue;
    }
    const int err = SSL_get_error(tls_->ssl(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      // Retried with the same bytes, as OpenSSL requires.
      WaitForTls(err, &Connection::DoTlsWrite);
      return;
    }
    writing_ = false;
    tls_->set_failed();
    CloseOnStrand("TLS write failed: " + tls_->ErrorText(r));
    return;
  }
}

}  // namespace thruster::remoting
