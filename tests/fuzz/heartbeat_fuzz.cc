// HEART_BEAT's body (broker::HeartbeatData::Parse): any bytes are refused with
// an error or give groups whose names are non-empty and subscriptions whose
// tags and tag codes agree; every subscription written back as JSON
// (ToJson, what consumerConnection and the dashboard show) reads back equal.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/heartbeat_data.h"
#include "message/message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckSubscription(const thruster::broker::SubscriptionData& sd) {
  TH_FUZZ_CHECK(!sd.topic.empty());
  TH_FUZZ_CHECK(sd.tags.size() == sd.codes.size());
  for (size_t i = 0; i < sd.tags.size(); ++i) {
    TH_FUZZ_CHECK(!sd.tags[i].empty());
    TH_FUZZ_CHECK(sd.codes[i] == thruster::message::JHash(sd.tags[i]));
  }
  if (sd.expression_type == thruster::broker::kExpressionTypeSql92)
    TH_FUZZ_CHECK(sd.tags.empty());
  else if (sd.tags.empty())
    TH_FUZZ_CHECK(sd.sub_string == "*");
  auto back = thruster::broker::SubscriptionData::FromJson(sd.ToJson());
  TH_FUZZ_CHECK(back.topic == sd.topic);
  TH_FUZZ_CHECK(back.sub_string == sd.sub_string);
  TH_FUZZ_CHECK(back.expression_type == sd.expression_type);
  TH_FUZZ_CHECK(back.sub_version == sd.sub_version);
  TH_FUZZ_CHECK(back.tags == sd.tags && back.codes == sd.codes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto hb = thruster::broker::HeartbeatData::Parse(body);
  if (!hb.ok()) {
    TH_FUZZ_CHECK(hb.status().ToString().find("heartbeat body") !=
                  std::string::npos);
    return 0;
  }
  TH_FUZZ_CHECK(!hb->client_id.empty());
  for (const auto& g : hb->producer_groups) TH_FUZZ_CHECK(!g.empty());
  for (const auto& cd : hb->consumers) {
    TH_FUZZ_CHECK(!cd.group_name.empty());
    for (const auto& sd : cd.subscriptions) CheckSubscription(sd);
  }
  return 0;
}
