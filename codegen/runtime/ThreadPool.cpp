//===- ThreadPool.cpp -----------------------------------------------------===//
#include "ds/runtime/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <system_error>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ds::rt {
namespace {
// Kernels issue parallelFor calls back to back (one or more per node), and a
// futex sleep/wake round trip costs tens of microseconds, more than many
// small kernels take. So workers spin this long for the next job, and the
// caller this long for the last chunk, before blocking on the condition
// variables. generation_ and finished_ are written under the mutex and read
// by the spinners through std::atomic_ref (every access goes through one).
constexpr auto kSpinFor = std::chrono::microseconds(100);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// Spins until pred() or kSpinFor has passed; returns pred(). Between rounds of
/// pauses it yields the CPU: when the scheduler has put the thread being waited
/// for on this thread's CPU (it tends to wake a sleeping worker next to its
/// waker), pure spinning would keep it off the CPU for the whole spin.
template <typename Pred> bool spinUntil(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinFor;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred())
        return true;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
    std::this_thread::yield();
  }
}

template <typename T> T loadAcquire(T &value) {
  return std::atomic_ref<T>(value).load(std::memory_order_acquire);
}
template <typename T> void storeRelease(T &value, T v) {
  std::atomic_ref<T>(value).store(v, std::memory_order_release);
}
} // namespace

ThreadPool::ThreadPool(unsigned numThreads) {
  if (numThreads == 0)
    numThreads = std::max(1u, std::thread::hardware_concurrency());
  numThreads = std::min(numThreads, kMaxThreads);
  // The system may refuse threads (RLIMIT_NPROC, cgroup pids.max, memory for
  // stacks): the pool then runs with the workers it got, the caller included.
  // It must not throw out of here with workers started: their std::thread
  // objects would be destroyed joinable (std::terminate) while they wait on
  // this pool's condition variables.
  workers_.reserve(numThreads - 1);
  for (unsigned i = 1; i < numThreads; ++i) {
    try {
      workers_.emplace_back([this] { workerLoop(); });
    } catch (const std::system_error &) {
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto &t : workers_)
    t.join();
}

ThreadPool &ThreadPool::global() {
  static ThreadPool pool([] {
    const char *env = std::getenv("DS_NUM_THREADS");
    // atoi: a malformed value reads as 0 (all cores); the constructor bounds it.
    return env ? static_cast<unsigned>(std::max(1, std::atoi(env))) : 0u;
  }());
  return pool;
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    spinUntil([&] { return loadAcquire(generation_) != seen; });
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stop_ || (job_ && loadAcquire(generation_) != seen); });
    if (stop_)
      return;
    seen = loadAcquire(generation_);
    while (job_ && nextChunk_ < numChunks_) {
      int64_t c = nextChunk_++;
      auto *job = job_;
      int64_t begin = c * chunk_, end = std::min(jobSize_, begin + chunk_);
      lock.unlock();
      try {
        (*job)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> g(mutex_);
        if (!error_)
          error_ = std::current_exception();
      }
      lock.lock();
      const int64_t finished = loadAcquire(finished_) + 1;
      storeRelease(finished_, finished);
      if (finished == numChunks_)
        done_.notify_all();
    }
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t minChunk,
                             const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  minChunk = std::max<int64_t>(1, minChunk);
  int64_t threads = numThreads();
  if (threads == 1 || n <= minChunk) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven work; the split depends on n only.
  int64_t chunk = std::max(minChunk, (n + threads * 4 - 1) / (threads * 4));
  std::unique_lock<std::mutex> lock(mutex_);
  job_ = &fn;
  jobSize_ = n;
  chunk_ = chunk;
  numChunks_ = (n + chunk - 1) / chunk;
  nextChunk_ = 0;
  storeRelease(finished_, int64_t{0});
  error_ = nullptr;
  storeRelease(generation_, loadAcquire(generation_) + 1);
  wake_.notify_all();
  // The caller works too.
  while (nextChunk_ < numChunks_) {
    int64_t c = nextChunk_++;
    int64_t begin = c * chunk_, end = std::min(jobSize_, begin + chunk_);
    lock.unlock();
    try {
      fn(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> g(mutex_);
      if (!error_)
        error_ = std::current_exception();
    }
    lock.lock();
    storeRelease(finished_, loadAcquire(finished_) + 1);
  }
  const int64_t numChunks = numChunks_;
  if (loadAcquire(finished_) != numChunks) {
    lock.unlock();
    spinUntil([&] { return loadAcquire(finished_) == numChunks; });
    lock.lock();
  }
  done_.wait(lock, [&] { return loadAcquire(finished_) == numChunks_; });
  job_ = nullptr;
  std::exception_ptr err = error_;
  error_ = nullptr;
  lock.unlock();
  if (err)
    std::rethrow_exception(err);
}

} // namespace ds::rt
