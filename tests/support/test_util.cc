#include "tests/support/test_util.h"

namespace thruster::testing {

std::string FixturePath(const std::string& rel) {
  return std::string(THRUSTER_SOURCE_DIR) + "/tests/fixtures/" + rel;
}

}  // namespace thruster::testing
