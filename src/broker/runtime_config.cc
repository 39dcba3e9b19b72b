#include "broker/runtime_config.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "common/logging.h"

namespace thruster::broker {
namespace {

using store::MessageStoreConfig;

std::string Str(bool b) { return b ? "true" : "false"; }
std::string Str(int32_t v) { return std::to_string(v); }
std::string Str(int64_t v) { return std::to_string(v); }
std::string Str(const std::string& s) { return s; }

// Every key with its value, RocketMQ's names (Thruster-only keys included).
std::map<std::string, std::string> AllEntries(const BrokerConfig& b,
                                              const MessageStoreConfig& s) {
  std::map<std::string, std::string> m;
  m["brokerName"] = Str(b.broker_name);
  m["brokerClusterName"] = Str(b.broker_cluster_name);
  m["brokerId"] = Str(b.broker_id);
  m["brokerIP1"] = Str(b.broker_ip1);
  m["bindAddress"] = Str(b.bind_address);
  m["listenPort"] = Str(b.listen_port);
  m["serverChannelMaxIdleTimeSeconds"] =
      Str(b.server_channel_max_idle_time_seconds);
  m["serverChannelMaxPendingWriteBytes"] =
      Str(b.server_channel_max_pending_write_bytes);
  m["namesrvAddr"] = Str(b.namesrv_addr);
  m["namesrvListenPort"] = Str(b.namesrv_listen_port);
  m["autoCreateTopicEnable"] = Str(b.auto_create_topic_enable);
  m["autoCreateSubscriptionGroup"] = Str(b.auto_create_subscription_group);
  m["defaultTopicQueueNums"] = Str(b.default_topic_queue_nums);
  m["brokerPermission"] = Str(b.broker_permission);
  m["registerNameServerPeriod"] = Str(b.register_name_server_period);
  m["flushConsumerOffsetInterval"] = Str(b.flush_consumer_offset_interval);
  m["channelExpiredTimeout"] = Str(b.channel_expired_timeout);
  m["longPollingEnable"] = Str(b.long_polling_enable);
  m["shortPollingTimeMills"] = Str(b.short_polling_time_mills);
  m["defaultQueryMaxNum"] = Str(b.default_query_max_num);
  m["retryMaxTimes"] = Str(b.retry_max_times);
  m["regionId"] = Str(b.region_id);
  m["traceOn"] = Str(b.trace_on);
  m["ioThreads"] = Str(b.io_threads);
  m["netBusyPollUs"] = Str(b.net_busy_poll_us);
  m["youngQueueOffsetZero"] = Str(b.young_queue_offset_zero);
  m["messageJourneyEnable"] = Str(b.message_journey_enable);
  m["transactionTimeOut"] = Str(b.transaction_timeout);
  m["transactionCheckMax"] = Str(b.transaction_check_max);
  m["transactionCheckInterval"] = Str(b.transaction_check_interval);
  m["rejectTransactionMessage"] = Str(b.reject_transaction_message);
  m["recallMessageEnable"] = Str(b.recall_message_enable);
  m["allowRecallWhenBrokerNotWriteable"] =
      Str(b.allow_recall_when_broker_not_writeable);
  m["enablePropertyFilter"] = Str(b.enable_property_filter);
  m["aclEnable"] = Str(b.acl_enable);
  m["aclFile"] = Str(b.acl_file);
  m["metricsExporterType"] = Str(b.metrics_exporter_type);
  m["metricsPromExporterHost"] = Str(b.metrics_prom_exporter_host);
  m["metricsPromExporterPort"] = Str(b.metrics_prom_exporter_port);
  m["enableGrpcServer"] = Str(b.enable_grpc_server);
  m["grpcServerPort"] = Str(b.grpc_server_port);
  m["reviveQueueNum"] = Str(b.revive_queue_num);
  m["reviveInterval"] = Str(b.revive_interval);
  m["popFromRetryProbability"] = Str(b.pop_from_retry_probability);
  m["maxPopPollingSize"] = Str(b.max_pop_polling_size);
  b.tls.AddEntries(&m);

  m["storePathRootDir"] = Str(s.store_path_root_dir);
  m["messageDelayLevel"] = Str(s.message_delay_level);
  m["flushDelayOffsetInterval"] = Str(s.flush_delay_offset_interval);
  m["timerWheelEnable"] = Str(s.timer_wheel_enable);
  m["timerPrecisionMs"] = Str(s.timer_precision_ms);
  m["timerMaxDelaySec"] = Str(s.timer_max_delay_sec);
  m["timerRollWindowSlot"] = Str(s.timer_roll_window_slot);
  m["mappedFileSizeTimerLog"] = Str(s.mapped_file_size_timer_log);
  m["timerFlushIntervalMs"] = Str(s.timer_flush_interval_ms);
  m["storePathCommitLog"] = Str(s.store_path_commit_log);
  m["mappedFileSizeCommitLog"] = Str(s.mapped_file_size_commit_log);
  m["mappedFileSizeConsumeQueue"] = Str(s.mapped_file_size_consume_queue);
  m["maxMessageSize"] = Str(s.max_message_size);
  m["maxHashSlotNum"] = Str(s.max_hash_slot_num);
  m["maxIndexNum"] = Str(s.max_index_num);
  m["messageIndexEnable"] = Str(s.message_index_enable);
  m["messageIndexSafe"] = Str(s.message_index_safe);
  m["maxMsgsNumBatch"] = Str(s.max_msgs_num_batch);
  m["flushDiskType"] = s.flush_disk_type == store::FlushDiskType::kSync
                           ? "SYNC_FLUSH"
                           : "ASYNC_FLUSH";
  m["flushIntervalCommitLog"] = Str(s.flush_interval_commit_log);
  m["flushCommitLogLeastPages"] = Str(s.flush_commit_log_least_pages);
  m["flushCommitLogThoroughInterval"] =
      Str(s.flush_commit_log_thorough_interval);
  m["flushCommitLogTimed"] = Str(s.flush_commit_log_timed);
  m["commitIntervalCommitLog"] = Str(s.commit_interval_commit_log);
  m["commitCommitLogLeastPages"] = Str(s.commit_commit_log_least_pages);
  m["commitCommitLogThoroughInterval"] =
      Str(s.commit_commit_log_thorough_interval);
  m["flushIntervalConsumeQueue"] = Str(s.flush_interval_consume_queue);
  m["flushConsumeQueueLeastPages"] = Str(s.flush_consume_queue_least_pages);
  m["flushConsumeQueueThoroughInterval"] =
      Str(s.flush_consume_queue_thorough_interval);
  m["syncFlushTimeout"] = Str(s.sync_flush_timeout);
  m["brokerRole"] = std::string(store::BrokerRoleName(s.broker_role));
  m["brokerIP2"] = Str(b.broker_ip2.empty() ? b.broker_ip1 : b.broker_ip2);
  m["haListenPort"] = Str(s.ha_listen_port != 0 ? s.ha_listen_port
                                                 : b.listen_port + 1);
  m["haMasterAddress"] = Str(s.ha_master_address);
  m["haSendHeartbeatInterval"] = Str(s.ha_send_heartbeat_interval);
  m["haHousekeepingInterval"] = Str(s.ha_housekeeping_interval);
  m["haTransferBatchSize"] = Str(s.ha_transfer_batch_size);
  m["haMaxGapNotInSync"] = Str(s.ha_max_gap_not_in_sync);
  m["haSlaveFallbehindMax"] = Str(s.ha_max_gap_not_in_sync);
  m["slaveTimeout"] = Str(s.slave_timeout);
  m["inSyncReplicas"] = Str(s.in_sync_replicas);
  m["minInSyncReplicas"] = Str(s.min_in_sync_replicas);
  m["allAckInSyncStateSet"] = Str(s.all_ack_in_sync_state_set);
  m["haMaxTimeSlaveNotCatchup"] = Str(s.ha_max_time_slave_not_catchup);
  m["slaveReadEnable"] = Str(b.slave_read_enable);
  m["enableControllerMode"] = Str(b.enable_controller_mode);
  m["etcdEndpoints"] = Str(b.etcd_endpoints);
  m["controllerLeaseTtlMs"] = Str(b.controller_lease_ttl_ms);
  m["brokerElectionPriority"] = Str(b.broker_election_priority);
  m["enableElectUncleanMaster"] = Str(b.enable_elect_unclean_master);
  m["vipChannelEnabled"] = Str(b.vip_channel_enabled);
  m["transientStorePoolEnable"] = Str(s.transient_store_pool_enable);
  m["transientStorePoolSize"] = Str(s.transient_store_pool_size);
  m["fastFailIfNoBufferInStorePool"] =
      Str(s.fast_fail_if_no_buffer_in_store_pool);
  m["warmMapedFileEnable"] = Str(s.warm_maped_file_enable);
  m["flushLeastPagesWhenWarmMapedFile"] =
      Str(s.flush_least_pages_when_warm_maped_file);
  m["preTouchMappedFile"] = Str(s.pre_touch_mapped_file);
  m["dataReadAheadEnable"] = Str(s.data_read_ahead_enable);
  m["commitLogWritebackKb"] = Str(s.commit_log_writeback_kb);
  m["commitLogCacheKeepMb"] = Str(s.commit_log_cache_keep_mb);
  m["writeWithoutMmap"] = Str(s.write_without_mmap);
  m["checkCRCOnRecover"] = Str(s.check_crc_on_recover);
  m["autoMessageVersionOnTopicLen"] = Str(s.auto_message_version_on_topic_len);
  m["fileReservedTime"] = Str(s.file_reserved_time);
  m["deleteWhen"] = Str(s.delete_when);
  m["diskMaxUsedSpaceRatio"] = Str(s.disk_max_used_space_ratio);
  m["diskSpaceWarningLevelRatio"] = Str(s.disk_space_warning_level_ratio);
  m["diskSpaceCleanForciblyRatio"] = Str(s.disk_space_clean_forcibly_ratio);
  m["cleanFileForciblyEnable"] = Str(s.clean_file_forcibly_enable);
  m["cleanResourceInterval"] = Str(s.clean_resource_interval);
  m["deleteCommitLogFilesInterval"] = Str(s.delete_commit_log_files_interval);
  m["deleteConsumeQueueFilesInterval"] =
      Str(s.delete_consume_queue_files_interval);
  m["destroyMapedFileIntervalForcibly"] =
      Str(s.destroy_maped_file_interval_forcibly);
  m["redeleteHangedFileInterval"] = Str(s.redelete_hanged_file_interval);
  m["deleteFileBatchMax"] = Str(s.delete_file_batch_max);
  m["maxTransferBytesOnMessageInMemory"] =
      Str(s.max_transfer_bytes_on_message_in_memory);
  m["maxTransferCountOnMessageInMemory"] =
      Str(s.max_transfer_count_on_message_in_memory);
  m["maxTransferBytesOnMessageInDisk"] =
      Str(s.max_transfer_bytes_on_message_in_disk);
  m["maxTransferCountOnMessageInDisk"] =
      Str(s.max_transfer_count_on_message_in_disk);
  m["accessMessageInMemoryMaxRatio"] =
      Str(s.access_message_in_memory_max_ratio);
  m["maxFilterMessageSize"] = Str(s.max_filter_message_size);
  m["osPageCacheBusyTimeOutMills"] = Str(s.os_page_cache_busy_time_out_mills);
  // The process's log level (a server key, like RocketMQ's logback level).
  m["logLevel"] = std::string(logging::LevelName(logging::GetLevel()));
  return m;
}

constexpr std::string_view kHotKeys[] = {
    "channelExpiredTimeout", "flushConsumerOffsetInterval", "logLevel",
    "registerNameServerPeriod"};

std::string HotKeyList() {
  std::string out;
  for (std::string_view k : kHotKeys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

RuntimeConfig::RuntimeConfig(BrokerConfig broker,
                             store::MessageStoreConfig store, int64_t now_ms)
    : broker_(std::move(broker)),
      store_(std::move(store)),
      flush_consumer_offset_interval_(broker_.flush_consumer_offset_interval),
      register_name_server_period_(broker_.register_name_server_period),
      channel_expired_timeout_(broker_.channel_expired_timeout) {
  version_.timestamp = now_ms;
}

bool RuntimeConfig::IsHotKey(std::string_view key) {
  return std::find(std::begin(kHotKeys), std::end(kHotKeys), key) !=
         std::end(kHotKeys);
}

std::vector<std::pair<std::string, std::string>> RuntimeConfig::Entries()
    const {
  MutexLock lock(&mu_);
  std::map<std::string, std::string> m = AllEntries(broker_, store_);
  return {m.begin(), m.end()};
}

std::string RuntimeConfig::EncodeProperties() const {
  std::string out;
  for (const auto& [k, v] : Entries()) out += k + "=" + v + "\n";
  return out;
}

remoting::DataVersion RuntimeConfig::data_version() const {
  MutexLock lock(&mu_);
  return version_;
}

Result<std::vector<std::string>> RuntimeConfig::Update(
    const Properties& changes, int64_t now_ms) {
  MutexLock lock(&mu_);
  std::map<std::string, std::string> current = AllEntries(broker_, store_);
  for (const auto& [key, value] : changes.values()) {
    if (current.count(key) == 0)
      return Status::InvalidArgument("unknown config key " + key);
    if (!IsHotKey(key) && current[key] != value) {
      return Status::InvalidArgument(
          "config key " + key +
          " cannot change while the broker runs; set it in broker.conf and "
          "restart (hot-changeable: " +
          HotKeyList() + ")");
    }
  }
  std::optional<logging::Level> log_level;
  if (const auto it = changes.values().find("logLevel");
      it != changes.values().end()) {
    Result<logging::Level> level = logging::ParseLevel(it->second);
    if (!level.ok())
      return Status::InvalidArgument("logLevel: " +
                                     std::string(level.status().message()));
    log_level = *level;
  }
  // Check the values the way startup reads them: the current settings with
  // the changes on top.
  Properties merged;
  for (const auto& [key, value] : current) merged.Set(key, value);
  for (const auto& [key, value] : changes.values()) merged.Set(key, value);
  Result<BrokerConfig> parsed = BrokerConfig::FromProperties(merged);
  if (!parsed.ok()) return parsed.status();
  if (parsed->flush_consumer_offset_interval <= 0)
    return Status::InvalidArgument("flushConsumerOffsetInterval must be > 0");
  if (parsed->channel_expired_timeout <= 0)
    return Status::InvalidArgument("channelExpiredTimeout must be > 0");
  std::vector<std::string> applied;
  for (const auto& [key, value] : changes.values()) {
    if (IsHotKey(key)) applied.push_back(key);
  }
  broker_.flush_consumer_offset_interval =
      parsed->flush_consumer_offset_interval;
  broker_.register_name_server_period = parsed->register_name_server_period;
  broker_.channel_expired_timeout = parsed->channel_expired_timeout;
  flush_consumer_offset_interval_.store(broker_.flush_consumer_offset_interval,
                                        std::memory_order_relaxed);
  register_name_server_period_.store(broker_.register_name_server_period,
                                     std::memory_order_relaxed);
  channel_expired_timeout_.store(broker_.channel_expired_timeout,
                                 std::memory_order_relaxed);
  if (log_level) logging::SetLevel(*log_level);
  if (!applied.empty()) {
    version_.counter++;
    version_.timestamp = now_ms;
    for (const std::string& key : applied)
      TH_LOG(broker, kInfo, "config {} is now {}", key,
             AllEntries(broker_, store_)[key]);
  }
  return applied;
}

}  // namespace thruster::broker
