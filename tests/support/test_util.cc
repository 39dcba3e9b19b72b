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

std::string UpperHex(std::span<const std::byte> bytes) {
  return HexUpper(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void CopyWritable(const std::filesystem::path& from, const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    fs::path dest = to / fs::relative(e.path(), from);
    if (e.is_directory()) {
      fs::create_directories(dest);
    } else {
      fs::copy_file(e.path(), dest);
      fs::permissions(dest, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
    }
  }
}

std::string FixturePath(const std::string& rel) {
  return std::string(THRUSTER_SOURCE_DIR) + "/tests/fixtures/" + rel;
}

}  // namespace thruster::testing
