#include "tests/support/test_util.h"

namespace thruster::testing {

std::string SharedPath(const std::string& rel) {
  if (const char* env = std::getenv("THRUSTER_SHARED_DIR"))
    return std::string(env) + "/" + rel;
  return std::string(THRUSTER_SOURCE_DIR) + "/../shared/" + rel;
}

}  // namespace thruster::testing
