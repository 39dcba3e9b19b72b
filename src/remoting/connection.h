#pragma once

// One TCP connection carrying remoting frames in both directions
// (spec/remoting.md §1.1, §2.3): requests and responses are pipelined and
// matched by opaque, either side may originate requests.

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <sys/uio.h>  // iovec

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/status.h"
#include "remoting/frame_codec.h"
#include "remoting/remoting_command.h"
#include "remoting/tls.h"

namespace thruster::remoting {

class Connection;

// Completion of a request this side sent: the response, or Timeout / IOError
// ("connection closed") / InvalidArgument (could not encode). Runs on a net
// thread: must not block.
using ResponseCallback = std::function<void(Result<RemotingCommand>)>;

struct ConnectionOptions {
  // Largest `length` field accepted (§1.2); a larger frame closes the
  // connection.
  size_t max_frame_length = kDefaultMaxFrameLength;
  // Close after this long without a completed read or write (§1.1: 120 s). A
  // write stuck on a half-open peer counts as no traffic.
  std::chrono::milliseconds idle_timeout{120000};
  // Bytes queued for a peer that does not read; beyond this the connection is
  // closed so one slow client cannot hold unbounded memory.
  size_t max_pending_write_bytes = 256u * 1024 * 1024;
  // Stop taking requests off the socket while more than this is queued for
  // the peer, and take them again once half of it is written (0: never). A
  // peer that asks for more than it reads at once (a consumer of thousands of
  // queues with one pull each in flight) then waits for its answers in its own
  // socket, not in this queue, and is served at the pace it reads instead of
  // being cut off at max_pending_write_bytes; a peer that reads nothing is
  // closed by idle_timeout. Only for a side whose peer reads while it writes
  // (a server: the clients' io threads always read).
  size_t pause_reads_above_bytes = 0;
};

// What a Connection calls back into (RemotingServer, RemotingClient). Must
// outlive every Connection it owns (the owner closes them and joins its io
// threads before it goes away).
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // A request (not a response) arrived. Runs on the connection's strand (a net
  // thread): must not block. `request` may be moved from (taken by reference
  // so that the hand-offs up to the processor move it once).
  virtual void OnRequest(const std::shared_ptr<Connection>& conn,
                         RemotingCommand&& request) = 0;
  // The connection closed (peer, idle, protocol error or Close()). Called once,
  // on the strand.
  virtual void OnClose(const std::shared_ptr<Connection>& conn) = 0;
  // Opaque for a request this side originates.
  virtual int32_t NextOpaque() = 0;
};

// Lifecycle: created around a connected socket → Start() → frames flow → closed
// once (by either side, idle timeout, protocol error, Close()) → destroyed when
// the last shared_ptr goes. Thread-safe: every public method may be called from
// any thread; all socket work runs on the connection's strand. Reads and writes
// are independent, so a peer that stops reading never delays reading, and never
// delays other connections.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket` must be bound to a strand executor (asio::make_strand); `handler`
  // must outlive the connection's activity (see ConnectionHandler). With `tls`
  // the connection speaks TLS: a client context handshakes at Start(); a
  // server context first looks at the peer's first byte (0x16: TLS; anything
  // else: plaintext under kPermissive, closed under kEnforcing). Nothing is
  // written before the handshake completes.
  Connection(asio::ip::tcp::socket socket, ConnectionHandler* handler,
             ConnectionOptions options,
             std::shared_ptr<const TlsContext> tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading (after the TLS handshake, if any) and the idle timer. Call
  // once.
  void Start();

  // Queues an encoded-on-the-caller's-thread frame for `cmd` (header, body,
  // then its body segments, which are written straight from their memory; their
  // keep-alives are released after the write or on close). Errors only for
  // commands that cannot be encoded; a closed connection drops the frame
  // silently (the peer is gone). Called on the connection's strand (from a
  // handler) the frame is queued at once, otherwise it is posted there; frames
  // queued while a read is being processed leave together after it.
  Status Send(const RemotingCommand& cmd);

  // Sends a request originated by this side: assigns an opaque from the
  // handler, then `cb` gets the matching response, or Timeout after `timeout`
  // (one timer per connection tracks every deadline), or IOError when the
  // connection closes first. `cb` never runs inside this call unless the
  // request cannot be encoded.
  void InvokeAsync(RemotingCommand request, std::chrono::milliseconds timeout,
                   ResponseCallback cb);
  // Sends a oneway request (flag bit 1 set, opaque assigned); no response is
  // expected.
  Status InvokeOneway(RemotingCommand request);

  // Closes the socket and fails pending requests. Idempotent; asynchronous
  // (OnClose follows on the strand).
  void Close();

  bool is_open() const { return !closed_.load(std::memory_order_acquire); }
  // "ip:port" of the peer, fixed at construction ("" if the socket had no
  // peer).
  const std::string& remote_address() const { return remote_address_; }
  // The peer's endpoint, fixed at construction (default-constructed if the
  // socket had no peer).
  const asio::ip::tcp::endpoint& remote_endpoint() const {
    return remote_endpoint_;
  }
  // Unique per process; stable key for maps of connections.
  uint64_t id() const { return id_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using Strand = asio::strand<asio::io_context::executor_type>;

  struct OutFrame {
    std::string prefix;
    std::vector<BodySegment> segments;
    size_t size() const;
  };
  // A request waiting for its response. Requests with the same timeout form a
  // lane: a list in send order, so deadlines ascend along it and one timer per
  // connection, set to the earliest lane head, covers them all (RocketMQ
  // likewise scans its response table instead of arming a timer per request).
  struct Pending {
    ResponseCallback cb;
    SteadyTime deadline;
    int32_t opaque = 0;
    uint32_t lane = 0;
    Pending* prev = nullptr;
    Pending* next = nullptr;
  };
  // A frame handed over by another thread, with its response callback when it
  // is a request (InvokeAsync).
  struct Outgoing {
    OutFrame frame;
    int32_t opaque = 0;
    std::chrono::milliseconds timeout{0};
    ResponseCallback cb;  // empty for Send
  };
  struct TimeoutLane {
    std::chrono::milliseconds timeout{0};
    Pending* head = nullptr;
    Pending* tail = nullptr;
  };

  // True on a thread running this connection's strand: work can be done now
  // instead of posted.
  bool OnStrand() const { return strand_ && strand_->running_in_this_thread(); }
  // All private methods below run on the strand.
  void DoRead();
  void OnRead(const asio::error_code& ec, size_t n);
  // Consumes every complete frame in the read buffer; false when the connection
  // was closed for a bad frame.
  bool ProcessFrames();
  void HandleResponse(RemotingCommand response);
  // Registers `cb` for `opaque` and queues the request's frame.
  void StartRequest(OutFrame frame, int32_t opaque,
                    std::chrono::milliseconds timeout, ResponseCallback cb);
  void Unlink(Pending* p);
  // Fails every pending request whose deadline has passed; re-arms the timer.
  void SweepTimeouts();
  void ArmSweep(SteadyTime at);
  // Queues a frame; the write starts now, or after the frames of the current
  // read are processed (so their answers leave in one gather write).
  void Enqueue(OutFrame frame);
  // From any thread: hands `out` to the strand. Only the first item into an
  // empty inbox posts a drain, so a burst from one thread (a group commit
  // completing many sends) costs one wake-up and leaves in one write.
  void Handover(Outgoing out) TH_EXCLUDES(inbox_mu_);
  void DrainInbox() TH_EXCLUDES(inbox_mu_);
  // Writes queued frames at once, a batch per non-blocking sendmsg, until the
  // queue is empty or the socket is full, then waits for it to drain. writing_
  // is set while it owns the socket's write side.
  void DoWrite();
  void ArmIdleTimer();
  void CloseOnStrand(std::string_view reason);
  // Bookkeeping after `n` bytes landed in read_buf_: frames dispatched,
  // buffer resized, answers written. False when the connection closed or
  // reading paused (pause_reads_above_bytes): the caller then reads no more.
  bool TakeRead(size_t n);
  // After a write: once a paused read side's queue is down to half the pause
  // threshold, posts ResumeReads.
  void MaybeResumeReads();
  // Takes the frames left in read_buf_ when reading paused, then reads on.
  void ResumeReads();

  // TLS (connection_tls.cc), all on the strand. The plaintext path never
  // enters them: DoRead/OnRead are only used without a session, DoWrite hands
  // over to DoTlsWrite only when tls_copy_ is set.
  void DetectTls();
  void BeginTls();
  void DoHandshake();
  void DoTlsRead();
  void DoTlsWrite();
  // Waits for the socket to be ready for what OpenSSL asked for
  // (SSL_ERROR_WANT_READ / WANT_WRITE), then runs `next`.
  void WaitForTls(int ssl_error, void (Connection::*next)());
  // Logs and closes after a failed OpenSSL call that returned `ret`.
  void FailTls(std::string_view what, int ret);
  void Touch() { last_activity_ = std::chrono::steady_clock::now(); }

  asio::ip::tcp::socket socket_;
  // The socket's strand (nullopt if it was not given one: then everything is
  // posted, as before).
  std::optional<Strand> strand_;
  asio::steady_timer idle_timer_;
  asio::steady_timer sweep_timer_;
  ConnectionHandler* const handler_;
  const ConnectionOptions options_;
  const uint64_t id_;
  asio::ip::tcp::endpoint remote_endpoint_;
  std::string remote_address_;
  // Release store in CloseOnStrand; acquire loads from any thread (is_open,
  // Send's fast path).
  std::atomic<bool> closed_{false};

  // Strand-confined state.
  std::vector<std::byte> read_buf_;
  size_t read_len_ = 0;
  std::deque<OutFrame> write_queue_;
  // The batch being written: its frames, their pieces, and the first piece
  // not yet fully on the socket.
  std::vector<OutFrame> in_flight_;
  std::vector<iovec> write_iovs_;
  size_t write_index_ = 0;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  // Inside ProcessFrames or DrainInbox: frames queued now wait for its end.
  bool processing_ = false;
  // No read is outstanding and frames wait in read_buf_ until the queue
  // drains (pause_reads_above_bytes); resume_posted_: ResumeReads is posted.
  bool reads_paused_ = false;
  bool resume_posted_ = false;
  bool pause_logged_ = false;
  std::vector<Outgoing> draining_;  // DrainInbox's batch; reused
  bool close_notified_ = false;
  std::string close_reason_;  // why CloseOnStrand closed it (for late requests)
  std::chrono::steady_clock::time_point last_activity_;
  // Node-based: a Pending keeps its address while others come and go (the
  // lanes link them).
  std::unordered_map<int32_t, Pending> pending_;
  std::vector<TimeoutLane> lanes_;
  // When sweep_timer_ fires; max() while it is not armed.
  SteadyTime sweep_at_ = SteadyTime::max();

  Mutex inbox_mu_;
  std::vector<Outgoing> inbox_ TH_GUARDED_BY(inbox_mu_);

  // TLS, strand-confined. tls_ctx_ is set for a connection that may speak TLS
  // (reset when a permissive server sees plaintext); tls_ once the handshake
  // starts. tls_copy_: frames are copied into tls_out_ and encrypted by
  // OpenSSL; clear with kTLS, where the kernel encrypts the plaintext gather
  // write (and pulls stay zero-copy).
  std::shared_ptr<const TlsContext> tls_ctx_;
  std::unique_ptr<TlsSession> tls_;
  bool tls_copy_ = false;
  std::string tls_out_;
  size_t tls_out_pos_ = 0;
};

// Answers one received request, now or later, from any thread. Copyable
// (capture it in a long-poll holder or a task for another thread). Holds the
// connection weakly: if the peer is gone by the time of Send(), the response is
// dropped.
//
// A responder built from a Sink instead of a connection hands each response
// (stamped as it would be for the wire) to that function: processors are
// driven that way without a socket. It never expires and has no connection().
// Told of every answer a Responder sends (the broker's rpc latency metric).
// OnResponse runs on the thread that calls Send(); thread-safe.
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  // `start_ns`: what Observe() was given (a steady-clock time).
  virtual void OnResponse(int32_t request_code, int32_t response_code,
                          int64_t start_ns) const = 0;
};

class Responder {
 public:
  using Sink = std::function<void(RemotingCommand response)>;

  Responder() = default;
  Responder(std::weak_ptr<Connection> conn, const RemotingCommand& request)
      : conn_(std::move(conn)),
        opaque_(request.opaque()),
        serialize_type_(request.serialize_type()),
        oneway_(request.IsOneway()) {}
  // `sink` runs on the thread that calls Send().
  Responder(Sink sink, const RemotingCommand& request)
      : sink_(std::make_shared<const Sink>(std::move(sink))),
        opaque_(request.opaque()),
        serialize_type_(request.serialize_type()),
        oneway_(request.IsOneway()) {}

  // Sends `response` with the request's opaque, the response flag and the
  // request's serialize type (§1.6). Does nothing for a oneway request (§2.4).
  // Call at most once per request. Body segments in `response` are sent without
  // copying (see BodySegment).
  void Send(RemotingCommand response) const;
  // From now on Send() reports the answer to `observer` (which must outlive
  // every copy of this responder) with `request_code` and `start_ns`.
  void Observe(const ResponseObserver* observer, int32_t request_code,
               int64_t start_ns) {
    observer_ = observer;
    request_code_ = request_code;
    start_ns_ = start_ns;
  }
  bool oneway() const { return oneway_; }
  int32_t opaque() const { return opaque_; }
  // The connection, or nullptr once it is gone (always for a sink).
  std::shared_ptr<Connection> connection() const { return conn_.lock(); }
  // True once nobody can receive the answer any more: the connection is gone
  // (or there never was one). A sink responder never expires.
  bool expired() const { return !sink_ && conn_.expired(); }

 private:
  // Stamps opaque, response flag and serialize type onto `response`.
  void Stamp(RemotingCommand& response) const;

  std::weak_ptr<Connection> conn_;
  const ResponseObserver* observer_ = nullptr;
  int32_t request_code_ = 0;
  int64_t start_ns_ = 0;
  // Shared so copies stay cheap; null on the connection path.
  std::shared_ptr<const Sink> sink_;
  int32_t opaque_ = 0;
  SerializeType serialize_type_ = SerializeType::kJson;
  bool oneway_ = false;
};

// Handles one request; runs on a net thread, so it must not block (hand slow
// work to another thread and keep the Responder). Every non-oneway request must
// eventually get exactly one Send(). The arguments may be moved from: taken by
// reference, so a handler that takes them by value moves each once, and one
// that passes them on by reference moves nothing.
using RequestHandler =
    std::function<void(RemotingCommand&& request, Responder&& responder)>;

// Request code → handler, with a default that answers
// REQUEST_CODE_NOT_SUPPORTED (§2.6). Not thread-safe for registration; lookups
// are read-only, so register everything before traffic starts.
class ProcessorTable {
 public:
  void Register(int32_t code, RequestHandler handler);
  void SetDefault(RequestHandler handler) { default_ = std::move(handler); }
  void Dispatch(const std::shared_ptr<Connection>& conn,
                RemotingCommand&& request) const;

 private:
  std::unordered_map<int32_t, RequestHandler> handlers_;
  RequestHandler default_;
};

// Starts a thread named `name` running `io` until it stops. With
// `busy_poll_us` > 0 the thread keeps polling for that long after its last
// event before it blocks (see RemotingServerOptions::busy_poll_us).
std::thread StartIoThread(asio::io_context& io, std::string name,
                          int busy_poll_us = 0);
// Starts `n` threads running `io`, named "<prefix>-0", "<prefix>-1", ...
std::vector<std::thread> StartIoThreads(asio::io_context& io, int n,
                                        const std::string& prefix);

}  // namespace thruster::remoting
