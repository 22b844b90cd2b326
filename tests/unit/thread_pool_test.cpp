//===- thread_pool_test.cpp - the pool when the system refuses threads -----===//
//
// A child process lowers RLIMIT_NPROC (as an unprivileged user when the test
// runs as root, whom the limit does not bind), then asks for 64 threads: the
// pool must run with the ones it got, give correct results and tear down
// without hanging. alarm() turns a hang into a failure instead of a stuck test.
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

/// Runs `body` in a child limited to `maxProcesses` processes/threads of its
/// user; returns the child's exit code (128 + signal when killed).
template <typename Body> int inLimitedChild(rlim_t maxProcesses, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(60);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
      ::_exit(90); // cannot drop root: the limit would not apply
    struct rlimit limit = {maxProcesses, maxProcesses};
    if (::setrlimit(RLIMIT_NPROC, &limit) != 0)
      ::_exit(91);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ThreadPool, FewerThreadsWhenTheSystemRefuses) {
  int code = inLimitedChild(4, [] {
    {
      ds::rt::ThreadPool pool(64);
      if (pool.numThreads() < 1 || pool.numThreads() >= 64)
        return 10; // the limit did not bite, or the pool claims threads it lacks
      std::atomic<int64_t> sum{0};
      for (int round = 0; round < 50; ++round)
        pool.parallelFor(10000, 1, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i)
            sum += i;
        });
      if (sum != 50 * (int64_t{9999} * 10000 / 2))
        return 11;
    } // teardown with workers waiting
    return 0;
  });
  if (code == 90)
    GTEST_SKIP() << "cannot drop root to make RLIMIT_NPROC apply";
  EXPECT_EQ(code, 0) << "10: limit not applied/overclaimed, 11: wrong sum, 142: hung (SIGALRM)";
}

TEST(ThreadPool, NoThreadsAtAllStillRuns) {
  int code = inLimitedChild(1, [] {
    ds::rt::ThreadPool pool(16);
    int64_t sum = 0; // one thread: runs inline, no race
    pool.parallelFor(100, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        sum += i;
    });
    return pool.numThreads() == 1 && sum == 4950 ? 0 : 12;
  });
  if (code == 90)
    GTEST_SKIP() << "cannot drop root to make RLIMIT_NPROC apply";
  EXPECT_EQ(code, 0);
}

TEST(ThreadPool, RequestsAreBounded) {
  ds::rt::ThreadPool pool(4);
  EXPECT_EQ(pool.numThreads(), 4u);
  EXPECT_LE(ds::rt::ThreadPool::kMaxThreads, 4096u);
}

} // namespace
