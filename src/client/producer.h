#pragma once

// A producer of the RocketMQ remoting protocol (spec/remoting.md §3.4.1, §5,
// §6.1): SEND_MESSAGE_V2 with the compact one-letter header, queue choice round
// robin over the topic's writable queues, client-side UNIQ_KEYs, synchronous
// sends with retries and asynchronous sends with a window of in-flight
// requests.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/client_instance.h"
#include "client/message_queue.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "common/status.h"
#include "message/uniq_key.h"

namespace thruster::client {

struct ProducerOptions {
  std::string group = "THRUSTER_PRODUCER";
  // Most asynchronous sends outstanding at once. SendAsync blocks when the
  // window is full and resumes once max(1, max_in_flight / 8) answers are in,
  // so a deep window refills in bursts (fewer thread switches); at 1 it is
  // strictly one at a time.
  int max_in_flight = 100;
  std::chrono::milliseconds send_timeout{3000};
  // Queue count asked for when the broker auto-creates the topic from TBW102
  // (§6.2).
  int default_topic_queue_nums = 4;
  // Extra attempts of a synchronous send after a retryable failure (§2.6,
  // §6.1).
  int retry_times = 2;
  // How long a route is used before it is fetched again (§3.6: 30 s).
  int64_t route_refresh_ms = 30000;
};

// A message to send. `body` must stay valid until Send returns; for
// SendAsync either give `body_owner` (kept alive until the bytes are on the
// socket, so the body is sent without a copy) or the body is copied.
struct Message {
  std::string topic;
  std::string tags;  // one tag (TAGS); empty for none
  std::string keys;  // space-separated business keys (KEYS); empty for none
  std::span<const std::byte> body;
  std::shared_ptr<const void> body_owner;
  int32_t flag = 0;
  // Further user properties.
  std::map<std::string, std::string> properties;
  // Send to this queue id of the first broker instead of round robin (< 0:
  // round robin).
  int32_t queue_id = -1;
  // The request's sysFlag (PREPARED for a half message; see
  // TransactionProducer).
  int32_t sys_flag = 0;

  // 5.x timer messages (RocketMQ's Message.setDeliverTimeMs /
  // setDelayTimeSec / setDelayTimeMs): the broker keeps the message until
  // then, to 1 s precision by default, at most timerMaxDelaySec (3 days)
  // ahead. A time already passed delivers at once.
  // Delivery at `epoch_ms` (TIMER_DELIVER_MS).
  void SetDeliverTimeMs(int64_t epoch_ms) {
    properties["TIMER_DELIVER_MS"] = std::to_string(epoch_ms);
  }
  // Delivery `seconds` after the broker received it (TIMER_DELAY_SEC).
  void SetDelayTimeSec(int64_t seconds) {
    properties["TIMER_DELAY_SEC"] = std::to_string(seconds);
  }
  // Delivery `ms` after the broker received it (TIMER_DELAY_MS).
  void SetDelayTimeMs(int64_t ms) {
    properties["TIMER_DELAY_MS"] = std::to_string(ms);
  }
};

enum class SendStatus {
  kSendOk,
  kFlushDiskTimeout,
  kFlushSlaveTimeout,
  kSlaveNotAvailable
};
std::string_view SendStatusName(SendStatus s);

struct SendResult {
  SendStatus status = SendStatus::kSendOk;
  std::string msg_id;         // the client's UNIQ_KEY
  std::string offset_msg_id;  // the broker's offset id (§5.8)
  MessageQueue queue;
  int64_t queue_offset = 0;
  // For a timer message the broker parked (5.3): what RecallMessage takes to
  // cancel it before it is due; empty otherwise.
  std::string recall_handle;
};

using SendCallback = std::function<void(Result<SendResult>)>;

// Lifecycle: construct (over a started ClientInstance that outlives it; starts
// the `route-refresh` thread) → Send / SendAsync / TrySendAsync from any
// thread → Flush() → destroy (which waits for the outstanding sends and stops
// the thread). Thread-safe.
class Producer {
 public:
  Producer(ClientInstance* client, ProducerOptions options = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Sends and waits for the broker's answer. NotFound when the topic has no
  // route and auto-creation is off; IOError / Timeout / the broker's error code
  // otherwise (after `retry_times` further attempts on retryable failures).
  Result<SendResult> Send(const Message& msg);
  // Waits while `max_in_flight` sends are outstanding, then sends; `cb` runs
  // exactly once on a net thread (it must not block) with the result.
  // Returns an error (and does not call `cb`) only when the message cannot be
  // sent at all (no route).
  Status SendAsync(const Message& msg, SendCallback cb);
  // SendAsync that never blocks, so it may be called from a send callback (a
  // net thread) to keep a chain of sends going: it does not wait for the
  // window (the caller bounds its own sends in flight; they still count for
  // Flush()), and it fails with NotFound instead of asking the name server
  // when the topic's route is not loaded yet (send once, or call
  // FetchPublishQueues, first). A connection to the broker that has to be
  // re-established is opened synchronously, which on a net thread waits for
  // that very thread: from a callback, send only after a successful answer
  // (its connection is then open).
  Status TrySendAsync(const Message& msg, SendCallback cb);
  // Waits until every asynchronous send has completed.
  void Flush() TH_EXCLUDES(window_mu_);

  // RECALL_MESSAGE (RocketMQ 5.3, spec/schedule-and-timer.md §7): cancels the
  // timer message of `topic` whose send answered `recall_handle`, on the
  // broker the handle names; returns the message's UNIQ_KEY. The broker's
  // refusal (NO_PERMISSION when recallMessageEnable is off, ILLEGAL_OPERATION
  // for a bad or expired handle, ...) as an error; InvalidArgument for a handle
  // that does not decode, NotFound when no route names its broker.
  Result<std::string> RecallMessage(const std::string& topic,
                                    const std::string& recall_handle);

  // The writable queues of `topic` as the producer chooses among them (§6.1).
  Result<std::vector<MessageQueue>> FetchPublishQueues(
      const std::string& topic);

 private:
  struct PublishInfo {
    std::vector<MessageQueue> queues;
    std::vector<std::string> addrs;  // master address of queues[i]
    int64_t fetched_ms = 0;
    bool from_default_topic = false;  // route of TBW102 (§6.2)
    // RocketMQ's sendWhichQueue: the round-robin position of this topic's
    // sends, per topic so that a producer sending to many topics still
    // spreads each topic's messages over all of its queues. Carried over when
    // the route is refreshed.
    mutable std::atomic<uint32_t> send_which_queue{0};
  };
  struct Target {
    MessageQueue queue;
    std::string addr;
  };

  // Keeps the routes of the topics in use fresh (§3.6: every
  // route_refresh_ms; every second while a topic still rides on TBW102's
  // route), so sends never wait for the name server once a route is loaded.
  class RouteRefresher : public ServiceThread {
   public:
    explicit RouteRefresher(Producer* owner)
        : ServiceThread("route-refresh"), owner_(owner) {}
    ~RouteRefresher() override { Stop(); }

   protected:
    void Run() override;

   private:
    Producer* owner_;
  };

  // The cached route, else (when `may_block`) one fetched now.
  Result<std::shared_ptr<const PublishInfo>> GetPublishInfo(
      const std::string& topic, bool may_block);
  void RefreshRoutes();
  Status SendAsyncImpl(const Message& msg, SendCallback cb, bool may_block)
      TH_EXCLUDES(window_mu_);
  Result<std::shared_ptr<const PublishInfo>> LoadPublishInfo(
      const std::string& topic);
  // Picks the next queue round robin, avoiding `avoid_broker` when possible.
  Result<Target> SelectQueue(const Message& msg,
                             const std::string& avoid_broker,
                             bool may_block = true);
  remoting::RemotingCommand BuildRequest(const Message& msg,
                                         const Target& target,
                                         const char* uniq_key);
  static Result<SendResult> ParseResponse(const remoting::RemotingCommand& resp,
                                          const Target& target,
                                          std::string uniq_key);

  void AcquireSlot() TH_EXCLUDES(window_mu_);
  void ReleaseSlot() TH_EXCLUDES(window_mu_);

  ClientInstance* const client_;
  const ProducerOptions options_;
  message::UniqKeyGenerator uniq_;

  Mutex mu_;
  std::map<std::string, std::shared_ptr<const PublishInfo>> publish_
      TH_GUARDED_BY(mu_);

  Mutex window_mu_;
  CondVar window_cv_;
  int in_flight_ TH_GUARDED_BY(window_mu_) = 0;
  int waiters_ TH_GUARDED_BY(window_mu_) = 0;  // threads in AcquireSlot/Flush
  const int resume_slots_;

  RouteRefresher refresher_;  // last: stopped before the members it reads
};

// True for the response codes after which RocketMQ producers retry on another
// queue (§2.6).
bool IsRetryableSendCode(int32_t code);

}  // namespace thruster::client
