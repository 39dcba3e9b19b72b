#include "broker/slave_offset_forwarder.h"

#include <chrono>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "remoting/codes.h"

namespace thruster::broker {

namespace {
constexpr auto kForwardTimeout = std::chrono::milliseconds(3000);
}  // namespace

void SlaveOffsetForwarder::ProcessRequest(remoting::RemotingCommand request,
                                          remoting::Responder responder) {
  if (request.code() == remoting::request_code::kUpdateConsumerOffset &&
      is_slave_()) {
    Result<std::string_view> group = request.RequireExt("consumerGroup");
    Result<std::string_view> topic = request.RequireExt("topic");
    Result<int32_t> queue_id = request.RequireExtInt32("queueId");
    Result<int64_t> offset = request.RequireExtInt64("commitOffset");
    // A malformed request is answered by the inner processor and not noted.
    if (group.ok() && topic.ok() && queue_id.ok() && offset.ok() &&
        !group->empty() && !topic->empty())
      Note(std::string(*group), std::string(*topic), *queue_id, *offset);
  }
  inner_->ProcessRequest(std::move(request), std::move(responder));
}

void SlaveOffsetForwarder::Note(std::string group, std::string topic,
                                int32_t queue_id, int64_t offset) {
  MutexLock lock(&mu_);
  pending_[Key{std::move(group), std::move(topic), queue_id}] = offset;
}

size_t SlaveOffsetForwarder::pending() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

Status SlaveOffsetForwarder::Forward(remoting::RemotingClient& client,
                                     const std::string& master_addr) {
  if (master_addr.empty()) return Status::OK();
  std::vector<std::pair<Key, int64_t>> batch;
  {
    MutexLock lock(&mu_);
    batch.assign(pending_.begin(), pending_.end());
  }
  for (const auto& [key, offset] : batch) {
    const auto& [group, topic, queue_id] = key;
    remoting::RemotingCommand req = remoting::RemotingCommand::CreateRequest(
        remoting::request_code::kUpdateConsumerOffset);
    req.SetExt("consumerGroup", group);
    req.SetExt("topic", topic);
    req.SetExt("queueId", queue_id);
    req.SetExt("commitOffset", offset);
    Result<remoting::RemotingCommand> resp =
        client.InvokeSync(master_addr, std::move(req), kForwardTimeout);
    if (!resp.ok()) {
      return Status::IOError("forwarding consumer offsets to master " +
                             master_addr + ": " + resp.status().ToString());
    }
    if (resp->code() != remoting::response_code::kSuccess) {
      // The master refused this one (its own checks); retrying cannot help.
      TH_LOG(broker, kWarn,
             "master {} refused the consumer offset {} of {}@{} queue {}: "
             "code {} {}",
             master_addr, offset, topic, group, queue_id, resp->code(),
             resp->remark());
    }
    MutexLock lock(&mu_);
    // Forget it unless a newer commit came in meanwhile.
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second == offset) pending_.erase(it);
  }
  return Status::OK();
}

}  // namespace thruster::broker
