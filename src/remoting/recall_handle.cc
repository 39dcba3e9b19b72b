#include "remoting/recall_handle.h"

#include <openssl/evp.h>

#include <charconv>
#include <vector>

namespace thruster::remoting {
namespace {

constexpr std::string_view kRecallHandleV1 = "v1";

// OpenSSL's Base64 uses the standard alphabet; a handle uses the URL-safe one
// ('-' and '_' for '+' and '/'). The other characters are the same.
char RecallToStandardAlphabet(char c) {
  if (c == '-') return '+';
  if (c == '_') return '/';
  return c;
}
char RecallToUrlAlphabet(char c) {
  if (c == '+') return '-';
  if (c == '/') return '_';
  return c;
}

}  // namespace

std::string EncodeRecallHandle(const RecallHandle& h) {
  std::string raw;
  raw.reserve(h.topic.size() + h.broker_name.size() + h.uniq_key.size() + 32);
  raw.append(kRecallHandleV1);
  raw += ' ';
  raw += h.topic;
  raw += ' ';
  raw += h.broker_name;
  raw += ' ';
  raw += std::to_string(h.timestamp_ms);
  raw += ' ';
  raw += h.uniq_key;
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(raw.data()),
                      static_cast<int>(raw.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  for (char& c : out) c = RecallToUrlAlphabet(c);
  return out;
}

Result<RecallHandle> DecodeRecallHandle(std::string_view handle) {
  const Status bad =
      Status::InvalidArgument("recall handle is invalid: not URL-safe Base64");
  if (handle.empty()) return Status::InvalidArgument("recall handle is empty");
  // At most two '=' of padding, only at the end; nothing OpenSSL would skip
  // (blanks) or read as the standard alphabet ('+', '/').
  size_t pad = 0;
  while (pad < handle.size() && handle[handle.size() - 1 - pad] == '=') ++pad;
  if (pad > 2) return bad;
  std::string text;
  text.reserve(handle.size() + 2);
  for (size_t i = 0; i + pad < handle.size(); ++i) {
    const char c = handle[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return bad;
    text += RecallToStandardAlphabet(c);
  }
  if (text.size() % 4 == 1) return bad;
  const size_t missing = (4 - text.size() % 4) % 4;
  if (pad != 0 && pad != missing) return bad;
  text.append(missing, '=');
  std::vector<unsigned char> raw(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(
      raw.data(), reinterpret_cast<const unsigned char*>(text.data()),
      static_cast<int>(text.size()));
  if (n < 0) return bad;
  // EVP_DecodeBlock counts the bytes the padding stands for as zeros.
  const size_t len = static_cast<size_t>(n) - missing;
  const std::string_view plain(reinterpret_cast<const char*>(raw.data()), len);

  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (true) {
    const size_t sp = plain.find(' ', pos);
    fields.push_back(plain.substr(
        pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (fields.empty() || fields[0] != kRecallHandleV1)
    return Status::InvalidArgument("recall handle is invalid: not version v1");
  if (fields.size() != 5)
    return Status::InvalidArgument("recall handle is invalid: it has " +
                                   std::to_string(fields.size()) +
                                   " fields, not 5");
  for (std::string_view f : fields) {
    if (f.empty())
      return Status::InvalidArgument("recall handle is invalid: empty field");
  }
  RecallHandle h;
  h.topic = std::string(fields[1]);
  h.broker_name = std::string(fields[2]);
  const std::string_view ts = fields[3];
  auto [end, ec] =
      std::from_chars(ts.data(), ts.data() + ts.size(), h.timestamp_ms);
  if (ec != std::errc() || end != ts.data() + ts.size())
    return Status::InvalidArgument("recall handle is invalid: timestamp " +
                                   std::string(ts) + " is not a number");
  h.uniq_key = std::string(fields[4]);
  return h;
}

}  // namespace thruster::remoting
