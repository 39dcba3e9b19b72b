#include "broker/broker_config.h"

#include <algorithm>
#include <limits>
#include <string_view>

namespace thruster::broker {
namespace {

Status ReadString(const Properties& p, std::string_view key, std::string* out) {
  Result<std::string> v = p.GetString(key, *out);
  if (!v.ok()) return v.status();
  *out = *v;
  return Status::OK();
}

template <typename T>
Status ReadInt(const Properties& p, std::string_view key, T* out) {
  Result<int64_t> v = p.GetInt(key, static_cast<int64_t>(*out));
  if (!v.ok()) return v.status();
  if (*v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      *v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
    return Status::InvalidArgument(std::string(key) + " is out of range");
  }
  *out = static_cast<T>(*v);
  return Status::OK();
}

Status ReadBool(const Properties& p, std::string_view key, bool* out) {
  Result<bool> v = p.GetBool(key, *out);
  if (!v.ok()) return v.status();
  *out = *v;
  return Status::OK();
}

}  // namespace

std::vector<std::string> BrokerConfig::NameServerAddresses() const {
  std::vector<std::string> out;
  std::string_view rest = namesrv_addr;
  while (!rest.empty()) {
    size_t pos = rest.find(';');
    std::string_view one = rest.substr(0, pos);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
    if (pos == std::string_view::npos) break;
    rest.remove_prefix(pos + 1);
  }
  return out;
}

Result<BrokerConfig> BrokerConfig::FromProperties(const Properties& props) {
  BrokerConfig c;
  TH_RETURN_IF_ERROR(ReadString(props, "brokerName", &c.broker_name));
  TH_RETURN_IF_ERROR(
      ReadString(props, "brokerClusterName", &c.broker_cluster_name));
  TH_RETURN_IF_ERROR(ReadInt(props, "brokerId", &c.broker_id));
  TH_RETURN_IF_ERROR(ReadString(props, "brokerIP1", &c.broker_ip1));
  TH_RETURN_IF_ERROR(ReadString(props, "bindAddress", &c.bind_address));
  TH_RETURN_IF_ERROR(ReadInt(props, "listenPort", &c.listen_port));
  TH_RETURN_IF_ERROR(ReadInt(props, "serverChannelMaxIdleTimeSeconds",
                             &c.server_channel_max_idle_time_seconds));
  TH_RETURN_IF_ERROR(ReadInt(props, "serverChannelMaxPendingWriteBytes",
                             &c.server_channel_max_pending_write_bytes));
  TH_RETURN_IF_ERROR(ReadString(props, "namesrvAddr", &c.namesrv_addr));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "namesrvListenPort", &c.namesrv_listen_port));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "autoCreateTopicEnable", &c.auto_create_topic_enable));
  TH_RETURN_IF_ERROR(ReadBool(props, "autoCreateSubscriptionGroup",
                              &c.auto_create_subscription_group));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "defaultTopicQueueNums", &c.default_topic_queue_nums));
  TH_RETURN_IF_ERROR(ReadInt(props, "brokerPermission", &c.broker_permission));
  TH_RETURN_IF_ERROR(ReadInt(props, "registerNameServerPeriod",
                             &c.register_name_server_period));
  TH_RETURN_IF_ERROR(ReadInt(props, "flushConsumerOffsetInterval",
                             &c.flush_consumer_offset_interval));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "channelExpiredTimeout", &c.channel_expired_timeout));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "longPollingEnable", &c.long_polling_enable));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "shortPollingTimeMills", &c.short_polling_time_mills));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "defaultQueryMaxNum", &c.default_query_max_num));
  TH_RETURN_IF_ERROR(ReadInt(props, "retryMaxTimes", &c.retry_max_times));
  TH_RETURN_IF_ERROR(ReadString(props, "regionId", &c.region_id));
  TH_RETURN_IF_ERROR(ReadBool(props, "traceOn", &c.trace_on));
  TH_RETURN_IF_ERROR(ReadInt(props, "ioThreads", &c.io_threads));
  TH_RETURN_IF_ERROR(ReadInt(props, "netBusyPollUs", &c.net_busy_poll_us));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "youngQueueOffsetZero", &c.young_queue_offset_zero));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "messageJourneyEnable", &c.message_journey_enable));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "transactionTimeOut", &c.transaction_timeout));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "transactionCheckMax", &c.transaction_check_max));
  TH_RETURN_IF_ERROR(ReadInt(props, "transactionCheckInterval",
                             &c.transaction_check_interval));
  TH_RETURN_IF_ERROR(ReadBool(props, "rejectTransactionMessage",
                              &c.reject_transaction_message));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "recallMessageEnable", &c.recall_message_enable));
  TH_RETURN_IF_ERROR(ReadBool(props, "allowRecallWhenBrokerNotWriteable",
                              &c.allow_recall_when_broker_not_writeable));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "enablePropertyFilter", &c.enable_property_filter));
  TH_RETURN_IF_ERROR(
      ReadString(props, "metricsExporterType", &c.metrics_exporter_type));
  TH_RETURN_IF_ERROR(ReadString(props, "metricsPromExporterHost",
                                &c.metrics_prom_exporter_host));
  TH_RETURN_IF_ERROR(ReadInt(props, "metricsPromExporterPort",
                             &c.metrics_prom_exporter_port));
  if (c.metrics_exporter_type != "DISABLE" &&
      c.metrics_exporter_type != "PROM") {
    return Status::InvalidArgument(
        "metricsExporterType " + c.metrics_exporter_type +
        " is not supported (DISABLE or PROM)");
  }
  if (c.metrics_prom_exporter_port < 0 ||
      c.metrics_prom_exporter_port > 65535)
    return Status::InvalidArgument("metricsPromExporterPort is out of range");
  TH_RETURN_IF_ERROR(
      ReadBool(props, "enableGrpcServer", &c.enable_grpc_server));
  TH_RETURN_IF_ERROR(ReadInt(props, "grpcServerPort", &c.grpc_server_port));
  if (c.grpc_server_port < 0 || c.grpc_server_port > 65535)
    return Status::InvalidArgument("grpcServerPort is out of range");
  if (c.transaction_check_interval <= 0)
    return Status::InvalidArgument("transactionCheckInterval must be > 0");
  TH_RETURN_IF_ERROR(ReadBool(props, "aclEnable", &c.acl_enable));
  TH_RETURN_IF_ERROR(ReadString(props, "aclFile", &c.acl_file));
  TH_RETURN_IF_ERROR(ReadInt(props, "reviveQueueNum", &c.revive_queue_num));
  TH_RETURN_IF_ERROR(ReadInt(props, "reviveInterval", &c.revive_interval));
  TH_RETURN_IF_ERROR(ReadInt(props, "popFromRetryProbability",
                             &c.pop_from_retry_probability));
  TH_RETURN_IF_ERROR(
      ReadInt(props, "maxPopPollingSize", &c.max_pop_polling_size));
  if (c.revive_queue_num <= 0 || c.revive_queue_num > 1024)
    return Status::InvalidArgument("reviveQueueNum must be in 1..1024");
  if (c.revive_interval <= 0)
    return Status::InvalidArgument("reviveInterval must be > 0");
  if (c.pop_from_retry_probability < 0 || c.pop_from_retry_probability > 100)
    return Status::InvalidArgument("popFromRetryProbability must be in 0..100");
  TH_RETURN_IF_ERROR(ReadString(props, "brokerIP2", &c.broker_ip2));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "slaveReadEnable", &c.slave_read_enable));
  TH_RETURN_IF_ERROR(
      ReadBool(props, "enableControllerMode", &c.enable_controller_mode));
  TH_RETURN_IF_ERROR(ReadString(props, "etcdEndpoints", &c.etcd_endpoints));
  TH_RETURN_IF_ERROR(ReadInt(props, "controllerLeaseTtlMs",
                             &c.controller_lease_ttl_ms));
  TH_RETURN_IF_ERROR(ReadInt(props, "brokerElectionPriority",
                             &c.broker_election_priority));
  TH_RETURN_IF_ERROR(ReadBool(props, "enableElectUncleanMaster",
                              &c.enable_elect_unclean_master));
  if (c.controller_lease_ttl_ms < 1000 || c.controller_lease_ttl_ms > 600000)
    return Status::InvalidArgument(
        "controllerLeaseTtlMs must be in 1000..600000");
  if (c.enable_controller_mode && c.etcd_endpoints.empty())
    return Status::InvalidArgument(
        "enableControllerMode=true needs etcdEndpoints");
  TH_RETURN_IF_ERROR(
      ReadBool(props, "vipChannelEnabled", &c.vip_channel_enabled));
  TH_ASSIGN_OR_RETURN(c.tls, remoting::TlsConfig::FromProperties(props));
  if (c.net_busy_poll_us < 0 || c.net_busy_poll_us > 1000000)
    return Status::InvalidArgument("netBusyPollUs must be in 0..1000000");
  if (c.listen_port < 0 || c.listen_port > 65535)
    return Status::InvalidArgument("listenPort is out of range");
  if (c.server_channel_max_idle_time_seconds <= 0)
    return Status::InvalidArgument(
        "serverChannelMaxIdleTimeSeconds must be positive");
  if (c.server_channel_max_pending_write_bytes <= 0)
    return Status::InvalidArgument(
        "serverChannelMaxPendingWriteBytes must be positive");
  if (c.namesrv_listen_port < 0 || c.namesrv_listen_port > 65535) {
    return Status::InvalidArgument("namesrvListenPort is out of range");
  }
  if (c.default_topic_queue_nums <= 0 || c.default_topic_queue_nums > 1024) {
    return Status::InvalidArgument("defaultTopicQueueNums must be in 1..1024");
  }
  if (c.broker_name.empty())
    return Status::InvalidArgument("brokerName must not be empty");
  c.register_name_server_period =
      std::clamp(c.register_name_server_period, 10000, 60000);
  return c;
}

}  // namespace thruster::broker
