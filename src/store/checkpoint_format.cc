#include "store/checkpoint_format.h"

#include <algorithm>

#include "common/check.h"
#include "common/coding.h"

namespace thruster::store {

void EncodeCheckpoint(const CheckpointData& data, std::span<std::byte> out) {
  TH_CHECK(out.size() >= kCheckpointDataSize, "checkpoint buffer of {} bytes",
           out.size());
  std::byte* p = out.data();
  StoreI64(p + kPhysicMsgTimestampPos, data.physic_msg_timestamp);
  StoreI64(p + kLogicsMsgTimestampPos, data.logics_msg_timestamp);
  StoreI64(p + kIndexMsgTimestampPos, data.index_msg_timestamp);
  StoreI64(p + kMasterFlushedOffsetPos, data.master_flushed_offset);
  StoreI64(p + kConfirmPhyOffsetPos, data.confirm_phy_offset);
}

Result<CheckpointData> DecodeCheckpoint(std::span<const std::byte> in) {
  if (in.size() < kCheckpointDataSize)
    return Status::Corruption("checkpoint shorter than 40 bytes");
  const std::byte* p = in.data();
  CheckpointData data;
  data.physic_msg_timestamp = LoadI64(p + kPhysicMsgTimestampPos);
  data.logics_msg_timestamp = LoadI64(p + kLogicsMsgTimestampPos);
  data.index_msg_timestamp = LoadI64(p + kIndexMsgTimestampPos);
  data.master_flushed_offset = LoadI64(p + kMasterFlushedOffsetPos);
  data.confirm_phy_offset = LoadI64(p + kConfirmPhyOffsetPos);
  return data;
}

int64_t MinTimestamp(const CheckpointData& data) {
  const int64_t oldest =
      std::min(data.physic_msg_timestamp, data.logics_msg_timestamp);
  return oldest <= 3000
             ? 0
             : oldest -
                   3000;  // compared first: corrupt values must not overflow
}

int64_t MinTimestampIndex(const CheckpointData& data) {
  return std::min(MinTimestamp(data), data.index_msg_timestamp);
}

}  // namespace thruster::store
