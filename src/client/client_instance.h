#pragma once

// The shared core of a Thruster client process (what RocketMQ's Java client
// calls MQClientInstance, spec/remoting.md §1.1, §6): one RemotingClient (one
// connection per broker or name server, every producer, consumer and admin call
// multiplexed over it), the name-server lookups (§3.5.3-§3.5.5), a cache of
// broker name → master address learnt from routes, and the heartbeat that
// registers this process's groups with every known broker (§3.4.6, §6.3).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/service_thread.h"
#include "common/status.h"
#include "remoting/remoting_client.h"
#include "remoting/remoting_command.h"
#include "remoting/route_data.h"

namespace thruster::client {

struct ClientOptions {
  // Name servers, ';'-separated like RocketMQ's namesrvAddr
  // ("127.0.0.1:9876;127.0.0.1:9877").
  std::string namesrv_addr = "127.0.0.1:9876";
  // Default timeout of a synchronous request.
  std::chrono::milliseconds timeout{3000};
  // Threads running the connections' io (and every async callback).
  int io_threads = 1;
  // Part of the client id `ip@pid#instance`.
  std::string instance_name = "DEFAULT";
  // Heartbeat interval to every known broker (§3.6: 30 s); 0 disables the
  // heartbeat thread (explicit SendHeartbeats() still works).
  int64_t heartbeat_interval_ms = 30000;
  // Plain ACL credentials: when both are set every request is signed
  // (spec/remoting.md §7.1).
  std::string access_key;
  std::string secret_key;
  // TLS to name servers and brokers (tls.enable, tls.client.*).
  remoting::TlsClientOptions tls;
};

// A consumer group this process registers in its heartbeats.
struct ConsumerRegistration {
  std::string group;
  std::set<std::string> topics;  // subscribed with "*"
  // CONSUME_ACTIVELY (pull) or CONSUME_PASSIVELY (push).
  std::string consume_type = "CONSUME_ACTIVELY";
  std::string consume_from_where = "CONSUME_FROM_FIRST_OFFSET";
};

// Lifecycle: construct → Start() → use from any thread → Stop() (idempotent,
// also run by the destructor; in-flight requests then fail). Thread-safe.
// Synchronous calls block the caller, so never make them from an async
// callback (those run on the client's net threads).
class ClientInstance {
 public:
  explicit ClientInstance(ClientOptions options = {});
  ~ClientInstance();
  ClientInstance(const ClientInstance&) = delete;
  ClientInstance& operator=(const ClientInstance&) = delete;

  Status Start();
  // Unregisters this process's groups from the brokers it knows (best effort)
  // and closes every connection.
  void Stop();

  const ClientOptions& options() const { return options_; }
  // "ip@pid#instance", this process's identity in consumer lists (§3.4.6).
  const std::string& client_id() const { return client_id_; }
  // This host's IPv4 address as 4 bytes (first non-loopback interface, else
  // 127.0.0.1); used in the client id and UNIQ_KEYs.
  uint32_t client_ip() const { return client_ip_; }
  remoting::RemotingClient& remoting() { return remoting_; }

  // A request with this code in the language and version this client reports,
  // with the ROCKETMQ binary header.
  static remoting::RemotingCommand NewRequest(int32_t code);

  // Sends `request` to the first name server that answers: IOError naming every
  // address when none can be reached (the response itself is returned whatever
  // its code).
  Result<remoting::RemotingCommand> InvokeNameServer(
      const remoting::RemotingCommand& request);
  // Sends `request` to a broker and waits up to the default timeout. IOError
  // "broker ADDR unreachable: ..." when the connection fails, Timeout when no
  // answer comes.
  Result<remoting::RemotingCommand> InvokeBroker(
      const std::string& addr, remoting::RemotingCommand request);

  // GET_ROUTEINFO_BY_TOPIC (§3.5.3). NotFound "topic T does not exist" when
  // the name server has no route for it. Remembers the master addresses.
  Result<remoting::TopicRouteData> FetchTopicRoute(std::string_view topic);
  // GET_BROKER_CLUSTER_INFO (§3.5.4). Remembers the master addresses.
  Result<remoting::ClusterInfo> FetchClusterInfo();
  // GET_ALL_TOPIC_LIST_FROM_NAMESERVER (§3.5.5).
  Result<std::vector<std::string>> FetchAllTopics();

  // The master address of a broker name from the routes fetched so far
  // (NotFound when none named it).
  Result<std::string> FindBrokerMaster(std::string_view broker_name);
  // Every master address learnt so far.
  std::vector<std::string> KnownBrokerAddrs();

  // Adds groups to the heartbeat (replacing a consumer group of the same name).
  void RegisterProducerGroup(std::string group);
  void RegisterConsumer(ConsumerRegistration consumer);
  // HEART_BEAT to every known master now (§3.4.6): OK when every broker
  // accepted it, else the first failure.
  Status SendHeartbeats();

  // Called for a broker's CHECK_TRANSACTION_STATE about a half message of the
  // producer group it was set for (spec/transactions.md §6.3), with the
  // request and the connection it came on (to answer END_TRANSACTION there).
  // Runs on a net thread: must not block.
  using TransactionCheckHandler = std::function<void(
      const remoting::RemotingCommand& check,
      const std::shared_ptr<remoting::Connection>& connection)>;
  // Sets (or with an empty handler removes) the group's handler. Checks for
  // groups without one are ignored, as the Go and C++ clients do.
  void SetTransactionCheckHandler(const std::string& group,
                                  TransactionCheckHandler handler);

 private:
  void OnCheckTransactionState(const remoting::RemotingCommand& check,
                               const remoting::Responder& responder);
  class HeartbeatThread : public ServiceThread {
   public:
    HeartbeatThread(ClientInstance* owner, int64_t interval_ms)
        : ServiceThread("client-hb"),
          owner_(owner),
          interval_ms_(interval_ms) {}
    ~HeartbeatThread() override { Stop(); }

   protected:
    void Run() override;

   private:
    ClientInstance* owner_;
    int64_t interval_ms_;
  };

  void RememberBrokers(const std::vector<remoting::BrokerData>& brokers);
  std::string BuildHeartbeatBody();

  const ClientOptions options_;
  std::vector<std::string> namesrv_addrs_;
  uint32_t client_ip_ = 0;
  std::string client_id_;
  remoting::RemotingClient remoting_;
  HeartbeatThread heartbeat_;
  bool started_ = false;
  bool stopped_ = false;

  Mutex mu_;
  std::map<std::string, std::string, std::less<>> masters_ TH_GUARDED_BY(mu_);
  std::set<std::string> producer_groups_ TH_GUARDED_BY(mu_);
  std::map<std::string, ConsumerRegistration> consumers_ TH_GUARDED_BY(mu_);
  std::map<std::string, TransactionCheckHandler, std::less<>> check_handlers_
      TH_GUARDED_BY(mu_);
};

// Maps a failed response to a Status whose message names the code, its
// RocketMQ name and the remark, prefixed by `context`: TOPIC_NOT_EXIST and
// QUERY_NOT_FOUND → NotFound, SYSTEM_BUSY → Busy, anything else → IOError. OK
// for SUCCESS.
Status StatusFromResponse(const remoting::RemotingCommand& response,
                          std::string_view context);
// "SUCCESS", "TOPIC_NOT_EXIST", ... ("CODE_<n>" for codes not listed).
std::string ResponseCodeName(int32_t code);

}  // namespace thruster::client
