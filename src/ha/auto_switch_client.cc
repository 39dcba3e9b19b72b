// HaClient's side of the auto-switch HA stream (spec/ha.md §7.8), used in
// controller mode; the classic stream is in ha_client.cc.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/logging.h"
#include "ha/auto_switch_protocol.h"
#include "ha/epoch_file.h"
#include "ha/ha_client.h"
#include "ha/ha_protocol.h"
#include "ha/ha_socket.h"

namespace thruster::ha {

namespace {
constexpr int kAutoSwitchConnectTimeoutMs = 5000;
constexpr size_t kAutoSwitchReadBufferSize = 4 * 1024 * 1024;
}  // namespace

void HaClient::ServeAutoSwitch(const std::string& address) {
  const store::MessageStoreConfig& config = store_->config();
  // Step 1: bytes received but not parseable go before anything else.
  if (Result<int64_t> cut = store_->TruncateTo(INT64_MAX); !cut.ok()) {
    TH_LOG(ha, kError, "HA: cutting the unparseable tail failed: {}",
           cut.status().ToString());
    return;
  }
  Result<Socket> conn = Connect(address, kAutoSwitchConnectTimeoutMs);
  if (!conn.ok()) {
    TH_LOG(ha, kWarn, "HA: cannot connect to master {}: {}", address,
           conn.status().ToString());
    return;
  }
  Socket socket = std::move(*conn);
  uint64_t version;
  {
    MutexLock lock(&mu_);
    version = address_version_;
  }
  connected_.store(true, std::memory_order_release);
  const int write_timeout_ms = config.ha_housekeeping_interval;
  SlaveHandshake hs;
  hs.slave_id = controller_id_.load(std::memory_order_acquire);
  if (Status s = socket.WriteAll(EncodeSlaveHandshake(hs), write_timeout_ms);
      !s.ok()) {
    TH_LOG(ha, kWarn, "HA: handshake to master {} failed: {}", address,
           s.ToString());
    return;
  }
  TH_LOG(ha, kInfo, "HA: handshake sent to master {} (controller id {})",
         address, hs.slave_id);
  auto send_report = [&](int64_t offset) -> bool {
    Status s = socket.WriteAll(EncodeSlaveReport(offset), write_timeout_ms);
    if (!s.ok()) {
      TH_LOG(ha, kWarn, "HA: report to master {} failed: {}", address,
             s.ToString());
      return false;
    }
    reported_offset_.store(offset, std::memory_order_release);
    return true;
  };
  bool transfer = false;
  int64_t current = -1;
  int64_t last_write_ns = clock_->MonotonicNs();
  std::vector<std::byte> buf(kAutoSwitchReadBufferSize);
  // Reports start once the handshake is done (§7.8 step 3).
  ReadAndReport(
      socket, address, version, buf, &last_write_ns,
      [&] { return !transfer || send_report(current); },
      [&](std::span<const std::byte> in) -> std::optional<size_t> {
        size_t pos = 0;
        for (;;) {
          Result<std::optional<MasterMessage>> m = DecodeMasterMessage(
              in.subspan(pos),
              kAutoSwitchReadBufferSize - kAutoSwitchTransferHeaderSize);
          if (!m.ok()) {
            TH_LOG(ha, kError, "HA: master {}: {}", address,
                   m.status().ToString());
            return std::nullopt;
          }
          if (!m->has_value()) break;
          const MasterMessage& msg = **m;
          const HaState expected =
              transfer ? HaState::kTransfer : HaState::kHandshake;
          if (msg.state != expected) {
            TH_LOG(ha, kError,
                   "HA: master {} sent a message in state {} while this "
                   "slave is in state {}; reconnecting",
                   address, static_cast<int>(msg.state),
                   static_cast<int>(expected));
            return std::nullopt;
          }
          if (!transfer) {
            if (!TruncateToConsistentPoint(address, msg.handshake))
              return std::nullopt;
            transfer = true;
            current = OwnMaxOffset();
            if (!send_report(current)) return std::nullopt;
            last_write_ns = clock_->MonotonicNs();
            pos += msg.size;
            continue;
          }
          const AutoSwitchTransferHeader& h = msg.transfer;
          const int64_t own = OwnMaxOffset();
          if (own != 0 && own != h.offset) {
            TH_LOG(ha, kError,
                   "HA: master {} sent offset {} but this slave's log ends "
                   "at {}; reconnecting",
                   address, h.offset, own);
            return std::nullopt;
          }
          // §7.7: this slave dispatches no further than its master's
          // confirm offset; lowered before the append, so no appended byte
          // is dispatched before the master confirms it.
          store_->commit_log().set_replica_confirm_offset(
              std::min(h.confirm_offset, own));
          if (h.body_size > 0) {
            if (epochs_->last_epoch() != h.epoch) {
              if (Status s = epochs_->Append(h.epoch, h.epoch_start_offset);
                  !s.ok()) {
                TH_LOG(ha, kError, "HA: epoch {} from master {}: {}", h.epoch,
                       address, s.ToString());
                return std::nullopt;
              }
            }
            Status s = store_->AppendToCommitLog(
                h.offset,
                in.subspan(pos + kAutoSwitchTransferHeaderSize,
                           static_cast<size_t>(h.body_size)));
            if (!s.ok()) {
              TH_LOG(ha, kError, "HA: appending {} bytes at {} failed: {}",
                     h.body_size, h.offset, s.ToString());
              return std::nullopt;
            }
          }
          pos += msg.size;
          const int64_t grown = OwnMaxOffset();
          confirm_offset_.store(std::min(h.confirm_offset, grown),
                                std::memory_order_release);
          store_->commit_log().set_replica_confirm_offset(
              std::min(h.confirm_offset, grown));
          if (grown > current) {
            current = grown;
            if (!send_report(current)) return std::nullopt;
            last_write_ns = clock_->MonotonicNs();
          }
        }
        return pos;
      });
}

bool HaClient::TruncateToConsistentPoint(const std::string& address,
                                         const MasterHandshake& handshake) {
  // Step 3: cut back to the last point both logs agree on.
  const int64_t own = OwnMaxOffset();
  std::vector<EpochEntry> local = epochs_->Entries(own);
  if (local.empty()) return true;
  std::vector<EpochEntry> master = handshake.entries;
  for (size_t i = 0; i < master.size(); ++i) {
    master[i].end_offset = i + 1 < master.size() ? master[i + 1].start_offset
                                                 : handshake.max_offset;
  }
  const int64_t point = FindConsistentPoint(local, master);
  if (point < 0) {
    TH_LOG(ha, kError,
           "HA: no epoch of this slave matches master {}: the log cannot be "
           "repaired automatically (empty the store)",
           address);
    return false;
  }
  if (point < own) {
    Result<int64_t> cut = store_->TruncateTo(point);
    Status s = cut.ok() ? epochs_->TruncateSuffixByOffset(*cut) : cut.status();
    if (!s.ok()) {
      TH_LOG(ha, kError, "HA: truncating to {} failed: {}", point,
             s.ToString());
      return false;
    }
    TH_LOG(ha, kInfo,
           "HA: truncated to the consistent point {} with master {} (was {})",
           point, address, own);
  }
  return true;
}

}  // namespace thruster::ha
