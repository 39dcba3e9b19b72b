#include "store/timer_format.h"

#include "common/check.h"
#include "common/coding.h"

namespace thruster::store::timer_format {

void EncodeSlot(const Slot& s, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kSlotSize, "slot span {}", out.size());
  std::byte* p = out.data();
  StoreI64(p, s.time_units);
  StoreI64(p + 8, s.first_pos);
  StoreI64(p + 16, s.last_pos);
  StoreI32(p + 24, s.num);
  StoreI32(p + 28, s.magic);
}

Slot DecodeSlot(std::span<const std::byte> in) {
  TH_CHECK(in.size() >= kSlotSize, "slot span {}", in.size());
  const std::byte* p = in.data();
  return Slot{LoadI64(p), LoadI64(p + 8), LoadI64(p + 16), LoadI32(p + 24),
              LoadI32(p + 28)};
}

void EncodeUnit(const Unit& u, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kUnitSize, "unit span {}", out.size());
  std::byte* p = out.data();
  StoreI32(p, static_cast<int32_t>(kUnitSize));
  StoreI64(p + 4, u.prev_pos);
  StoreI32(p + 12, u.magic);
  StoreI64(p + 16, u.enqueue_time);
  StoreI32(p + 24, u.delay);
  StoreI64(p + 28, u.offset_py);
  StoreI32(p + 36, u.size_py);
  StoreI32(p + 40, u.topic_hash);
  StoreI64(p + 44, 0);
}

std::optional<Unit> DecodeUnit(std::span<const std::byte> in) {
  if (in.size() < kUnitSize) return std::nullopt;
  const std::byte* p = in.data();
  if (LoadI32(p) != static_cast<int32_t>(kUnitSize)) return std::nullopt;
  Unit u;
  u.prev_pos = LoadI64(p + 4);
  u.magic = LoadI32(p + 12);
  if ((u.magic & kMagicDefault) == 0 || (u.magic & ~0x7) != 0)
    return std::nullopt;
  u.enqueue_time = LoadI64(p + 16);
  u.delay = LoadI32(p + 24);
  u.offset_py = LoadI64(p + 28);
  u.size_py = LoadI32(p + 36);
  u.topic_hash = LoadI32(p + 40);
  return u;
}

void EncodeBlank(int32_t remaining, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kBlankSize, "blank span {}", out.size());
  StoreI32(out.data(), remaining);
  StoreI64(out.data() + 4, 0);
  StoreI32(out.data() + 12, kBlankMagic);
}

void EncodeCheckpoint(const Checkpoint& c, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kCheckpointSize, "checkpoint span {}", out.size());
  std::byte* p = out.data();
  StoreI64(p, c.last_read_time_ms);
  StoreI64(p + 8, c.last_timer_log_flush_pos);
  StoreI64(p + 16, c.last_timer_queue_offset);
  StoreI64(p + 24, c.master_timer_queue_offset);
  StoreI64(p + 32, c.state_version);
  StoreI64(p + 40, c.timestamp);
  StoreI64(p + 48, c.counter);
}

Checkpoint DecodeCheckpoint(std::span<const std::byte> in) {
  TH_CHECK(in.size() >= kCheckpointSize, "checkpoint span {}", in.size());
  const std::byte* p = in.data();
  return Checkpoint{LoadI64(p),      LoadI64(p + 8),  LoadI64(p + 16),
                    LoadI64(p + 24), LoadI64(p + 32), LoadI64(p + 40),
                    LoadI64(p + 48)};
}

}  // namespace thruster::store::timer_format
