#include "ha/auto_switch_protocol.h"

#include <string>

#include "common/coding.h"

namespace thruster::ha {

std::array<std::byte, kSlaveHandshakeSize> EncodeSlaveHandshake(
    const SlaveHandshake& h) {
  std::array<std::byte, kSlaveHandshakeSize> out{};
  StoreI32(out.data(), static_cast<int32_t>(HaState::kHandshake));
  StoreI16(out.data() + 4, static_cast<int16_t>(h.sync_from_last_file ? 1 : 0));
  StoreI16(out.data() + 6, static_cast<int16_t>(h.async_learner ? 1 : 0));
  StoreI64(out.data() + 8, h.slave_id);
  return out;
}

std::array<std::byte, kSlaveReportSize> EncodeSlaveReport(int64_t offset) {
  std::array<std::byte, kSlaveReportSize> out{};
  StoreI32(out.data(), static_cast<int32_t>(HaState::kTransfer));
  StoreI64(out.data() + 4, offset);
  return out;
}

std::vector<std::byte> EncodeMasterHandshake(
    int64_t max_offset, int32_t last_epoch,
    const std::vector<EpochEntry>& entries) {
  std::vector<std::byte> out(kMasterHandshakeHeaderSize +
                             entries.size() * kEpochEntryWireSize);
  StoreI32(out.data(), static_cast<int32_t>(HaState::kHandshake));
  StoreI32(out.data() + 4,
           static_cast<int32_t>(entries.size() * kEpochEntryWireSize));
  StoreI64(out.data() + 8, max_offset);
  StoreI32(out.data() + 16, last_epoch);
  std::byte* p = out.data() + kMasterHandshakeHeaderSize;
  for (const EpochEntry& e : entries) {
    StoreI32(p, e.epoch);
    StoreI64(p + 4, e.start_offset);
    p += kEpochEntryWireSize;
  }
  return out;
}

std::array<std::byte, kAutoSwitchTransferHeaderSize>
EncodeAutoSwitchTransferHeader(const AutoSwitchTransferHeader& h) {
  std::array<std::byte, kAutoSwitchTransferHeaderSize> out{};
  StoreI32(out.data(), static_cast<int32_t>(HaState::kTransfer));
  StoreI32(out.data() + 4, h.body_size);
  StoreI64(out.data() + 8, h.offset);
  StoreI32(out.data() + 16, h.epoch);
  StoreI64(out.data() + 20, h.epoch_start_offset);
  StoreI64(out.data() + 28, h.confirm_offset);
  return out;
}

Result<std::optional<SlaveMessage>> DecodeSlaveMessage(
    std::span<const std::byte> in) {
  if (in.size() < 4) return std::optional<SlaveMessage>();
  SlaveMessage m;
  const int32_t state = LoadI32(in.data());
  if (state == static_cast<int32_t>(HaState::kHandshake)) {
    if (in.size() < kSlaveHandshakeSize) return std::optional<SlaveMessage>();
    m.state = HaState::kHandshake;
    m.size = kSlaveHandshakeSize;
    m.handshake.sync_from_last_file = LoadI16(in.data() + 4) != 0;
    m.handshake.async_learner = LoadI16(in.data() + 6) != 0;
    m.handshake.slave_id = LoadI64(in.data() + 8);
    return std::optional<SlaveMessage>(m);
  }
  if (state == static_cast<int32_t>(HaState::kTransfer)) {
    if (in.size() < kSlaveReportSize) return std::optional<SlaveMessage>();
    m.state = HaState::kTransfer;
    m.size = kSlaveReportSize;
    m.report = LoadI64(in.data() + 4);
    return std::optional<SlaveMessage>(m);
  }
  return Status::Corruption("HA slave message in state " +
                            std::to_string(state));
}

Result<std::optional<MasterMessage>> DecodeMasterMessage(
    std::span<const std::byte> in, size_t max_body) {
  if (in.size() < 8) return std::optional<MasterMessage>();
  const int32_t state = LoadI32(in.data());
  const int32_t body = LoadI32(in.data() + 4);
  if (body < 0 || static_cast<size_t>(body) > max_body) {
    return Status::Corruption("HA master message with a body of " +
                              std::to_string(body) + " bytes");
  }
  MasterMessage m;
  if (state == static_cast<int32_t>(HaState::kHandshake)) {
    if (static_cast<size_t>(body) % kEpochEntryWireSize != 0) {
      return Status::Corruption("HA master handshake body of " +
                                std::to_string(body) + " bytes");
    }
    m.size = kMasterHandshakeHeaderSize + static_cast<size_t>(body);
    if (in.size() < m.size) return std::optional<MasterMessage>();
    m.state = HaState::kHandshake;
    m.handshake.max_offset = LoadI64(in.data() + 8);
    m.handshake.last_epoch = LoadI32(in.data() + 16);
    for (size_t p = kMasterHandshakeHeaderSize; p < m.size;
         p += kEpochEntryWireSize) {
      m.handshake.entries.push_back(
          EpochEntry{LoadI32(in.data() + p), LoadI64(in.data() + p + 4), 0});
    }
    return std::optional<MasterMessage>(std::move(m));
  }
  if (state == static_cast<int32_t>(HaState::kTransfer)) {
    m.size = kAutoSwitchTransferHeaderSize + static_cast<size_t>(body);
    if (in.size() < m.size) return std::optional<MasterMessage>();
    m.state = HaState::kTransfer;
    m.transfer.body_size = body;
    m.transfer.offset = LoadI64(in.data() + 8);
    m.transfer.epoch = LoadI32(in.data() + 16);
    m.transfer.epoch_start_offset = LoadI64(in.data() + 20);
    m.transfer.confirm_offset = LoadI64(in.data() + 28);
    return std::optional<MasterMessage>(std::move(m));
  }
  return Status::Corruption("HA master message in state " +
                            std::to_string(state));
}

}  // namespace thruster::ha
