#include "common/crc32.h"

#include <libdeflate.h>

namespace thruster {

uint32_t Crc32(const void* data, size_t n, uint32_t crc) {
  return libdeflate_crc32(crc, data, n);
}

}  // namespace thruster
