#include "broker/ha_status_processor.h"

#include "broker/processor_util.h"
#include "remoting/json.h"

namespace thruster::broker {

void HaStatusProcessor::ProcessRequest(remoting::RemotingCommand request,
                                       remoting::Responder responder) {
  namespace json = remoting::json;
  ha::ReplicationManager* replication = replication_();
  if (replication == nullptr) {
    return SendError(request, responder, remoting::response_code::kSystemError,
                     "replication is not started");
  }
  const bool master = store_.broker_role() != store::BrokerRole::kSlave;
  const int64_t max_offset = store_.GetMaxPhyOffset();
  json::Value body = json::Value::Object();
  body.Set("master", json::Value::Bool(master));
  body.Set("masterCommitLogMaxOffset", json::Value::Int(max_offset));
  json::Value conns = json::Value::Array();
  const ha::HaRuntimeInfo info =
      replication->service().RuntimeInfo(max_offset, max_gap_not_in_sync_);
  for (const ha::SlaveInfo& s : info.slaves) {
    const int64_t diff =
        s.ack_offset >= 0 ? max_offset - s.ack_offset : max_offset;
    json::Value c = json::Value::Object();
    c.Set("addr", json::Value::String(s.address));
    c.Set("slaveAckOffset", json::Value::Int(s.ack_offset));
    c.Set("diff", json::Value::Int(diff));
    c.Set("inSync", json::Value::Bool(s.in_sync));
    conns.Push(std::move(c));
  }
  body.Set("inSyncSlaveNums", json::Value::Int(info.in_sync_slave_nums));
  body.Set("haConnectionInfo", std::move(conns));
  if (!master) {
    json::Value client = json::Value::Object();
    client.Set("masterAddr",
               json::Value::String(replication->client().master_address()));
    client.Set("maxOffset", json::Value::Int(max_offset));
    client.Set("isActivated",
               json::Value::Bool(replication->client().connected()));
    body.Set("haClientRuntimeInfo", std::move(client));
  }
  SendJson(request, responder, body);
}

}  // namespace thruster::broker
