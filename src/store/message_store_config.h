#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/properties.h"
#include "common/result.h"

// The store's settings, named and defaulted as RocketMQ's MessageStoreConfig
// (store spec §13), so an existing broker.conf works. Thruster-only keys are
// marked. A plain value type.
namespace thruster::store {

enum class FlushDiskType { kAsync, kSync };
// brokerRole (ha spec §1): a master that replicates asynchronously, one whose
// sends wait for a slave, or a read-only copy of a master.
enum class BrokerRole { kAsyncMaster, kSyncMaster, kSlave };
std::string_view BrokerRoleName(BrokerRole r);

struct MessageStoreConfig {
  std::string store_path_root_dir = "./data/store";  // storePathRootDir
  std::string
      store_path_commit_log;  // storePathCommitLog; empty → <root>/commitlog
  int64_t mapped_file_size_commit_log = 1073741824;  // mappedFileSizeCommitLog
  int64_t mapped_file_size_consume_queue =
      6000000;  // mappedFileSizeConsumeQueue (rounded up to 20)
  int32_t max_message_size = 4194304;                     // maxMessageSize
  int32_t max_hash_slot_num = 5000000;                    // maxHashSlotNum
  int32_t max_index_num = 20000000;                       // maxIndexNum
  bool message_index_enable = true;                       // messageIndexEnable
  bool message_index_safe = false;                        // messageIndexSafe
  int32_t max_msgs_num_batch = 64;                        // maxMsgsNumBatch
  int32_t default_query_max_num = 32;                     // defaultQueryMaxNum
  FlushDiskType flush_disk_type = FlushDiskType::kAsync;  // flushDiskType
  int32_t flush_interval_commit_log = 500;   // flushIntervalCommitLog
  int32_t flush_commit_log_least_pages = 4;  // flushCommitLogLeastPages
  int32_t flush_commit_log_thorough_interval =
      10000;                                  // flushCommitLogThoroughInterval
  bool flush_commit_log_timed = true;         // flushCommitLogTimed
  int32_t commit_interval_commit_log = 200;   // commitIntervalCommitLog
  int32_t commit_commit_log_least_pages = 4;  // commitCommitLogLeastPages
  int32_t commit_commit_log_thorough_interval =
      200;  // commitCommitLogThoroughInterval
  int32_t flush_interval_consume_queue = 1000;  // flushIntervalConsumeQueue
  int32_t flush_consume_queue_least_pages = 2;  // flushConsumeQueueLeastPages
  int32_t flush_consume_queue_thorough_interval =
      60000;                          // flushConsumeQueueThoroughInterval
  int32_t sync_flush_timeout = 5000;  // syncFlushTimeout
  bool transient_store_pool_enable = false;  // transientStorePoolEnable
  int32_t transient_store_pool_size = 5;     // transientStorePoolSize
  bool fast_fail_if_no_buffer_in_store_pool =
      false;                            // fastFailIfNoBufferInStorePool
  bool warm_maped_file_enable = false;  // warmMapedFileEnable
  int32_t flush_least_pages_when_warm_maped_file =
      4096;  // flushLeastPagesWhenWarmMapedFile
  bool pre_touch_mapped_file =
      true;  // Thruster: pre-fault new segments on `allocate`
  bool data_read_ahead_enable = true;  // dataReadAheadEnable
  // Thruster: under ASYNC_FLUSH the flush thread starts the disk write of every
  // commitLogWritebackKb of new CommitLog bytes (sync_file_range) and keeps at
  // most 8 such steps in flight, so the page cache never holds enough dirty
  // bytes for the kernel to throttle the appender to its own background
  // writeback (about a quarter of the disk's speed on this VM). 0: leave
  // writeback to the kernel, as RocketMQ does. Durability still comes only from
  // the flush (flushIntervalCommitLog).
  int32_t commit_log_writeback_kb = 4096;  // commitLogWritebackKb
  // Thruster: with writeback on, which written CommitLog pages leave the page
  // cache (store/cache_keep_policy.h). -1 (default): keep what live consumers
  // still have to read, at least 256 MiB and at most the
  // accessMessageInMemoryMaxRatio share of RAM; N > 0: keep the last N MiB
  // behind the writer; 0: keep every page, as RocketMQ does. The freed frames
  // serve the pages ahead of the writer, which on a VM whose host takes back
  // free guest memory costs far less than fresh memory. Consumers further
  // behind read from the disk.
  int32_t commit_log_cache_keep_mb = -1;  // commitLogCacheKeepMb
  // writeWithoutMmap: appends are positional file writes instead of stores into
  // the mapping. Thruster also does this whenever flushDiskType is SYNC_FLUSH
  // (and the pool is off): under a sync every few hundred microseconds, stores
  // into the mapping fault on every freshly cleaned page.
  bool write_without_mmap = false;
  bool check_crc_on_recover = true;  // checkCRCOnRecover
  bool auto_message_version_on_topic_len =
      true;                                      // autoMessageVersionOnTopicLen
  int32_t file_reserved_time = 72;               // fileReservedTime (hours)
  std::string delete_when = "04";                // deleteWhen
  int32_t disk_max_used_space_ratio = 75;        // diskMaxUsedSpaceRatio
  int32_t disk_space_warning_level_ratio = 90;   // diskSpaceWarningLevelRatio
  int32_t disk_space_clean_forcibly_ratio = 85;  // diskSpaceCleanForciblyRatio
  bool clean_file_forcibly_enable = true;        // cleanFileForciblyEnable
  int32_t clean_resource_interval = 10000;       // cleanResourceInterval
  int32_t delete_commit_log_files_interval =
      100;  // deleteCommitLogFilesInterval
  int32_t delete_consume_queue_files_interval =
      100;  // deleteConsumeQueueFilesInterval
  int32_t destroy_maped_file_interval_forcibly =
      120000;  // destroyMapedFileIntervalForcibly
  int32_t redelete_hanged_file_interval = 120000;  // redeleteHangedFileInterval
  int32_t delete_file_batch_max = 10;              // deleteFileBatchMax
  int32_t max_transfer_bytes_on_message_in_memory =
      262144;  // maxTransferBytesOnMessageInMemory
  int32_t max_transfer_count_on_message_in_memory =
      32;  // maxTransferCountOnMessageInMemory
  int32_t max_transfer_bytes_on_message_in_disk =
      65536;  // maxTransferBytesOnMessageInDisk
  int32_t max_transfer_count_on_message_in_disk =
      8;  // maxTransferCountOnMessageInDisk
  int32_t access_message_in_memory_max_ratio =
      40;                                   // accessMessageInMemoryMaxRatio
  int32_t max_filter_message_size = 16000;  // maxFilterMessageSize
  int32_t os_page_cache_busy_time_out_mills =
      1000;  // osPageCacheBusyTimeOutMills
  // messageDelayLevel (store/delay_level_table.h); validated when read.
  std::string message_delay_level{
      "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"};
  int64_t flush_delay_offset_interval = 10000;  // flushDelayOffsetInterval (ms)
  // Replication (ha spec §8).
  BrokerRole broker_role = BrokerRole::kAsyncMaster;  // brokerRole
  // haListenPort: 0 → the broker's listenPort + 1 (RocketMQ's effective
  // default, 10912 with the default listenPort); a configured value is honoured
  // (5.x behaviour, ha spec §9.2).
  int32_t ha_listen_port = 0;
  std::string ha_master_address;               // haMasterAddress (slave)
  int32_t ha_send_heartbeat_interval = 5000;   // haSendHeartbeatInterval (ms)
  int32_t ha_housekeeping_interval = 20000;    // haHousekeepingInterval (ms)
  int32_t ha_transfer_batch_size = 32768;      // haTransferBatchSize (bytes)
  // haSlaveFallbehindMax (4.x) / haMaxGapNotInSync (5.x): a SYNC_MASTER put
  // whose end is further than this ahead of the best slave ack gets
  // SLAVE_NOT_AVAILABLE at once.
  int64_t ha_max_gap_not_in_sync = 268435456;
  int32_t slave_timeout = 3000;  // slaveTimeout (ms): SYNC_MASTER's wait
  // Controller mode's in-sync set (ha spec §4.2, §7.7): a SYNC_MASTER put
  // waits for inSyncReplicas copies (the master counts as one; 1: no wait), or
  // for every member of the in-sync set with allAckInSyncStateSet; it is
  // refused (SYSTEM_ERROR) while the set has fewer than minInSyncReplicas
  // members. A slave whose last catch-up is older than haMaxTimeSlaveNotCatchup
  // leaves the set.
  int32_t in_sync_replicas = 1;                   // inSyncReplicas
  int32_t min_in_sync_replicas = 1;               // minInSyncReplicas
  bool all_ack_in_sync_state_set = false;         // allAckInSyncStateSet
  int64_t ha_max_time_slave_not_catchup = 15000;  // haMaxTimeSlaveNotCatchup
  // 5.x timer messages (spec/schedule-and-timer.md §5, §6, §8).
  bool timer_wheel_enable = true;                  // timerWheelEnable
  int32_t timer_precision_ms = 1000;               // timerPrecisionMs
  int32_t timer_max_delay_sec = 259200;            // timerMaxDelaySec (3 days)
  int32_t timer_roll_window_slot = 172800;         // timerRollWindowSlot
  int32_t mapped_file_size_timer_log = 104857600;  // mappedFileSizeTimerLog
  int32_t timer_flush_interval_ms = 1000;          // timerFlushIntervalMs

  std::string CommitLogDir() const;
  std::string ConsumeQueueDir() const;
  std::string IndexDir() const;
  std::string CheckpointPath() const;
  std::string AbortPath() const;
  std::string LockPath() const;
  std::string ConfigDir() const;

  // Reads every known key from `props` (unknown keys are ignored, as RocketMQ
  // does); InvalidArgument naming the key when a value is malformed or out of
  // range.
  static Result<MessageStoreConfig> FromProperties(const Properties& props);

  bool operator==(const MessageStoreConfig&) const = default;
};

}  // namespace thruster::store
