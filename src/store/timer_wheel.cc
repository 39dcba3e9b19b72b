#include "store/timer_wheel.h"

#include "common/coding.h"

namespace thruster::store {

namespace tf = timer_format;

Result<std::unique_ptr<TimerWheel>> TimerWheel::Open(io::FileSystem* fs,
                                                     const std::string& path,
                                                     int64_t precision_ms) {
  if (precision_ms <= 0)
    return Status::InvalidArgument("timer precision must be positive");
  if (fs->Exists(path)) {
    Result<uint64_t> size = fs->FileSize(path);
    if (!size.ok()) return size.status();
    if (*size != 0 && *size != tf::kWheelFileSize) {
      return Status::InvalidArgument(path + " is " + std::to_string(*size) +
                                     " bytes, a timer wheel is " +
                                     std::to_string(tf::kWheelFileSize));
    }
  }
  Result<std::unique_ptr<io::MappedRegion>> region =
      fs->Map(path, tf::kWheelFileSize, io::OpenMode::kCreateOrOpen);
  if (!region.ok()) return region.status();
  return std::unique_ptr<TimerWheel>(
      new TimerWheel(std::move(region).value(), precision_ms));
}

tf::Slot TimerWheel::AtIndex(int64_t index) const {
  return tf::DecodeSlot(region_->bytes().subspan(
      static_cast<size_t>(index) * tf::kSlotSize, tf::kSlotSize));
}

void TimerWheel::PutAtIndex(int64_t index, const tf::Slot& slot) {
  tf::EncodeSlot(
      slot, region_->bytes().subspan(static_cast<size_t>(index) * tf::kSlotSize,
                                     tf::kSlotSize));
}

int64_t TimerWheel::TimeUnitsAtIndex(int64_t index) const {
  return LoadI64(region_->bytes().data() +
                 static_cast<size_t>(index) * tf::kSlotSize);
}

tf::Slot TimerWheel::Get(int64_t time_ms) const {
  const int64_t units = TimeUnits(time_ms);
  tf::Slot s = AtIndex(units % tf::kSlotsTotal);
  if (s.time_units != units) return tf::Slot{units, -1, -1, 0, 0};
  return s;
}

void TimerWheel::Put(const tf::Slot& slot) {
  PutAtIndex(slot.time_units % tf::kSlotsTotal, slot);
}

Status TimerWheel::Sync() { return region_->Sync(0, region_->bytes().size()); }

}  // namespace thruster::store
