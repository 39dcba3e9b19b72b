#include "thruster/message_json.h"

#include "message/properties.h"

namespace thruster::cli {

nlohmann::json MessageSummaryJson(const client::MessageInfo& m) {
  return {{"msgId", m.MsgId()},
          {"offsetMsgId", m.offset_msg_id},
          {"topic", m.topic},
          {"tags", m.Property(message::prop::kTags)},
          {"keys", m.Property(message::prop::kKeys)},
          {"queueId", m.queue_id},
          {"queueOffset", m.queue_offset},
          {"commitLogOffset", m.phys_offset},
          {"storeSize", m.store_size},
          {"reconsumeTimes", m.reconsume_times},
          {"bornTimestamp", m.born_timestamp},
          {"storeTimestamp", m.store_timestamp},
          {"bornHost", m.born_host},
          {"storeHost", m.store_host},
          {"bodyLength", m.body.size()}};
}

void AddMessageDetailJson(const client::MessageInfo& m, nlohmann::json* j) {
  (*j)["sysFlag"] = m.sys_flag;
  (*j)["flag"] = m.flag;
  (*j)["bodyCRC"] = m.body_crc;
  nlohmann::json props = nlohmann::json::object();
  for (const auto& [k, v] : m.properties) props[k] = v;
  (*j)["properties"] = std::move(props);
}

}  // namespace thruster::cli
