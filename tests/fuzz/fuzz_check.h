#pragma once
// What the fuzz targets share: an invariant check that aborts (so libFuzzer
// records the input as a crash, and the replay test fails) whatever the build
// type, and the entry point every target defines.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace thruster::fuzz {

[[noreturn]] inline void FuzzCheckFailed(const char* what, const char* file,
                                         int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace thruster::fuzz

#define TH_FUZZ_CHECK(cond)                                                    \
  do {                                                                         \
    if (!(cond)) ::thruster::fuzz::FuzzCheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)
