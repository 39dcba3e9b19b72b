#include "remoting/codes.h"

#include <array>

namespace thruster::remoting {
namespace {

constexpr std::array<std::string_view, 14> kLanguageNames = {
    "JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
    "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST",   "NODE_JS",
};

}  // namespace

std::string_view LanguageName(LanguageCode code) {
  auto i = static_cast<size_t>(code);
  return i < kLanguageNames.size() ? kLanguageNames[i] : "OTHER";
}

LanguageCode LanguageFromName(std::string_view name) {
  for (size_t i = 0; i < kLanguageNames.size(); ++i) {
    if (kLanguageNames[i] == name) return static_cast<LanguageCode>(i);
  }
  return LanguageCode::kOther;
}

LanguageCode LanguageFromNumber(int64_t number) {
  if (number < 0 || number >= static_cast<int64_t>(kLanguageNames.size()))
    return LanguageCode::kOther;
  return static_cast<LanguageCode>(number);
}

int32_t ResponseCodeFromStatus(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return response_code::kSuccess;
    case Status::Code::kBusy:
    case Status::Code::kResourceExhausted:
      return response_code::kSystemBusy;
    case Status::Code::kShutdown:
    case Status::Code::kIOError:
      return response_code::kServiceNotAvailable;
    default:
      return response_code::kSystemError;
  }
}

}  // namespace thruster::remoting
