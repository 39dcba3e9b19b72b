#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "store/message_store.h"

// The slave side of RocketMQ's classic HA stream (spec/ha.md §2.3, §3.1;
// RocketMQ's HAClient): connects to the master's HA address, reports its
// CommitLog max offset (at once, then every haSendHeartbeatInterval and after
// every frame that grew the log), and appends each transfer frame at the
// master's physical offsets (MessageStore::AppendToCommitLog); the store's
// dispatch then builds the consume queues and index from the copied bytes.
// A frame that does not continue the log, a read or write error, or no bytes
// from the master for haHousekeepingInterval close the connection; the next
// attempt comes 5 s later.
//
// Thread: `ha-client`. Lifecycle: construct → Start() → Shutdown()
// (idempotent; also run by the destructor). `store` and `clock` must outlive
// it.
namespace thruster::ha {

class EpochFile;
class Socket;
struct MasterHandshake;

class HaClient {
 public:
  HaClient(store::MessageStore* store,
           const Clock* clock = SystemClock::Default());
  ~HaClient();
  HaClient(const HaClient&) = delete;
  HaClient& operator=(const HaClient&) = delete;

  void Start();
  void Shutdown();

  // Controller mode: speak the auto-switch stream (spec/ha.md §7.8) instead of
  // the classic one: cut the unparseable tail, handshake with
  // `controller_id`, truncate to the consistent point with the master's
  // epochs, append an entry to `epochs` when frames of a new epoch arrive.
  // Before Start(); `epochs` must outlive the client.
  void set_auto_switch(EpochFile* epochs, int64_t controller_id) {
    epochs_ = epochs;
    set_controller_id(controller_id);
  }
  // The id the next handshake sends (the controller's replica id).
  void set_controller_id(int64_t id) {
    controller_id_.store(id, std::memory_order_release);
  }
  // Auto-switch: the master's confirm offset, capped by this log's max (-1
  // before the first frame).
  int64_t confirm_offset() const {
    return confirm_offset_.load(std::memory_order_acquire);
  }
  // The master's "host:port" HA address (haMasterAddress, or what the name
  // server answered); a change closes the current connection. Empty: none.
  void set_master_address(std::string address) TH_EXCLUDES(mu_);
  std::string master_address() const TH_EXCLUDES(mu_);
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // The last offset reported to the master.
  int64_t reported_offset() const {
    return reported_offset_.load(std::memory_order_acquire);
  }

 private:
  void Run();
  // One connection's life; returns when it ends.
  void Serve(const std::string& address);
  void ServeAutoSwitch(const std::string& address);  // auto_switch_client.cc
  // Auto-switch step 3 (§7.8, §7.9): cuts the store and the epoch file back
  // to the last point this log shares with the master's epochs. False (logged):
  // no common point, or the cut failed; the connection ends.
  bool TruncateToConsistentPoint(const std::string& address,
                                 const MasterHandshake& handshake);
  // What a stream does with the bytes read so far: how many it consumed
  // (whole frames), or nullopt to close the connection.
  using FrameParser =
      std::function<std::optional<size_t>(std::span<const std::byte>)>;
  // The read/report loop of one connection, the same for both streams: once
  // haSendHeartbeatInterval has passed since *last_write_ns it calls
  // `heartbeat` (false: close), reads into `buf`, and hands the bytes not yet
  // consumed to `parse`. Returns when the connection ends: a read error,
  // nothing from the master for haHousekeepingInterval, a new master address
  // (`version` is stale), Shutdown, or either callback saying so.
  void ReadAndReport(Socket& socket, const std::string& address,
                     uint64_t version, std::span<std::byte> buf,
                     int64_t* last_write_ns,
                     const std::function<bool()>& heartbeat,
                     const FrameParser& parse) TH_EXCLUDES(mu_);
  // Sleeps up to `ms` unless stopped or the address changed.
  void Pause(int64_t ms) TH_EXCLUDES(mu_);
  int64_t OwnMaxOffset();

  store::MessageStore* store_;
  const Clock* clock_;
  mutable Mutex mu_;
  CondVar cv_;
  std::string master_address_ TH_GUARDED_BY(mu_);
  uint64_t address_version_ TH_GUARDED_BY(mu_) = 0;
  // The master connection ReadAndReport is serving (-1: none), so that
  // Shutdown can wake its read at once instead of at the poll's timeout.
  int active_fd_ TH_GUARDED_BY(mu_) = -1;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> reported_offset_{-1};
  EpochFile* epochs_ = nullptr;
  std::atomic<int64_t> controller_id_{0};
  std::atomic<int64_t> confirm_offset_{-1};
  std::thread thread_;
};

}  // namespace thruster::ha
