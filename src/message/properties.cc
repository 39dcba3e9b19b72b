#include "message/properties.h"

#include "message/find_properties.h"

namespace thruster::message {
namespace {

// Calls fn(name, value) for every pair ParseProperties keeps, in input order.
template <typename Fn>
void ForEachProperty(std::string_view s, Fn&& fn) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t end = s.find(kPropertySeparator, begin);
    if (end == std::string_view::npos) end = s.size();
    if (end - begin >= 3) {
      const std::string_view segment = s.substr(begin, end - begin);
      const size_t sep = segment.find(kNameValueSeparator);
      // Name and value must both be non-empty.
      if (sep != std::string_view::npos && sep > 0 &&
          sep + 1 < segment.size()) {
        fn(segment.substr(0, sep), segment.substr(sep + 1));
      }
    }
    begin = end + 1;
  }
}

}  // namespace

void AppendProperty(std::string* props, std::string_view name,
                    std::string_view value) {
  if (name.empty() || value.empty()) return;
  props->append(name);
  props->push_back(kNameValueSeparator);
  props->append(value);
  props->push_back(kPropertySeparator);
}

std::string EncodeProperties(
    const std::map<std::string, std::string, std::less<>>& props) {
  size_t n = 0;
  for (const auto& [name, value] : props) {
    if (!value.empty()) n += name.size() + value.size() + 2;
  }
  std::string out;
  out.reserve(n);
  for (const auto& [name, value] : props) {
    if (value.empty()) continue;
    // An empty name is written as it always was (AppendProperty leaves it out).
    out.append(name);
    out.push_back(kNameValueSeparator);
    out.append(value);
    out.push_back(kPropertySeparator);
  }
  return out;
}

std::map<std::string, std::string, std::less<>> ParseProperties(
    std::string_view s) {
  std::map<std::string, std::string, std::less<>> out;
  ForEachProperty(s, [&](std::string_view name, std::string_view value) {
    auto it = out.find(name);
    if (it == out.end()) {
      out.emplace(std::string(name), std::string(value));
    } else {
      it->second.assign(value);
    }
  });
  return out;
}

std::optional<std::string_view> FindProperty(std::string_view props,
                                             std::string_view name) {
  // The pairs ForEachProperty reports, without splitting the ones whose name
  // cannot match: a pair matches when it starts with the name and the
  // name-value separator (a name holds no separator, so that is its whole
  // name) and has a non-empty value. One scan per pair, to its end.
  std::optional<std::string_view> found;
  if (name.empty()) return found;
  const size_t n = name.size();
  size_t begin = 0;
  while (begin < props.size()) {
    size_t end = props.find(kPropertySeparator, begin);
    if (end == std::string_view::npos) end = props.size();
    if (end - begin > n + 1 && props[begin + n] == kNameValueSeparator &&
        props[begin] == name[0] &&
        props.compare(begin + 1, n - 1, name, 1, n - 1) == 0) {
      // A name with a separator in it is never a pair's name.
      if (name.find(kNameValueSeparator) != std::string_view::npos)
        return std::nullopt;
      found = props.substr(begin + n + 1, end - begin - n - 1);
    }
    begin = end + 1;
  }
  return found;
}

void FindProperties(std::string_view props,
                    std::span<const std::string_view> names,
                    std::span<std::optional<std::string_view>> values) {
  for (size_t k = 0; k < names.size(); ++k) values[k].reset();
  // The pairs' names are never empty and hold no name-value separator, so an
  // empty name or one holding the separator never matches (FindProperty's
  // rules) without being looked at.
  ForEachProperty(props, [&](std::string_view name, std::string_view value) {
    for (size_t k = 0; k < names.size(); ++k) {
      // The first byte first: most names differ there, without a call.
      const std::string_view want = names[k];
      if (want.size() == name.size() && want[0] == name[0] && want == name)
        values[k] = value;
    }
  });
}

}  // namespace thruster::message
