#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/broker_config.h"
#include "common/mutex.h"
#include "common/properties.h"
#include "common/result.h"
#include "remoting/route_data.h"
#include "store/message_store_config.h"

// The broker's settings as GET_BROKER_CONFIG (26) shows them and
// UPDATE_BROKER_CONFIG (25) changes them (spec/remoting.md §3.4.27): every key
// of BrokerConfig and MessageStoreConfig with its current value, and the
// hot-changeable keys, which take effect without a restart:
//   flushConsumerOffsetInterval  how often offsets are persisted
//   registerNameServerPeriod     how often the broker registers (10 s..60 s)
//   channelExpiredTimeout        when a silent client is dropped
//   logLevel                     DEBUG, INFO, WARN or ERROR, of the process
// Every other known key is refused by Update() with a remark saying it needs
// a restart (set it in broker.conf); an unknown key or a malformed value is
// refused too, and a refused update changes nothing. Applied changes last until
// the broker stops (they are not written back to broker.conf).
//
// Lifecycle: construct from the startup settings → use from any thread.
// Thread-safe: Update() and Encode*() under one mutex; the hot getters are
// relaxed atomic loads (each value stands alone).
namespace thruster::broker {

class RuntimeConfig {
 public:
  RuntimeConfig(BrokerConfig broker, store::MessageStoreConfig store,
                int64_t now_ms);

  // Every key and its value as RocketMQ's config keys spell them, sorted.
  std::vector<std::pair<std::string, std::string>> Entries() const;
  // `key=value` lines (Java properties), as GET_BROKER_CONFIG's body.
  std::string EncodeProperties() const;
  // Bumped on every applied update (GET_BROKER_CONFIG's `version`).
  remoting::DataVersion data_version() const;

  // Applies every key of `changes`, or none (InvalidArgument naming the key:
  // unknown, not hot-changeable, or malformed). Returns the keys applied.
  Result<std::vector<std::string>> Update(const Properties& changes,
                                          int64_t now_ms);

  static bool IsHotKey(std::string_view key);

  int32_t flush_consumer_offset_interval() const {
    return flush_consumer_offset_interval_.load(std::memory_order_relaxed);
  }
  int32_t register_name_server_period() const {
    return register_name_server_period_.load(std::memory_order_relaxed);
  }
  int64_t channel_expired_timeout() const {
    return channel_expired_timeout_.load(std::memory_order_relaxed);
  }

 private:
  mutable Mutex mu_;
  BrokerConfig broker_ TH_GUARDED_BY(mu_);
  const store::MessageStoreConfig store_;
  remoting::DataVersion version_ TH_GUARDED_BY(mu_);
  std::atomic<int32_t> flush_consumer_offset_interval_;
  std::atomic<int32_t> register_name_server_period_;
  std::atomic<int64_t> channel_expired_timeout_;
};

}  // namespace thruster::broker
