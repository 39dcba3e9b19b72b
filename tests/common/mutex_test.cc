#include "common/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace thruster {
namespace {

// Threads that take the lock with SpinningMutexLock exclude each other and
// every increment survives: the counter is a plain int, so an overlap would
// lose some (and TSan would report the race).
TEST(SpinningMutexLockTest, ExcludesOtherHolders) {
  Mutex mu;
  int64_t counter = 0;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  constexpr int kThreads = 4, kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        SpinningMutexLock lock(&mu);
        if (inside.fetch_add(1) != 0) overlapped = true;
        ++counter;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlapped.load());
  EXPECT_EQ(counter, int64_t{kThreads} * kRounds);
}

// A holder that keeps the mutex past the spins: the waiter blocks and gets it
// once it is released, and only then.
TEST(SpinningMutexLockTest, BlocksWhenTheHolderKeepsIt) {
  Mutex mu;
  std::atomic<bool> released{false};
  std::atomic<bool> acquired{false};
  mu.Lock();
  std::thread waiter([&] {
    SpinningMutexLock lock(&mu, /*spins=*/4);
    acquired = true;
    EXPECT_TRUE(released.load());
  });
  // The waiter cannot get the mutex while it is held, however long it tries.
  for (int i = 0; i < 1000 && !acquired.load(); ++i) std::this_thread::yield();
  EXPECT_FALSE(acquired.load());
  released = true;
  mu.Unlock();
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

}  // namespace
}  // namespace thruster
