// The JSON bodies that travel between brokers, name servers and clients
// (remoting/route_data.h, remoting/register_broker_body.h). The first byte
// picks the body: a route, cluster info, a topic list, a REGISTER_BROKER body
// (plain or compressed), or a TopicConfig (as in topics.json). Whatever parses
// is written and parsed again to the same value.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "remoting/json.h"
#include "remoting/register_broker_body.h"
#include "remoting/route_data.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void FuzzRoute(std::string_view text) {
  namespace remoting = thruster::remoting;
  auto r = remoting::TopicRouteData::Parse(text);
  if (!r.ok()) return;
  for (bool bare : {false, true}) {
    auto back =
        remoting::TopicRouteData::Parse(remoting::json::Write(r->ToJson(bare)));
    TH_FUZZ_CHECK(back.ok());
    TH_FUZZ_CHECK(back->queue_datas == r->queue_datas);
    TH_FUZZ_CHECK(back->broker_datas == r->broker_datas);
    TH_FUZZ_CHECK(back->order_topic_conf == r->order_topic_conf);
  }
}

void FuzzClusterInfo(std::string_view text) {
  namespace remoting = thruster::remoting;
  auto c = remoting::ClusterInfo::Parse(text);
  if (!c.ok()) return;
  auto back = remoting::ClusterInfo::Parse(remoting::json::Write(c->ToJson()));
  TH_FUZZ_CHECK(back.ok());
  TH_FUZZ_CHECK(back->broker_addr_table == c->broker_addr_table);
  TH_FUZZ_CHECK(back->cluster_addr_table == c->cluster_addr_table);
}

void FuzzTopicList(std::string_view text) {
  namespace remoting = thruster::remoting;
  auto t = remoting::TopicList::Parse(text);
  if (!t.ok()) return;
  auto back = remoting::TopicList::Parse(remoting::json::Write(t->ToJson()));
  TH_FUZZ_CHECK(back.ok());
  TH_FUZZ_CHECK(back->topic_list == t->topic_list);
  TH_FUZZ_CHECK(back->broker_addr == t->broker_addr);
}

void FuzzRegisterBody(std::string_view text, bool compressed) {
  namespace remoting = thruster::remoting;
  auto b = remoting::RegisterBrokerBody::Decode(std::as_bytes(std::span(text)),
                                                compressed);
  if (!b.ok()) return;
  auto json = remoting::RegisterBrokerBody::DecodeJson(b->EncodeJson());
  TH_FUZZ_CHECK(json.ok());
  TH_FUZZ_CHECK(json->data_version == b->data_version);
  TH_FUZZ_CHECK(json->topic_configs == b->topic_configs);
  TH_FUZZ_CHECK(json->filter_server_list == b->filter_server_list);
  auto packed = b->EncodeCompressed();
  bool expressible = true;
  for (const remoting::TopicConfig& t : b->topic_configs) {
    for (const std::string* f : {&t.topic_name, &t.topic_filter_type})
      expressible =
          expressible && !f->empty() && f->find(' ') == std::string::npos;
  }
  TH_FUZZ_CHECK(packed.ok() == expressible);
  if (!packed.ok()) return;
  auto unpacked = remoting::RegisterBrokerBody::DecodeCompressed(
      std::as_bytes(std::span(*packed)));
  TH_FUZZ_CHECK(unpacked.ok());
  TH_FUZZ_CHECK(unpacked->data_version == b->data_version);
  TH_FUZZ_CHECK(unpacked->filter_server_list == b->filter_server_list);
  // The compressed form carries what RocketMQ's TopicConfig.encode writes:
  // name, queue counts, perm, filter type and attributes (not order or
  // topicSysFlag).
  TH_FUZZ_CHECK(unpacked->topic_configs.size() == b->topic_configs.size());
  for (size_t i = 0; i < b->topic_configs.size(); ++i) {
    const remoting::TopicConfig& x = unpacked->topic_configs[i];
    const remoting::TopicConfig& y = b->topic_configs[i];
    TH_FUZZ_CHECK(x.topic_name == y.topic_name);
    TH_FUZZ_CHECK(x.read_queue_nums == y.read_queue_nums);
    TH_FUZZ_CHECK(x.write_queue_nums == y.write_queue_nums);
    TH_FUZZ_CHECK(x.perm == y.perm);
    TH_FUZZ_CHECK(x.topic_filter_type == y.topic_filter_type);
    TH_FUZZ_CHECK(x.attributes == y.attributes);
  }
}

void FuzzTopicConfig(std::string_view text) {
  namespace remoting = thruster::remoting;
  auto v = remoting::json::Parse(text);
  if (!v.ok()) return;
  remoting::TopicConfig c = remoting::TopicConfig::FromJson(*v);
  auto again = remoting::json::Parse(remoting::json::Write(c.ToJson()));
  TH_FUZZ_CHECK(again.ok());
  TH_FUZZ_CHECK(remoting::TopicConfig::FromJson(*again) == c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      FuzzRoute(text);
      break;
    case 1:
      FuzzClusterInfo(text);
      break;
    case 2:
      FuzzTopicList(text);
      break;
    case 3:
      FuzzRegisterBody(text, false);
      break;
    case 4:
      FuzzRegisterBody(text, true);
      break;
    default:
      FuzzTopicConfig(text);
      break;
  }
  return 0;
}
