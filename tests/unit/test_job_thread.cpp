// The serve workers' model thread: every job on the same thread (not the caller's), its
// exception back to the caller, and callers from several threads taking turns.
#include "job_thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using nanochat::serve::JobThread;

TEST(JobThreadTest, RunsEveryJobOnItsOwnThread) {
  JobThread worker(1);
  std::thread::id first, second;
  worker.run([&] { first = std::this_thread::get_id(); });
  worker.run([&] { second = std::this_thread::get_id(); });
  EXPECT_EQ(first, second);
  EXPECT_NE(first, std::this_thread::get_id());
}

TEST(JobThreadTest, RethrowsTheJobsException) {
  JobThread worker(0);
  EXPECT_THROW(worker.run([] { throw std::runtime_error("boom"); }), std::runtime_error);
  int value = 0;
  worker.run([&] { value = 7; });  // the thread survives a failed job
  EXPECT_EQ(value, 7);
}

TEST(JobThreadTest, CallersTakeTurns) {
  JobThread worker(1);
  std::atomic<int> inside{0}, most{0}, total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        worker.run([&] {
          most = std::max(most.load(), ++inside);
          ++total;
          --inside;
        });
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(total.load(), 200);
  EXPECT_EQ(most.load(), 1);
}
