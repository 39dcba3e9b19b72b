#pragma once

// Access to the wire captures in tests/fixtures/wire (see its README):
// frames.jsonl rows and the per-pair .bin files. Parsed with nlohmann json,
// independent of the code under test.

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace thruster::testing {

inline std::string WireFixturePath(const std::string& name) {
  return FixturePath("wire/" + name);
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string HexToBytes(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Every row of frames.jsonl, in capture order.
inline const std::vector<nlohmann::json>& WireFrames() {
  static const std::vector<nlohmann::json> frames = [] {
    std::vector<nlohmann::json> rows;
    std::ifstream in(WireFixturePath("frames.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    }
    return rows;
  }();
  return frames;
}

// The complete bytes (length prefix included) of frame `idx`.
inline std::string WireFrameBytes(size_t idx) {
  return HexToBytes(WireFrames().at(idx).at("frameHex"));
}

inline std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace thruster::testing
