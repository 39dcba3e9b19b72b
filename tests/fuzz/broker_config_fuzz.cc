// The broker's settings read from broker.conf (BrokerConfig::FromProperties,
// with the tls.* keys of remoting::TlsConfig): any text either gives a config
// whose checked values are in range or an error that says what is wrong,
// never a crash; the same text gives the same answer twice.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/broker_config.h"
#include "common/properties.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  thruster::Properties props = thruster::Properties::Parse(text);
  // tls.config.file names a file to read: the fuzzer must not open /dev/zero
  // or the like. Every other key is fuzzed.
  props.Set("tls.config.file", "");
  auto config = thruster::broker::BrokerConfig::FromProperties(props);
  auto again = thruster::broker::BrokerConfig::FromProperties(props);
  TH_FUZZ_CHECK(config.ok() == again.ok());
  if (!config.ok()) {
    TH_FUZZ_CHECK(!config.status().ToString().empty());
    return 0;
  }
  const thruster::broker::BrokerConfig& c = *config;
  TH_FUZZ_CHECK(!c.broker_name.empty());
  TH_FUZZ_CHECK(c.listen_port >= 0 && c.listen_port <= 65535);
  TH_FUZZ_CHECK(c.namesrv_listen_port >= 0 && c.namesrv_listen_port <= 65535);
  TH_FUZZ_CHECK(c.grpc_server_port >= 0 && c.grpc_server_port <= 65535);
  TH_FUZZ_CHECK(c.default_topic_queue_nums >= 1 &&
                c.default_topic_queue_nums <= 1024);
  TH_FUZZ_CHECK(c.register_name_server_period >= 10000 &&
                c.register_name_server_period <= 60000);
  TH_FUZZ_CHECK(c.server_channel_max_idle_time_seconds > 0);
  TH_FUZZ_CHECK(c.broker_name == again->broker_name &&
                c.namesrv_addr == again->namesrv_addr);
  // The name-server list: trimmed, non-empty entries, none holding the
  // separator.
  for (const std::string& addr : c.NameServerAddresses()) {
    TH_FUZZ_CHECK(!addr.empty());
    TH_FUZZ_CHECK(addr.find(';') == std::string::npos);
    TH_FUZZ_CHECK(addr.front() != ' ' && addr.back() != ' ');
  }
  return 0;
}
