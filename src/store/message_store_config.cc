#include "store/message_store_config.h"

#include <fmt/format.h>

#include <limits>

#include "store/delay_level_table.h"
#include "store/io/file_system.h"

namespace thruster::store {

std::string_view BrokerRoleName(BrokerRole r) {
  switch (r) {
    case BrokerRole::kAsyncMaster:
      return "ASYNC_MASTER";
    case BrokerRole::kSyncMaster:
      return "SYNC_MASTER";
    case BrokerRole::kSlave:
      return "SLAVE";
  }
  return "ASYNC_MASTER";
}

std::string MessageStoreConfig::CommitLogDir() const {
  return store_path_commit_log.empty()
             ? io::JoinPath(store_path_root_dir, "commitlog")
             : store_path_commit_log;
}
std::string MessageStoreConfig::ConsumeQueueDir() const {
  return io::JoinPath(store_path_root_dir, "consumequeue");
}
std::string MessageStoreConfig::IndexDir() const {
  return io::JoinPath(store_path_root_dir, "index");
}
std::string MessageStoreConfig::CheckpointPath() const {
  return io::JoinPath(store_path_root_dir, "checkpoint");
}
std::string MessageStoreConfig::AbortPath() const {
  return io::JoinPath(store_path_root_dir, "abort");
}
std::string MessageStoreConfig::LockPath() const {
  return io::JoinPath(store_path_root_dir, "lock");
}
std::string MessageStoreConfig::ConfigDir() const {
  return io::JoinPath(store_path_root_dir, "config");
}

namespace {

template <typename T>
Status ReadInt(const Properties& p, std::string_view key, T* field, int64_t min,
               int64_t max) {
  TH_ASSIGN_OR_RETURN(int64_t v, p.GetInt(key, static_cast<int64_t>(*field)));
  if (v < min || v > max) {
    return Status::InvalidArgument(
        fmt::format("config key {}: {} is outside [{}, {}]", key, v, min, max));
  }
  *field = static_cast<T>(v);
  return Status::OK();
}

Status ReadBool(const Properties& p, std::string_view key, bool* field) {
  TH_ASSIGN_OR_RETURN(*field, p.GetBool(key, *field));
  return Status::OK();
}

}  // namespace

Result<MessageStoreConfig> MessageStoreConfig::FromProperties(
    const Properties& p) {
  MessageStoreConfig c;
  constexpr int64_t kI32 = INT32_MAX;
  TH_ASSIGN_OR_RETURN(c.store_path_root_dir,
                      p.GetString("storePathRootDir", c.store_path_root_dir));
  TH_ASSIGN_OR_RETURN(c.store_path_commit_log,
                      p.GetString("storePathCommitLog", ""));
  if (c.store_path_commit_log.find(',') != std::string::npos) {
    return Status::InvalidArgument(
        "config key storePathCommitLog: several directories are not supported "
        "yet");
  }
  TH_RETURN_IF_ERROR(ReadInt(p, "mappedFileSizeCommitLog",
                             &c.mapped_file_size_commit_log, 4096, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "mappedFileSizeConsumeQueue",
                             &c.mapped_file_size_consume_queue, 20, kI32));
  c.mapped_file_size_consume_queue =
      (c.mapped_file_size_consume_queue + 19) / 20 * 20;
  TH_RETURN_IF_ERROR(
      ReadInt(p, "maxMessageSize", &c.max_message_size, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "maxHashSlotNum", &c.max_hash_slot_num, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "maxIndexNum", &c.max_index_num, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "messageIndexEnable", &c.message_index_enable));
  TH_RETURN_IF_ERROR(ReadBool(p, "messageIndexSafe", &c.message_index_safe));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "maxMsgsNumBatch", &c.max_msgs_num_batch, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "defaultQueryMaxNum", &c.default_query_max_num, 1, kI32));
  TH_ASSIGN_OR_RETURN(std::string flush,
                      p.GetString("flushDiskType", "ASYNC_FLUSH"));
  if (flush == "ASYNC_FLUSH") {
    c.flush_disk_type = FlushDiskType::kAsync;
  } else if (flush == "SYNC_FLUSH") {
    c.flush_disk_type = FlushDiskType::kSync;
  } else {
    return Status::InvalidArgument("config key flushDiskType: '" + flush +
                                   "' is not ASYNC_FLUSH or SYNC_FLUSH");
  }
  TH_RETURN_IF_ERROR(ReadInt(p, "flushIntervalCommitLog",
                             &c.flush_interval_commit_log, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushCommitLogLeastPages",
                             &c.flush_commit_log_least_pages, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushCommitLogThoroughInterval",
                             &c.flush_commit_log_thorough_interval, 0, kI32));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "flushCommitLogTimed", &c.flush_commit_log_timed));
  TH_RETURN_IF_ERROR(ReadInt(p, "commitIntervalCommitLog",
                             &c.commit_interval_commit_log, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "commitCommitLogLeastPages",
                             &c.commit_commit_log_least_pages, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "commitCommitLogThoroughInterval",
                             &c.commit_commit_log_thorough_interval, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushIntervalConsumeQueue",
                             &c.flush_interval_consume_queue, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushConsumeQueueLeastPages",
                             &c.flush_consume_queue_least_pages, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushConsumeQueueThoroughInterval",
                             &c.flush_consume_queue_thorough_interval, 0,
                             kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "syncFlushTimeout", &c.sync_flush_timeout, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "transientStorePoolEnable", &c.transient_store_pool_enable));
  TH_RETURN_IF_ERROR(ReadInt(p, "transientStorePoolSize",
                             &c.transient_store_pool_size, 1, 1024));
  TH_RETURN_IF_ERROR(ReadBool(p, "fastFailIfNoBufferInStorePool",
                              &c.fast_fail_if_no_buffer_in_store_pool));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "warmMapedFileEnable", &c.warm_maped_file_enable));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushLeastPagesWhenWarmMapedFile",
                             &c.flush_least_pages_when_warm_maped_file, 1,
                             kI32));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "preTouchMappedFile", &c.pre_touch_mapped_file));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "dataReadAheadEnable", &c.data_read_ahead_enable));
  TH_RETURN_IF_ERROR(ReadInt(p, "commitLogWritebackKb",
                             &c.commit_log_writeback_kb, 0, 1 << 20));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "commitLogCacheKeepMb", &c.commit_log_cache_keep_mb, -1, kI32));
  TH_RETURN_IF_ERROR(ReadBool(p, "writeWithoutMmap", &c.write_without_mmap));
  TH_RETURN_IF_ERROR(ReadBool(p, "checkCRCOnRecover", &c.check_crc_on_recover));
  TH_RETURN_IF_ERROR(ReadBool(p, "autoMessageVersionOnTopicLen",
                              &c.auto_message_version_on_topic_len));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "fileReservedTime", &c.file_reserved_time, 0, kI32));
  TH_ASSIGN_OR_RETURN(c.delete_when, p.GetString("deleteWhen", c.delete_when));
  TH_RETURN_IF_ERROR(ReadInt(p, "diskMaxUsedSpaceRatio",
                             &c.disk_max_used_space_ratio, 0, 100));
  TH_RETURN_IF_ERROR(ReadInt(p, "diskSpaceWarningLevelRatio",
                             &c.disk_space_warning_level_ratio, 0, 100));
  TH_RETURN_IF_ERROR(ReadInt(p, "diskSpaceCleanForciblyRatio",
                             &c.disk_space_clean_forcibly_ratio, 0, 100));
  TH_RETURN_IF_ERROR(
      ReadBool(p, "cleanFileForciblyEnable", &c.clean_file_forcibly_enable));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "cleanResourceInterval", &c.clean_resource_interval, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "deleteCommitLogFilesInterval",
                             &c.delete_commit_log_files_interval, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "deleteConsumeQueueFilesInterval",
                             &c.delete_consume_queue_files_interval, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "destroyMapedFileIntervalForcibly",
                             &c.destroy_maped_file_interval_forcibly, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "redeleteHangedFileInterval",
                             &c.redelete_hanged_file_interval, 0, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "deleteFileBatchMax", &c.delete_file_batch_max, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "maxTransferBytesOnMessageInMemory",
                             &c.max_transfer_bytes_on_message_in_memory, 1,
                             kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "maxTransferCountOnMessageInMemory",
                             &c.max_transfer_count_on_message_in_memory, 1,
                             kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "maxTransferBytesOnMessageInDisk",
                             &c.max_transfer_bytes_on_message_in_disk, 1,
                             kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "maxTransferCountOnMessageInDisk",
                             &c.max_transfer_count_on_message_in_disk, 1,
                             kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "accessMessageInMemoryMaxRatio",
                             &c.access_message_in_memory_max_ratio, 0, 100));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "maxFilterMessageSize", &c.max_filter_message_size, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "osPageCacheBusyTimeOutMills",
                             &c.os_page_cache_busy_time_out_mills, 1, kI32));
  TH_ASSIGN_OR_RETURN(c.message_delay_level,
                      p.GetString("messageDelayLevel", c.message_delay_level));
  if (Result<DelayLevelTable> t = DelayLevelTable::Parse(c.message_delay_level);
      !t.ok())
    return Status::InvalidArgument("config key messageDelayLevel: " +
                                   std::string(t.status().message()));
  TH_RETURN_IF_ERROR(ReadInt(p, "flushDelayOffsetInterval",
                             &c.flush_delay_offset_interval, 1, kI32));
  TH_ASSIGN_OR_RETURN(std::string role,
                      p.GetString("brokerRole", "ASYNC_MASTER"));
  if (role == "ASYNC_MASTER") {
    c.broker_role = BrokerRole::kAsyncMaster;
  } else if (role == "SYNC_MASTER") {
    c.broker_role = BrokerRole::kSyncMaster;
  } else if (role == "SLAVE") {
    c.broker_role = BrokerRole::kSlave;
  } else {
    return Status::InvalidArgument(
        "config key brokerRole: '" + role +
        "' is not ASYNC_MASTER, SYNC_MASTER or SLAVE");
  }
  TH_RETURN_IF_ERROR(
      ReadInt(p, "haListenPort", &c.ha_listen_port, 0, 65535));
  TH_ASSIGN_OR_RETURN(c.ha_master_address,
                      p.GetString("haMasterAddress", c.ha_master_address));
  TH_RETURN_IF_ERROR(ReadInt(p, "haSendHeartbeatInterval",
                             &c.ha_send_heartbeat_interval, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "haHousekeepingInterval",
                             &c.ha_housekeeping_interval, 1, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "haTransferBatchSize",
                             &c.ha_transfer_batch_size, 1, kI32));
  // The 4.x name first, the 5.x name wins when both are given.
  TH_RETURN_IF_ERROR(ReadInt(p, "haSlaveFallbehindMax",
                             &c.ha_max_gap_not_in_sync, 0,
                             std::numeric_limits<int64_t>::max()));
  TH_RETURN_IF_ERROR(ReadInt(p, "haMaxGapNotInSync", &c.ha_max_gap_not_in_sync,
                             0, std::numeric_limits<int64_t>::max()));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "slaveTimeout", &c.slave_timeout, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "inSyncReplicas", &c.in_sync_replicas, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "minInSyncReplicas", &c.min_in_sync_replicas, 1, kI32));
  TH_RETURN_IF_ERROR(ReadBool(p, "allAckInSyncStateSet",
                              &c.all_ack_in_sync_state_set));
  TH_RETURN_IF_ERROR(ReadInt(p, "haMaxTimeSlaveNotCatchup",
                             &c.ha_max_time_slave_not_catchup, 1,
                             std::numeric_limits<int64_t>::max()));
  TH_RETURN_IF_ERROR(ReadBool(p, "timerWheelEnable", &c.timer_wheel_enable));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "timerPrecisionMs", &c.timer_precision_ms, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "timerMaxDelaySec", &c.timer_max_delay_sec, 1, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "timerRollWindowSlot", &c.timer_roll_window_slot, 0, kI32));
  TH_RETURN_IF_ERROR(ReadInt(p, "mappedFileSizeTimerLog",
                             &c.mapped_file_size_timer_log, 1024, kI32));
  TH_RETURN_IF_ERROR(
      ReadInt(p, "timerFlushIntervalMs", &c.timer_flush_interval_ms, 1, kI32));
  return c;
}

}  // namespace thruster::store
