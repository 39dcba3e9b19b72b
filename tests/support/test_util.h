#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "common/result.h"
#include "common/status.h"

#define ASSERT_OK(expr)                                             \
  do {                                                              \
    const ::thruster::Status th_s__ = (expr);                       \
    ASSERT_TRUE(th_s__.ok()) << #expr << ": " << th_s__.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                             \
  do {                                                              \
    const ::thruster::Status th_s__ = (expr);                       \
    EXPECT_TRUE(th_s__.ok()) << #expr << ": " << th_s__.ToString(); \
  } while (0)
#define TH_TEST_CONCAT_INNER_(a, b) a##b
#define TH_TEST_CONCAT_(a, b) TH_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(TH_TEST_CONCAT_(th_r__, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)                   \
  auto tmp = (expr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

namespace thruster::testing {

// A fresh directory under the system temp dir, removed when the object goes
// away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = (std::filesystem::temp_directory_path() /
             ("thruster-test-" + std::to_string(rd()) + "-" +
              std::to_string(::getpid())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Seed for randomised tests: THRUSTER_TEST_SEED replays a failure; the seed is
// printed either way.
inline uint64_t TestSeed() {
  uint64_t seed;
  if (const char* env = std::getenv("THRUSTER_TEST_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  } else {
    seed = std::random_device{}();
  }
  std::printf("THRUSTER_TEST_SEED=%llu\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

// Waits for another thread's work to show: polls `done` until it returns true
// (true) or `deadline` of real time passed (false, after one last look). The
// deadline only bounds a failing test; a passing one returns as soon as `done`.
template <typename F>
bool WaitUntil(F done,
               std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// "00 0A ff" -> bytes: the hex digits of `hex`, either case, spaces and newlines ignored (a golden record
// written out the way the spec prints it). A bad digit or an odd count fails the calling test.
std::string BytesFromHex(std::string_view hex);

// The bytes as upper-case hex digits, two per byte, no separators.
std::string UpperHex(std::span<const std::byte> bytes);

// Copies the read-only fixture tree `from` to `to`, making everything writable (a store opens its files
// read-write).
void CopyWritable(const std::filesystem::path& from, const std::filesystem::path& to);

// Path of a file under tests/fixtures/ (the RocketMQ-written stores, their
// manifests and the wire captures; tests/fixtures/README.md says what each is).
std::string FixturePath(const std::string& rel);

}  // namespace thruster::testing
