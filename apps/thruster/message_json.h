#pragma once

#include <nlohmann/json.hpp>

#include "client/admin_client.h"

// A message as JSON, in the field names RocketMQ's tools use (msgId,
// queueOffset, commitLogOffset, ...): `thruster admin queryMsgById --json`
// and the dashboard both answer with it.
namespace thruster::cli {

// Where the message is and who made it: ids, topic, tags, keys, queue and
// CommitLog position, sizes, times and hosts (no body).
nlohmann::json MessageSummaryJson(const client::MessageInfo& m);
// Adds sysFlag, flag, bodyCRC and the properties to `j`.
void AddMessageDetailJson(const client::MessageInfo& m, nlohmann::json* j);

}  // namespace thruster::cli
