#include "message/message.h"

#include "message/jhash.h"

namespace thruster::message {
namespace {

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Decodes one code point from UTF-8 at s[*i], advancing *i. A malformed
// sequence yields U+FFFD and advances past its maximal valid prefix (at least
// one byte), as Java's decoder does.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte_at = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte_at(*i);
  constexpr uint32_t kReplacement = 0xFFFD;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int need;
  uint32_t cp;
  uint8_t lo = 0x80;  // allowed range of the second byte
  uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no encoded surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++*i;
    return kReplacement;
  }
  size_t k = *i + 1;
  for (int n = 0; n < need; ++n, ++k) {
    if (k >= s.size()) {
      *i = k;
      return kReplacement;
    }
    const uint8_t b = byte_at(k);
    const bool ok = n == 0 ? (b >= lo && b <= hi) : IsContinuation(b);
    if (!ok) {
      *i = k;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  *i = k;
  return cp;
}

}  // namespace

int32_t JHash(std::string_view s) { return JHashContinue(0, s); }

int32_t JHashContinue(int32_t seed, std::string_view s) {
  // Unsigned arithmetic gives Java's 32-bit wrap-around without signed
  // overflow.
  constexpr uint32_t kPow31[] = {1u, 31u, 961u, 29791u, 923521u};
  auto h = static_cast<uint32_t>(seed);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Four ASCII bytes in one step: h * 31^4 + b0 * 31^3 + ... + b3, which
    // is the four single steps below multiplied out.
    if (n - i >= 4 && ((p[i] | p[i + 1] | p[i + 2] | p[i + 3]) & 0x80) == 0) {
      h = h * kPow31[4] + p[i] * kPow31[3] + p[i + 1] * kPow31[2] +
          p[i + 2] * kPow31[1] + p[i + 3];
      i += 4;
      continue;
    }
    const uint8_t b = p[i];
    if (b < 0x80) {
      h = 31 * h + b;
      ++i;
      continue;
    }
    const uint32_t cp = NextCodePoint(s, &i);
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      h = 31 * h + (0xD800 + (v >> 10));
      h = 31 * h + (0xDC00 + (v & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return static_cast<int32_t>(h);
}

int64_t TagsCode(std::optional<std::string_view> tags) {
  if (!tags || tags->empty()) return 0;
  return JHash(*tags);
}

}  // namespace thruster::message
