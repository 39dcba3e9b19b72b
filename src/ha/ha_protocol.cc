#include "ha/ha_protocol.h"

#include "common/coding.h"

namespace thruster::ha {

void EncodeReport(int64_t offset, std::span<std::byte, kReportSize> out) {
  StoreI64(out.data(), offset);
}

void EncodeTransferHeader(int64_t offset, int32_t size,
                          std::span<std::byte, kTransferHeaderSize> out) {
  StoreI64(out.data(), offset);
  StoreI32(out.data() + 8, size);
}

std::optional<TransferHeader> DecodeTransferHeader(
    std::span<const std::byte> in) {
  if (in.size() < kTransferHeaderSize) return std::nullopt;
  return TransferHeader{LoadI64(in.data()), LoadI32(in.data() + 8)};
}

std::optional<int64_t> LastCompleteReport(std::span<const std::byte> in,
                                          size_t* consumed) {
  const size_t units = in.size() / kReportSize;
  *consumed = units * kReportSize;
  if (units == 0) return std::nullopt;
  return LoadI64(in.data() + (units - 1) * kReportSize);
}

}  // namespace thruster::ha
