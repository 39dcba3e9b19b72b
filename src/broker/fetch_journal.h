#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

// The broker's own record of who fetched what, for the message journey
// (message_journey.h): per (consumer group, topic, queue) the last
// kRangesPerQueue fetches that returned messages (a pull's [queueOffset,
// nextBeginOffset), a pop's first to last offset + 1) with the time and the
// connection, and per connection the client id it registered with HEART_BEAT.
// Nothing is written to disk; a restart forgets it.
//
// Bounded: at most kMaxQueues (group, topic, queue) slots, each a fixed ring of
// kRangesPerQueue ranges (about kBytesPerQueue bytes with its key), and at most
// kMaxConnections connection names. Once the slots are full, fetches of a new
// (group, topic, queue) replace the slot fetched least recently in the same
// shard (kept in fetch order, so finding it costs no scan: a consumer of more
// queues than kMaxQueues replaces one on most pulls); once the connection
// names are full, the oldest is forgotten.
//
// Thread-safe: Record() runs on every net thread (one shard mutex, no
// allocation once a slot exists and its connection is named), Find*() from any
// thread.
namespace thruster::broker {

class FetchJournal {
 public:
  static constexpr size_t kRangesPerQueue = 16;
  static constexpr size_t kShards = 8;
  static constexpr size_t kMaxQueues = 4096;
  static constexpr size_t kMaxConnections = 1024;

  enum class Kind : uint8_t { kPull, kPop };
  struct Range {
    int64_t begin_offset = 0;  // first queue offset handed out
    int64_t end_offset = 0;    // one past the last
    int64_t time_ms = 0;
    uint64_t connection_id = 0;
    Kind kind = Kind::kPull;
  };
  static constexpr size_t kBytesPerQueue =
      sizeof(std::array<Range, kRangesPerQueue>) + 3 * sizeof(int64_t) +
      2 * sizeof(std::string) + 3 * sizeof(void*) +  // its fetch-order node
      96;  // + the key's text and map node, about

  // A fetch as the journey shows it.
  struct Fetch {
    int64_t begin_offset = 0;
    int64_t end_offset = 0;
    int64_t time_ms = 0;
    Kind kind = Kind::kPull;
    std::string client_id;    // empty when the connection never registered
    std::string client_addr;  // the connection's remote address
  };

  // Names a connection: its client id (from the client manager) or empty.
  using ClientIdResolver = std::function<std::string(uint64_t connection_id)>;
  explicit FetchJournal(ClientIdResolver resolver);

  // Notes that `connection_id` (0: none) at `remote_address` fetched
  // [begin_offset, end_offset) of topic/queue for `group` at `now_ms`. An empty
  // range is ignored.
  void Record(std::string_view group, std::string_view topic, int32_t queue_id,
              int64_t begin_offset, int64_t end_offset, int64_t now_ms,
              uint64_t connection_id, std::string_view remote_address,
              Kind kind);
  // The remembered fetches of group/topic/queue whose range holds
  // `queue_offset`, oldest first.
  std::vector<Fetch> FindFetches(std::string_view group, std::string_view topic,
                                 int32_t queue_id, int64_t queue_offset) const;
  // Groups with a remembered fetch of `topic`.
  std::vector<std::string> GroupsOfTopic(std::string_view topic) const;
  size_t queue_count() const;

 private:
  struct QueueKey {
    std::string group;
    std::string topic;
    int32_t queue_id = 0;
  };
  struct QueueKeyView {
    std::string_view group;
    std::string_view topic;
    int32_t queue_id = 0;
  };
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      if (a.group != b.group) return a.group < b.group;
      if (a.topic != b.topic) return a.topic < b.topic;
      return a.queue_id < b.queue_id;
    }
  };
  // The shard's slots from the least to the most recently fetched, by their
  // keys (a map's keys do not move).
  using FetchOrder = std::list<const QueueKey*>;
  struct Ring {
    std::array<Range, kRangesPerQueue> ranges{};
    size_t next = 0;             // where the next range goes
    size_t count = 0;            // ranges held (saturates at kRangesPerQueue)
    FetchOrder::iterator order;  // this slot's place in its shard's order
  };
  struct Shard {
    mutable Mutex mu;
    std::map<QueueKey, Ring, KeyLess> rings TH_GUARDED_BY(mu);
    FetchOrder order TH_GUARDED_BY(mu);
  };
  struct ConnectionName {
    std::string client_id;
    std::string address;
    int64_t asked_ms = 0;  // when the resolver was last asked
  };
  static constexpr int64_t kReaskMs = 1000;

  Shard& ShardOf(std::string_view group, std::string_view topic,
                 int32_t queue_id) const;
  // Names `connection_id` once (asks the resolver outside any lock).
  void NoteConnection(uint64_t connection_id, std::string_view remote_address,
                      int64_t now_ms) TH_EXCLUDES(conn_mu_);

  ClientIdResolver resolver_;
  mutable std::array<Shard, kShards> shards_;
  mutable Mutex conn_mu_;
  std::map<uint64_t, ConnectionName> connections_ TH_GUARDED_BY(conn_mu_);
};

}  // namespace thruster::broker
