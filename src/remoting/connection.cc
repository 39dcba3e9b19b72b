#include "remoting/connection.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/logging.h"
#include "common/service_thread.h"

namespace thruster::remoting {
namespace {

constexpr size_t kInitialReadBuffer = 64 * 1024;
// What a new connection starts with: an idle connection (10,000 of them are a
// normal sight for a broker) holds only this much; a busy one grows to
// kInitialReadBuffer after a few full reads.
constexpr size_t kFirstReadBuffer = 4 * 1024;
// At most this many frames are gathered at once; one sendmsg takes at most
// kMaxIovPerCall of their pieces (well under Linux's IOV_MAX of 1024).
constexpr size_t kMaxFramesPerWrite = 128;
constexpr size_t kMaxIovPerCall = 256;

std::atomic<uint64_t> g_next_connection_id{1};

asio::ip::tcp::endpoint RemoteEndpoint(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  return ep;
}

// "ip:port", or "" for the default endpoint RemoteEndpoint gives when the
// socket has no peer (a peer never has port 0).
std::string EndpointString(const asio::ip::tcp::endpoint& ep) {
  if (ep.port() == 0) return {};
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace

size_t Connection::OutFrame::size() const {
  size_t n = prefix.size();
  for (const auto& s : segments) n += s.data.size();
  return n;
}

Connection::Connection(asio::ip::tcp::socket socket, ConnectionHandler* handler,
                       ConnectionOptions options,
                       std::shared_ptr<const TlsContext> tls)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      sweep_timer_(socket_.get_executor()),
      handler_(handler),
      options_(options),
      id_(g_next_connection_id.fetch_add(1, std::memory_order_relaxed)),
      remote_endpoint_(RemoteEndpoint(socket_)),
      remote_address_(EndpointString(remote_endpoint_)) {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  const asio::any_io_executor executor = socket_.get_executor();
  if (const auto* strand = executor.target<Strand>()) strand_ = *strand;
  read_buf_.resize(kFirstReadBuffer);
  Touch();
  if (tls) {
    tls_ctx_ = std::move(tls);
    writing_ = true;  // held until the handshake completes
  }
}

Connection::~Connection() = default;

void Connection::Start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->ArmIdleTimer();
    if (!self->tls_ctx_) {
      self->DoRead();
    } else if (self->tls_ctx_->server()) {
      self->DetectTls();
    } else {
      self->BeginTls();
    }
  });
}

void Connection::DoRead() {
  if (read_len_ == read_buf_.size()) read_buf_.resize(read_buf_.size() * 2);
  socket_.async_read_some(
      asio::buffer(read_buf_.data() + read_len_, read_buf_.size() - read_len_),
      [self = shared_from_this()](const asio::error_code& ec, size_t n) {
        self->OnRead(ec, n);
      });
}

void Connection::OnRead(const asio::error_code& ec, size_t n) {
  if (ec) {
    CloseOnStrand(ec == asio::error::eof ? "peer closed" : ec.message());
    return;
  }
  if (TakeRead(n)) DoRead();
}

bool Connection::TakeRead(size_t n) {
  Touch();
  read_len_ += n;
  // A read that filled the buffer left more waiting in the socket: read in
  // larger steps, up to the size ProcessFrames keeps.
  const bool filled = read_len_ == read_buf_.size();
  processing_ = true;
  const bool ok = ProcessFrames();
  processing_ = false;
  if (!ok || closed_.load(std::memory_order_acquire)) return false;
  if (filled && read_buf_.size() < 4 * kInitialReadBuffer)
    read_buf_.resize(read_buf_.size() * 2);
  if (!writing_ && !write_queue_.empty()) DoWrite();
  return !reads_paused_;
}

void Connection::MaybeResumeReads() {
  if (!reads_paused_ || resume_posted_ ||
      queued_bytes_ > options_.pause_reads_above_bytes / 2)
    return;
  // Posted: DoWrite may run inside TakeRead, whose caller must not read too.
  resume_posted_ = true;
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->ResumeReads(); });
}

void Connection::ResumeReads() {
  resume_posted_ = false;
  if (!reads_paused_ || closed_.load(std::memory_order_acquire)) return;
  reads_paused_ = false;
  if (!TakeRead(0)) return;  // closed, or paused again by what was buffered
  if (tls_) {
    DoTlsRead();
  } else {
    DoRead();
  }
}

bool Connection::ProcessFrames() {
  size_t consumed = 0;
  while (true) {
    if (options_.pause_reads_above_bytes > 0 &&
        queued_bytes_ > options_.pause_reads_above_bytes) {
      if (!pause_logged_) {  // once per connection: a big consumer pauses often
        pause_logged_ = true;
        TH_LOG(remoting, kInfo,
               "pausing reads from {}: {} bytes queued for it (more than {}); "
               "its requests wait until half of that is written",
               remote_address_, queued_bytes_,
               options_.pause_reads_above_bytes);
      }
      reads_paused_ = true;
      break;
    }
    auto avail = std::span<const std::byte>(read_buf_.data() + consumed,
                                            read_len_ - consumed);
    Result<size_t> frame_size = PeekFrameSize(avail, options_.max_frame_length);
    if (!frame_size.ok()) {
      TH_LOG(remoting, kWarn, "closing {}: {}", remote_address_,
             frame_size.status().ToString());
      CloseOnStrand("bad frame");
      return false;
    }
    if (*frame_size == 0 || *frame_size > avail.size()) {
      // A frame larger than the buffer: move it to the front; the buffer
      // then grows with the bytes that arrive (each read that fills it
      // doubles it, up to the frame), not to the size the peer announced, so
      // a peer that announces 16 MiB frames and stalls costs what it sent.
      if (*frame_size > read_buf_.size()) {
        std::memmove(read_buf_.data(), read_buf_.data() + consumed,
                     read_len_ - consumed);
        read_len_ -= consumed;
        return true;
      }
      break;
    }
    Result<RemotingCommand> cmd = DecodeFramePayload(
        avail.subspan(kLengthFieldSize, *frame_size - kLengthFieldSize));
    consumed += *frame_size;
    if (!cmd.ok()) {
      TH_LOG(remoting, kWarn, "closing {}: undecodable frame: {}",
             remote_address_, cmd.status().ToString());
      CloseOnStrand("undecodable frame");
      return false;
    }
    if (cmd->IsResponse()) {
      HandleResponse(std::move(cmd).value());
    } else {
      handler_->OnRequest(shared_from_this(), std::move(cmd).value());
    }
    if (closed_.load(std::memory_order_acquire)) return false;
  }
  if (consumed > 0) {
    std::memmove(read_buf_.data(), read_buf_.data() + consumed,
                 read_len_ - consumed);
    read_len_ -= consumed;
  }
  if (read_len_ == 0 && read_buf_.size() > 4 * kInitialReadBuffer) {
    read_buf_.resize(kInitialReadBuffer);
    read_buf_.shrink_to_fit();
  }
  return true;
}

void Connection::HandleResponse(RemotingCommand response) {
  auto it = pending_.find(response.opaque());
  if (it == pending_.end()) {
    TH_LOG(remoting, kDebug, "{}: response with unknown opaque {} dropped",
           remote_address_, response.opaque());
    return;
  }
  Unlink(&it->second);
  ResponseCallback cb = std::move(it->second.cb);
  pending_.erase(it);
  cb(std::move(response));
}

Status Connection::Send(const RemotingCommand& cmd) {
  OutFrame frame;
  TH_RETURN_IF_ERROR(EncodeFramePrefix(cmd, &frame.prefix));
  frame.segments = cmd.body_segments();
  if (closed_.load(std::memory_order_acquire)) return Status::OK();
  if (OnStrand()) {
    Enqueue(std::move(frame));
    return Status::OK();
  }
  Handover(Outgoing{std::move(frame), 0, std::chrono::milliseconds(0), {}});
  return Status::OK();
}

void Connection::Handover(Outgoing out) {
  bool first;
  {
    MutexLock lock(&inbox_mu_);
    first = inbox_.empty();
    inbox_.push_back(std::move(out));
  }
  if (first) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this()] { self->DrainInbox(); });
  }
}

void Connection::DrainInbox() {
  {
    MutexLock lock(&inbox_mu_);
    draining_.swap(inbox_);
  }
  processing_ = true;
  for (Outgoing& out : draining_) {
    if (out.cb) {
      StartRequest(std::move(out.frame), out.opaque, out.timeout,
                   std::move(out.cb));
    } else {
      Enqueue(std::move(out.frame));
    }
  }
  processing_ = false;
  draining_.clear();
  if (!writing_ && !write_queue_.empty() &&
      !closed_.load(std::memory_order_acquire))
    DoWrite();
}

void Connection::Enqueue(OutFrame frame) {
  if (closed_.load(std::memory_order_acquire)) return;
  queued_bytes_ += frame.size();
  write_queue_.push_back(std::move(frame));
  if (queued_bytes_ > options_.max_pending_write_bytes) {
    TH_LOG(remoting, kWarn,
           "closing {}: {} bytes queued for a peer that does not read",
           remote_address_, queued_bytes_);
    // Closed at once for senders; the callbacks of pending requests run from
    // the strand later, never inside the Send that overflowed.
    closed_.store(true, std::memory_order_release);
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->CloseOnStrand("write queue full");
    });
    return;
  }
  if (!writing_ && !processing_) DoWrite();
}

void Connection::DoWrite() {
  if (tls_copy_) {
    DoTlsWrite();
    return;
  }
  while (true) {
    if (closed_.load(std::memory_order_acquire)) {
      writing_ = false;
      return;
    }
    if (write_index_ == write_iovs_.size()) {
      // The batch is on the socket: release it (and its segments'
      // keep-alives), then take the next one.
      in_flight_.clear();
      write_iovs_.clear();
      write_index_ = 0;
      while (!write_queue_.empty() && in_flight_.size() < kMaxFramesPerWrite) {
        in_flight_.push_back(std::move(write_queue_.front()));
        write_queue_.pop_front();
      }
      if (in_flight_.empty()) {
        writing_ = false;
        return;
      }
      for (OutFrame& f : in_flight_) {
        write_iovs_.push_back(iovec{f.prefix.data(), f.prefix.size()});
        for (const BodySegment& seg : f.segments) {
          if (seg.data.empty()) continue;
          // sendmsg never writes through iov_base.
          write_iovs_.push_back(
              iovec{const_cast<std::byte*>(seg.data.data()), seg.data.size()});
        }
      }
    }
    writing_ = true;
    // One sendmsg for as much of the batch as the socket takes (asio's
    // composed write would split it into 16-buffer writes with a handler
    // round trip between them).
    msghdr msg{};
    msg.msg_iov = write_iovs_.data() + write_index_;
    msg.msg_iovlen =
        std::min(write_iovs_.size() - write_index_, kMaxIovPerCall);
    ssize_t n =
        ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        socket_.async_wait(
            asio::socket_base::wait_write,
            [self = shared_from_this()](const asio::error_code& ec) {
              if (ec) {
                self->writing_ = false;
                self->CloseOnStrand(ec.message());
                return;
              }
              self->DoWrite();
            });
        return;
      }
      writing_ = false;
      CloseOnStrand(std::system_category().message(errno));
      return;
    }
    Touch();
    auto written = static_cast<size_t>(n);
    queued_bytes_ -= std::min(queued_bytes_, written);
    MaybeResumeReads();
    while (written > 0) {
      iovec& v = write_iovs_[write_index_];
      if (written < v.iov_len) {
        v.iov_base = static_cast<char*>(v.iov_base) + written;
        v.iov_len -= written;
        break;
      }
      written -= v.iov_len;
      ++write_index_;
    }
  }
}

void Connection::InvokeAsync(RemotingCommand request,
                             std::chrono::milliseconds timeout,
                             ResponseCallback cb) {
  request.set_opaque(handler_->NextOpaque());
  request.set_flag(request.flag() & ~(kFlagResponse | kFlagOneway));
  OutFrame frame;
  if (Status s = EncodeFramePrefix(request, &frame.prefix); !s.ok()) {
    cb(s);
    return;
  }
  frame.segments = request.body_segments();
  if (OnStrand()) {
    StartRequest(std::move(frame), request.opaque(), timeout, std::move(cb));
    return;
  }
  Handover(
      Outgoing{std::move(frame), request.opaque(), timeout, std::move(cb)});
}

void Connection::StartRequest(OutFrame frame, int32_t opaque,
                              std::chrono::milliseconds timeout,
                              ResponseCallback cb) {
  if (closed_.load(std::memory_order_acquire)) {
    // Posted even when already on the strand: a caller may hold a lock its
    // callback takes.
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), cb = std::move(cb)] {
                 cb(Status::IOError(fmt::format("connection to {} closed: {}",
                                                self->remote_address_,
                                                self->close_reason_)));
               });
    return;
  }
  uint32_t lane = 0;
  while (lane < lanes_.size() && lanes_[lane].timeout != timeout) ++lane;
  if (lane == lanes_.size()) lanes_.push_back(TimeoutLane{timeout});
  auto [it, inserted] = pending_.try_emplace(opaque);
  Pending& p = it->second;
  if (!inserted) {
    // The 31-bit opaque wrapped onto a request still waiting (after 2^31
    // requests): that one can no longer be matched, so it fails now.
    Unlink(&p);
    asio::post(socket_.get_executor(), [self = shared_from_this(), opaque,
                                        old = std::move(p.cb)] {
      old(Status::IOError(fmt::format("opaque {} reused before {} answered",
                                      opaque, self->remote_address_)));
    });
  }
  p.cb = std::move(cb);
  p.deadline = std::chrono::steady_clock::now() + timeout;
  p.opaque = opaque;
  p.lane = lane;
  TimeoutLane& l = lanes_[lane];
  p.prev = l.tail;
  p.next = nullptr;
  if (l.tail != nullptr) {
    l.tail->next = &p;
  } else {
    l.head = &p;
  }
  l.tail = &p;
  if (p.deadline < sweep_at_) ArmSweep(p.deadline);
  Enqueue(std::move(frame));
}

void Connection::Unlink(Pending* p) {
  TimeoutLane& l = lanes_[p->lane];
  if (p->prev != nullptr) {
    p->prev->next = p->next;
  } else {
    l.head = p->next;
  }
  if (p->next != nullptr) {
    p->next->prev = p->prev;
  } else {
    l.tail = p->prev;
  }
  p->prev = p->next = nullptr;
}

void Connection::ArmSweep(SteadyTime at) {
  sweep_at_ = at;
  sweep_timer_.expires_at(at);
  sweep_timer_.async_wait(
      [self = shared_from_this()](const asio::error_code& ec) {
        if (ec || self->closed_.load(std::memory_order_acquire)) return;
        self->sweep_at_ = SteadyTime::max();
        self->SweepTimeouts();
      });
}

void Connection::SweepTimeouts() {
  const SteadyTime now = std::chrono::steady_clock::now();
  std::vector<std::pair<int32_t, ResponseCallback>> expired;
  for (TimeoutLane& l : lanes_) {
    while (l.head != nullptr && l.head->deadline <= now) {
      Pending* p = l.head;
      Unlink(p);
      expired.emplace_back(p->opaque, std::move(p->cb));
      pending_.erase(p->opaque);
    }
  }
  SteadyTime next = SteadyTime::max();
  for (const TimeoutLane& l : lanes_)
    if (l.head != nullptr) next = std::min(next, l.head->deadline);
  if (next < sweep_at_) ArmSweep(next);
  for (auto& [opaque, cb] : expired) {
    cb(Status::Timeout(fmt::format("no response from {} for opaque {}",
                                   remote_address_, opaque)));
  }
}

Status Connection::InvokeOneway(RemotingCommand request) {
  request.set_opaque(handler_->NextOpaque());
  request.set_flag((request.flag() & ~kFlagResponse) | kFlagOneway);
  if (closed_.load(std::memory_order_acquire)) {
    return Status::IOError(
        fmt::format("connection to {} closed", remote_address_));
  }
  return Send(request);
}

void Connection::Close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->CloseOnStrand("closed locally");
  });
}

void Connection::ArmIdleTimer() {
  idle_timer_.expires_at(last_activity_ + options_.idle_timeout);
  idle_timer_.async_wait(
      [self = shared_from_this()](const asio::error_code& ec) {
        if (ec || self->closed_.load(std::memory_order_acquire)) return;
        if (std::chrono::steady_clock::now() - self->last_activity_ >=
            self->options_.idle_timeout) {
          TH_LOG(remoting, kInfo, "closing idle connection {}",
                 self->remote_address_);
          self->CloseOnStrand("idle");
          return;
        }
        self->ArmIdleTimer();
      });
}

void Connection::CloseOnStrand(std::string_view reason) {
  if (close_notified_) return;
  close_notified_ = true;
  close_reason_ = reason;
  closed_.store(true, std::memory_order_release);
  TH_LOG(remoting, kDebug, "connection {} closed: {}", remote_address_, reason);
  if (tls_) tls_->SendCloseNotify();
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  idle_timer_.cancel(ec);
  sweep_timer_.cancel(ec);
  sweep_at_ = SteadyTime::min();  // never re-armed
  write_queue_.clear();
  queued_bytes_ = 0;
  auto pending = std::move(pending_);
  pending_.clear();
  lanes_.clear();
  for (auto& [opaque, p] : pending) {
    p.cb(Status::IOError(
        fmt::format("connection to {} closed: {}", remote_address_, reason)));
  }
  handler_->OnClose(shared_from_this());
}

void Responder::Stamp(RemotingCommand& response) const {
  response.set_opaque(opaque_);
  response.set_flag((response.flag() | kFlagResponse) & ~kFlagOneway);
  response.set_serialize_type(serialize_type_);
}

void Responder::Send(RemotingCommand response) const {
  if (oneway_) return;
  if (observer_)
    observer_->OnResponse(request_code_, response.code(), start_ns_);
  if (sink_) {
    Stamp(response);
    (*sink_)(std::move(response));
    return;
  }
  auto conn = conn_.lock();
  if (!conn) return;
  Stamp(response);
  Status s = conn->Send(response);
  if (!s.ok()) {
    // The response itself could not be encoded (e.g. a code beyond a binary
    // header's range); the client still gets an answer for its opaque.
    TH_LOG(remoting, kWarn, "cannot encode response {}: {}",
           response.DebugString(), s.ToString());
    RemotingCommand fallback;
    fallback.set_code(response_code::kSystemError);
    fallback.set_remark(std::string(s.message()));
    fallback.set_opaque(opaque_);
    fallback.set_flag(kFlagResponse);
    fallback.set_serialize_type(SerializeType::kJson);
    conn->Send(fallback)
        .IgnoreError();  // a JSON header with a short remark always encodes
  }
}

void ProcessorTable::Register(int32_t code, RequestHandler handler) {
  handlers_[code] = std::move(handler);
}

void ProcessorTable::Dispatch(const std::shared_ptr<Connection>& conn,
                              RemotingCommand&& request) const {
  Responder responder(conn, request);
  auto it = handlers_.find(request.code());
  if (it != handlers_.end()) {
    it->second(std::move(request), std::move(responder));
    return;
  }
  if (default_) {
    default_(std::move(request), std::move(responder));
    return;
  }
  TH_LOG(remoting, kDebug, "{}: request code {} not supported",
         conn->remote_address(), request.code());
  responder.Send(request.CreateResponse(
      response_code::kRequestCodeNotSupported,
      fmt::format(" request type {} not supported", request.code())));
}

namespace {

void RunEventLoop(asio::io_context& loop, int busy_poll_us,
                  asio::error_code& ec) {
  if (busy_poll_us <= 0) {
    loop.run(ec);
    return;
  }
  using Clock = std::chrono::steady_clock;
  const auto window = std::chrono::microseconds(busy_poll_us);
  while (!loop.stopped()) {
    auto until = Clock::now() + window;
    do {
      if (loop.poll(ec) > 0) {
        until = Clock::now() + window;
      } else {
        // Nothing ready: let a runnable thread of this core have it before the
        // next poll (a client or the dispatch thread on a small machine) rather
        // than spinning through its time slice.
        std::this_thread::yield();
      }
      if (ec || loop.stopped()) return;
    } while (Clock::now() < until);
    loop.run_one(ec);
    if (ec) return;
  }
}

}  // namespace

std::thread StartIoThread(asio::io_context& io, std::string name,
                          int busy_poll_us) {
  return std::thread([&io, name = std::move(name), busy_poll_us] {
    SetCurrentThreadName(name);
    asio::error_code ec;
    RunEventLoop(io, busy_poll_us, ec);
    if (ec) TH_LOG(remoting, kError, "{} stopped: {}", name, ec.message());
  });
}

std::vector<std::thread> StartIoThreads(asio::io_context& io, int n,
                                        const std::string& prefix) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.push_back(StartIoThread(io, fmt::format("{}-{}", prefix, i)));
  return threads;
}

}  // namespace thruster::remoting
