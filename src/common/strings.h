#pragma once

#include <string_view>

namespace thruster {

// `s` without its leading and trailing spaces and tabs (the blanks RocketMQ's config values and lists allow).
inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when `s` is not empty and holds only the decimal digits 0-9 (a store file name, a numeric id).
inline bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace thruster
