#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

// TH_CHECK(cond, "fmt {}", args...): a broken internal invariant is a bug. Logs
// and aborts in every build. Never use it for bytes read from disk or the
// network: those produce a Status.
#define TH_CHECK(cond, ...)                                              \
  do {                                                                   \
    if (!(cond)) [[unlikely]] {                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", __FILE__,    \
                   __LINE__, #cond, ::fmt::format(__VA_ARGS__).c_str()); \
      std::abort();                                                      \
    }                                                                    \
  } while (0)
