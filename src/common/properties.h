#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

// Java-style .properties files (RocketMQ's broker.conf): `key=value` or `key:
// value` lines, `#`/`!` comments, surrounding blanks trimmed, backslash line
// continuation. Not thread-safe.
namespace thruster {

class Properties {
 public:
  static Properties Parse(std::string_view text);
  // Reads a file; NotFound when it does not exist.
  static Result<Properties> Load(const std::string& path);

  void Set(std::string key, std::string value) {
    values_[std::move(key)] = std::move(value);
  }
  bool Has(std::string_view key) const {
    return values_.find(key) != values_.end();
  }
  const std::map<std::string, std::string, std::less<>>& values() const {
    return values_;
  }

  // Typed getters: the default when the key is absent; InvalidArgument naming
  // the key when malformed.
  Result<std::string> GetString(std::string_view key,
                                std::string_view def) const;
  Result<int64_t> GetInt(std::string_view key, int64_t def) const;
  Result<bool> GetBool(std::string_view key, bool def) const;
  Result<double> GetDouble(std::string_view key, double def) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace thruster
