#include "common/properties.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace thruster {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' ||
                        s.front() == '\r' || s.front() == '\f')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\f')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Properties Properties::Parse(std::string_view text) {
  Properties p;
  std::string logical;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    std::string_view t = Trim(line);
    if (logical.empty() &&
        (t.empty() || t.front() == '#' || t.front() == '!')) {
      if (eol == text.size()) break;
      continue;
    }
    if (!t.empty() && t.back() == '\\') {
      logical.append(t.substr(0, t.size() - 1));
      if (eol == text.size()) break;
      continue;
    }
    logical.append(t);
    std::string_view l = logical;
    size_t sep = l.find_first_of("=:");
    std::string_view key = Trim(l.substr(0, sep));
    std::string_view value = sep == std::string_view::npos
                                 ? std::string_view()
                                 : Trim(l.substr(sep + 1));
    if (!key.empty()) p.values_[std::string(key)] = std::string(value);
    logical.clear();
    if (eol == text.size()) break;
  }
  return p;
}

Result<Properties> Properties::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str());
}

Result<std::string> Properties::GetString(std::string_view key,
                                          std::string_view def) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string(def) : it->second;
}

Result<int64_t> Properties::GetInt(std::string_view key, int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  const std::string& v = it->second;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return Status::InvalidArgument(
        fmt::format("config key {}: '{}' is not an integer", key, v));
  }
  return out;
}

Result<bool> Properties::GetBool(std::string_view key, bool def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  std::string v = it->second;
  for (auto& c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "true") return true;
  if (v == "false") return false;
  return Status::InvalidArgument(
      fmt::format("config key {}: '{}' is not true or false", key, it->second));
}

Result<double> Properties::GetDouble(std::string_view key, double def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  try {
    size_t used = 0;
    double d = std::stod(it->second, &used);
    if (used == it->second.size()) return d;
  } catch (...) {  // std::stod throws on garbage; converted to a Status here
  }
  return Status::InvalidArgument(
      fmt::format("config key {}: '{}' is not a number", key, it->second));
}

}  // namespace thruster
