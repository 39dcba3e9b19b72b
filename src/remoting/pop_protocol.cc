#include "remoting/pop_protocol.h"

#include <vector>

#include "remoting/json.h"

namespace thruster::remoting {

std::string PopExtraInfo::Encode() const {
  std::string out;
  out.reserve(64 + broker_name.size());
  out += std::to_string(ck_queue_offset);
  out += ' ';
  out += std::to_string(pop_time);
  out += ' ';
  out += std::to_string(invisible_time);
  out += ' ';
  out += std::to_string(revive_qid);
  out += ' ';
  out += std::to_string(retry_flag);
  out += ' ';
  out += broker_name;
  out += ' ';
  out += std::to_string(queue_id);
  out += ' ';
  out += std::to_string(queue_offset);
  return out;
}

Result<PopExtraInfo> PopExtraInfo::Parse(std::string_view text) {
  std::vector<std::string_view> f;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t sp = text.find(' ', pos);
    const size_t end = sp == std::string_view::npos ? text.size() : sp;
    f.push_back(text.substr(pos, end - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (f.size() < 8 || f.size() > 9) {
    return Status::InvalidArgument("extraInfo '" + std::string(text) +
                                   "' has " + std::to_string(f.size()) +
                                   " fields, not 8");
  }
  int64_t n[9] = {};
  for (size_t i = 0; i < f.size(); ++i) {
    if (i == 5) continue;
    std::optional<int64_t> v = json::ParseInt64(f[i]);
    if (!v) {
      return Status::InvalidArgument("extraInfo '" + std::string(text) +
                                     "': field " + std::to_string(i) +
                                     " is not a number");
    }
    n[i] = *v;
  }
  if (n[4] < 0 || n[4] > 2)
    return Status::InvalidArgument("extraInfo '" + std::string(text) +
                                   "': unknown retry flag");
  if (f[5].empty())
    return Status::InvalidArgument("extraInfo '" + std::string(text) +
                                   "': empty broker name");
  if (n[3] < INT32_MIN || n[3] > INT32_MAX || n[6] < 0 || n[6] > INT32_MAX)
    return Status::InvalidArgument("extraInfo '" + std::string(text) +
                                   "': queue id out of range");
  PopExtraInfo e;
  e.ck_queue_offset = n[0];
  e.pop_time = n[1];
  e.invisible_time = n[2];
  e.revive_qid = static_cast<int32_t>(n[3]);
  e.retry_flag = static_cast<int32_t>(n[4]);
  e.broker_name = std::string(f[5]);
  e.queue_id = static_cast<int32_t>(n[6]);
  e.queue_offset = n[7];
  e.commit_log_offset = f.size() == 9 ? n[8] : -1;
  return e;
}

}  // namespace thruster::remoting
