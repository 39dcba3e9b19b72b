#include "ha/ha_client.h"

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/logging.h"
#include "common/service_thread.h"
#include "ha/ha_protocol.h"
#include "ha/ha_socket.h"

namespace thruster::ha {

namespace {
constexpr int kConnectTimeoutMs = 5000;
constexpr int64_t kRetryMs = 5000;
// RocketMQ's slave reads into a 4 MiB buffer.
constexpr size_t kReadBufferSize = 4 * 1024 * 1024;
}  // namespace

HaClient::HaClient(store::MessageStore* store, const Clock* clock)
    : store_(store), clock_(clock) {}

HaClient::~HaClient() { Shutdown(); }

void HaClient::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    SetCurrentThreadName("ha-client");
    Run();
  });
}

void HaClient::Shutdown() {
  if (stopped_.exchange(true, std::memory_order_acq_rel)) return;
  {
    MutexLock lock(&mu_);
    ++address_version_;
    // A read of the master blocks for up to a poll (kReadPollMs): wake it.
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void HaClient::set_master_address(std::string address) {
  {
    MutexLock lock(&mu_);
    if (address == master_address_) return;
    TH_LOG(ha, kInfo, "HA master address: '{}' (was '{}')", address,
           master_address_);
    master_address_ = std::move(address);
    ++address_version_;
  }
  cv_.SignalAll();
}

std::string HaClient::master_address() const {
  MutexLock lock(&mu_);
  return master_address_;
}

void HaClient::Pause(int64_t ms) {
  MutexLock lock(&mu_);
  const uint64_t version = address_version_;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (address_version_ == version &&
         !stopped_.load(std::memory_order_acquire)) {
    if (cv_.WaitUntil(&mu_, deadline) == std::cv_status::timeout) break;
  }
}

int64_t HaClient::OwnMaxOffset() {
  return store_->commit_log().queue().GetMaxWrotePosition();
}

void HaClient::Run() {
  while (!stopped_.load(std::memory_order_acquire)) {
    const std::string address = master_address();
    if (address.empty()) {
      Pause(1000);
      continue;
    }
    if (epochs_ != nullptr) {
      ServeAutoSwitch(address);
    } else {
      Serve(address);
    }
    connected_.store(false, std::memory_order_release);
    if (stopped_.load(std::memory_order_acquire)) break;
    if (master_address() == address) Pause(kRetryMs);
  }
}

void HaClient::Serve(const std::string& address) {
  const store::MessageStoreConfig& config = store_->config();
  Result<Socket> conn = Connect(address, kConnectTimeoutMs);
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
  TH_LOG(ha, kInfo, "HA: connected to master {}, own max offset {}", address,
         OwnMaxOffset());
  const int write_timeout_ms = config.ha_housekeeping_interval;
  std::array<std::byte, kReportSize> report;
  auto send_report = [&](int64_t offset) -> bool {
    EncodeReport(offset, report);
    Status s = socket.WriteAll(report, write_timeout_ms);
    if (!s.ok()) {
      TH_LOG(ha, kWarn, "HA: report to master {} failed: {}", address,
             s.ToString());
      return false;
    }
    reported_offset_.store(offset, std::memory_order_release);
    return true;
  };
  int64_t current = OwnMaxOffset();
  if (!send_report(current)) return;
  int64_t last_write_ns = clock_->MonotonicNs();
  std::vector<std::byte> buf(kReadBufferSize);
  ReadAndReport(
      socket, address, version, buf, &last_write_ns,
      [&] { return send_report(current); },
      [&](std::span<const std::byte> in) -> std::optional<size_t> {
        size_t pos = 0;
        for (;;) {
          std::optional<TransferHeader> h =
              DecodeTransferHeader(in.subspan(pos));
          if (!h) break;
          if (h->size < 0 || static_cast<size_t>(h->size) >
                                 kReadBufferSize - kTransferHeaderSize) {
            TH_LOG(ha, kError, "HA: master {} sent a frame of {} bytes",
                   address, h->size);
            return std::nullopt;
          }
          if (in.size() - pos <
              kTransferHeaderSize + static_cast<size_t>(h->size))
            break;
          const int64_t own = OwnMaxOffset();
          if (own != 0 && own != h->offset) {
            TH_LOG(ha, kError,
                   "HA: master {} sent offset {} but this slave's log ends "
                   "at {}; reconnecting",
                   address, h->offset, own);
            return std::nullopt;
          }
          if (h->size > 0) {
            Status s = store_->AppendToCommitLog(
                h->offset, in.subspan(pos + kTransferHeaderSize,
                                      static_cast<size_t>(h->size)));
            if (!s.ok()) {
              TH_LOG(ha, kError, "HA: appending {} bytes at {} failed: {}",
                     h->size, h->offset, s.ToString());
              return std::nullopt;
            }
          }
          pos += kTransferHeaderSize + static_cast<size_t>(h->size);
          const int64_t grown = OwnMaxOffset();
          if (grown > current) {
            current = grown;
            if (!send_report(current)) return std::nullopt;
            last_write_ns = clock_->MonotonicNs();
          }
        }
        return pos;
      });
}

void HaClient::ReadAndReport(Socket& socket, const std::string& address,
                             uint64_t version, std::span<std::byte> buf,
                             int64_t* last_write_ns,
                             const std::function<bool()>& heartbeat,
                             const FrameParser& parse) {
  const store::MessageStoreConfig& config = store_->config();
  {
    MutexLock lock(&mu_);
    if (stopped_.load(std::memory_order_acquire)) return;
    active_fd_ = socket.fd();
  }
  struct ActiveFdReset {
    HaClient* client;
    ~ActiveFdReset() {
      MutexLock lock(&client->mu_);
      client->active_fd_ = -1;
    }
  } active_fd_reset{this};
  int64_t last_read_ns = clock_->MonotonicNs();
  size_t have = 0;
  for (;;) {
    if (stopped_.load(std::memory_order_acquire)) return;
    {
      MutexLock lock(&mu_);
      if (address_version_ != version) return;  // a new master
    }
    int64_t now = clock_->MonotonicNs();
    if (now - *last_write_ns >=
        int64_t{config.ha_send_heartbeat_interval} * 1000000) {
      if (!heartbeat()) return;
      *last_write_ns = now;
    }
    Result<size_t> n = socket.ReadSome(buf.subspan(have), kReadPollMs);
    if (!n.ok()) {
      TH_LOG(ha, kWarn, "HA: master {}: {}", address, n.status().ToString());
      return;
    }
    now = clock_->MonotonicNs();
    if (*n == 0) {
      if (now - last_read_ns >
          int64_t{config.ha_housekeeping_interval} * 1000000) {
        TH_LOG(ha, kWarn, "HA: nothing from master {} for {} ms, reconnecting",
               address, config.ha_housekeeping_interval);
        return;
      }
      continue;
    }
    last_read_ns = now;
    have += *n;
    const std::optional<size_t> used = parse(buf.first(have));
    if (!used) return;
    std::memmove(buf.data(), buf.data() + *used, have - *used);
    have -= *used;
  }
}

}  // namespace thruster::ha
