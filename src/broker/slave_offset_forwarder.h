#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "broker/request_processor.h"
#include "common/mutex.h"
#include "common/status.h"
#include "remoting/remoting_client.h"

// A slave's consumer-offset commits, passed on to its master.
//
// RocketMQ's slave stores an UPDATE_CONSUMER_OFFSET (15) it is sent and its
// next metadata sync overwrites the entry with the master's value
// (spec/ha.md §5, §6.2). Java consumers commit to a slave when their route has
// no master (it is down, or not registered yet), so that progress was lost
// once the master came back: the consumers re-read what they had already
// consumed. Here the slave still stores the commit, and also remembers it
// until the master has acknowledged it: Forward() sends every remembered
// commit to the master as an UPDATE_CONSUMER_OFFSET of its own. The broker
// runs Forward() on `broker-sched` every second, before the metadata sync, so
// the sync then copies the forwarded values back instead of older ones.
//
// A pull's commitOffset (sysflag bit 0) is not forwarded: a slave ignores it,
// as RocketMQ's does (spec/ha.md §3.3), and Java clients clear the bit when
// they pull from a slave.
//
// This class is the processor for GET_CONSUMER_LIST_BY_GROUP,
// QUERY_CONSUMER_OFFSET and UPDATE_CONSUMER_OFFSET on a slave: it notes each
// well-formed UPDATE_CONSUMER_OFFSET and hands every request to `inner` (the
// ConsumerManageProcessor), which validates, stores and answers it.
// Thread-safe.
namespace thruster::broker {

class SlaveOffsetForwarder final : public RequestProcessor {
 public:
  // `is_slave` tells whether the broker is a slave now (commits made while
  // it is a master are not noted).
  SlaveOffsetForwarder(std::unique_ptr<RequestProcessor> inner,
                       std::function<bool()> is_slave)
      : inner_(std::move(inner)), is_slave_(std::move(is_slave)) {}

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override;

  // Remembers one commit; a later one for the same group and queue replaces it.
  void Note(std::string group, std::string topic, int32_t queue_id,
            int64_t offset) TH_EXCLUDES(mu_);

  // Sends every remembered commit to `master_addr` ("host:port"), one
  // synchronous UPDATE_CONSUMER_OFFSET each (timeout 3 s). Commits the master
  // answers SUCCESS are forgotten; the rest stay for the next call. Stops at
  // the first failure (an unreachable master would fail them all) and returns
  // it. OK with nothing to send, or when `master_addr` is empty. Called from
  // one thread at a time.
  Status Forward(remoting::RemotingClient& client,
                 const std::string& master_addr) TH_EXCLUDES(mu_);

  size_t pending() const TH_EXCLUDES(mu_);

 private:
  // (group, topic, queue id) → offset
  using Key = std::tuple<std::string, std::string, int32_t>;

  std::unique_ptr<RequestProcessor> inner_;
  std::function<bool()> is_slave_;
  mutable Mutex mu_;
  std::map<Key, int64_t> pending_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::broker
