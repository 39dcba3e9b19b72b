#pragma once

// Decoding the records a pull answers with, and building a properties string:
// shared by the processor tests and the socket tests.
#include <gtest/gtest.h>

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/properties.h"

namespace thruster::broker {

// One stored record, decoded.
struct Record {
  std::string topic;
  std::string body;
  std::string properties;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t phys_offset = 0;
  int32_t reconsume_times = 0;
};

inline std::vector<Record> DecodeRecords(std::span<const std::byte> body) {
  std::vector<Record> out;
  while (!body.empty()) {
    message::RecordCheck c = message::CheckRecord(body, true);
    EXPECT_EQ(c.status, message::RecordStatus::kOk) << c.error;
    if (c.status != message::RecordStatus::kOk) break;
    const auto& r = c.record;
    out.push_back(Record{std::string(r.topic),
                         std::string(AsStringView(r.body)),
                         std::string(r.properties), r.queue_id, r.queue_offset,
                         r.phys_offset, r.reconsume_times});
    body = body.subspan(static_cast<size_t>(c.size));
  }
  return out;
}

inline std::string Props(
    std::initializer_list<std::pair<std::string, std::string>> kv) {
  std::map<std::string, std::string, std::less<>> m;
  for (const auto& [k, v] : kv) m[k] = v;
  return message::EncodeProperties(m);
}

}  // namespace thruster::broker
