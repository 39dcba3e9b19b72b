#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/heartbeat_data.h"
#include "common/mutex.h"
#include "common/result.h"
#include "remoting/connection.h"
#include "remoting/json.h"

// Who is connected (spec/remoting.md §3.4.6–3.4.8, §6.3): producer and consumer
// groups registered by HEART_BEAT, keyed by connection, with each consumer
// group's subscriptions. Registrations go away on UNREGISTER_CLIENT, when their
// connection closes, or after channelExpiredTimeout without a heartbeat.
//
// Lifecycle: construct → use from any thread → destroy. Thread-safe (one
// mutex). Holds connections weakly; the methods that report a membership change
// return the group names, and the caller sends NOTIFY_CONSUMER_IDS_CHANGED
// outside the lock.
namespace thruster::broker {

// A client's registration in one group.
struct ClientChannel {
  std::string client_id;
  std::weak_ptr<remoting::Connection> connection;
  uint64_t connection_id = 0;
  std::string remote_address;
  std::string language;
  int32_t version = 0;
  int64_t last_update_ms = 0;
};

class ClientManager {
 public:
  // Registers (or refreshes) every group of `hb` for the connection. Returns
  // the consumer groups whose membership or subscriptions changed.
  std::vector<std::string> Heartbeat(const HeartbeatData& hb,
                                     const ClientChannel& channel);
  // Removes the connection's registration from the named groups (empty = none).
  // Returns the consumer group when it changed.
  std::vector<std::string> Unregister(uint64_t connection_id,
                                      std::string_view producer_group,
                                      std::string_view consumer_group);
  // Drops every registration of a closed connection; returns the consumer
  // groups that changed.
  std::vector<std::string> OnConnectionClosed(uint64_t connection_id);
  // Drops registrations older than `timeout_ms` at `now_ms`; returns the
  // consumer groups that changed.
  std::vector<std::string> ScanExpired(int64_t now_ms, int64_t timeout_ms);

  std::optional<SubscriptionData> FindSubscription(
      std::string_view group, std::string_view topic) const;
  // clientIDs of the group's live registrations; empty when the group is
  // unknown.
  std::vector<std::string> ConsumerIds(std::string_view group) const;
  // Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every open connection of
  // each clustering group in `groups` (the groups a change was reported for).
  // Call outside any lock; never blocks.
  void NotifyConsumerIdsChanged(const std::vector<std::string>& groups) const;
  // Open connections of a consumer group (for NOTIFY_CONSUMER_IDS_CHANGED).
  std::vector<std::shared_ptr<remoting::Connection>> ConsumerConnections(
      std::string_view group) const;
  // True when `group` is a clustering consumer group (only those are notified).
  bool IsClustering(std::string_view group) const;
  // Consumer groups subscribed to `topic`.
  std::vector<std::string> GroupsSubscribing(std::string_view topic) const;
  // Connection listing for GET_CONSUMER_CONNECTION_LIST; nullopt when the group
  // has no registration.
  std::optional<remoting::json::Value> ConsumerConnectionJson(
      std::string_view group) const;
  // {"connectionSet":[…]} of a producer group for
  // GET_PRODUCER_CONNECTION_LIST; nullopt when the group has no registration.
  std::optional<remoting::json::Value> ProducerConnectionJson(
      std::string_view group) const;
  size_t producer_count() const;
  // An open connection of producer group `group` to ask about a half message
  // (spec/transactions.md §6.1): round robin over the group's registrations;
  // nullptr when none is open.
  std::shared_ptr<remoting::Connection> ProducerConnection(
      std::string_view group) const;
  // The open connection of the client registered (in any group) as
  // `client_id`; nullptr when none (request-reply, remoting.md §6).
  std::shared_ptr<remoting::Connection> FindConnectionByClientId(
      std::string_view client_id) const;
  size_t consumer_count() const;
  // The client id connection `connection_id` registered with (as a consumer,
  // else as a producer); empty when it has no registration.
  std::string ClientIdOfConnection(uint64_t connection_id) const;

 private:
  struct ConsumerGroupInfo {
    std::string consume_type;
    std::string message_model;
    std::string consume_from_where;
    std::map<uint64_t, ClientChannel> channels;
    std::map<std::string, SubscriptionData, std::less<>> subscriptions;
  };
  struct ProducerGroupInfo {
    std::map<uint64_t, ClientChannel> channels;
  };

  mutable Mutex mu_;
  // Where ProducerConnection starts its round robin; only a hint, so relaxed.
  mutable std::atomic<uint64_t> next_producer_{0};
  std::map<std::string, ConsumerGroupInfo, std::less<>> consumers_
      TH_GUARDED_BY(mu_);
  std::map<std::string, ProducerGroupInfo, std::less<>> producers_
      TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
