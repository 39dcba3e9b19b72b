#include "store/delay_level_table.h"

#include <charconv>

namespace thruster::store {

std::optional<int32_t> ParseDelayLevel(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int32_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return std::nullopt;
  return v;
}

DelayLevelTable::DelayLevelTable()
    : delays_ms_(Parse(kDefaultMessageDelayLevel).value().delays_ms_) {}

Result<DelayLevelTable> DelayLevelTable::Parse(std::string_view text) {
  std::vector<int64_t> delays;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    auto bad = [&] {
      return Status::InvalidArgument("messageDelayLevel item '" +
                                     std::string(item) +
                                     "' is not a count and a unit s/m/h/d");
    };
    if (item.size() < 2) return bad();
    int64_t unit_ms = 0;
    switch (item.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60 * 1000;
        break;
      case 'h':
        unit_ms = 60 * 60 * 1000;
        break;
      case 'd':
        unit_ms = 24 * 60 * 60 * 1000;
        break;
      default:
        return bad();
    }
    std::string_view digits = item.substr(0, item.size() - 1);
    int64_t count = 0;
    auto [ptr, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc() || ptr != digits.data() + digits.size() ||
        count < 0 || count > int64_t{1} << 32)
      return bad();
    delays.push_back(count * unit_ms);
  }
  if (delays.empty())
    return Status::InvalidArgument("messageDelayLevel is empty");
  return DelayLevelTable(std::move(delays));
}

int64_t DelayLevelTable::DelayMs(int level) const {
  if (level < 1) return 1000;
  if (level > max_level()) level = max_level();
  return delays_ms_[static_cast<size_t>(level - 1)];
}

}  // namespace thruster::store
