#pragma once

// Transitional, for src/broker only: the message model moved to src/message/
// (namespace thruster::message). Delete this file and store/commit_log_format.h
// once src/broker includes the message/ headers and names message::.
#include "common/hex.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"

namespace thruster::store {
using namespace ::thruster::message;  // NOLINT(build/namespaces)
}  // namespace thruster::store
