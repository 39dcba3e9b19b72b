#include "tests/support/test_util.h"

#include <cstdint>

#include "common/hex.h"

namespace thruster::testing {

std::string BytesFromHex(std::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c != ' ' && c != '\n') digits.push_back(c);
  }
  std::string out(digits.size() / 2, '\0');
  EXPECT_TRUE(digits.size() % 2 == 0 && ReadHex(digits, reinterpret_cast<uint8_t*>(out.data()))) << hex;
  return out;
}

std::string FixturePath(const std::string& rel) {
  return std::string(THRUSTER_SOURCE_DIR) + "/tests/fixtures/" + rel;
}

}  // namespace thruster::testing
