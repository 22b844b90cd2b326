//===- ThreadPool.cpp -----------------------------------------------------===//
#include "ds/runtime/ThreadPool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace ds::rt {

ThreadPool::ThreadPool(unsigned numThreads) {
  if (numThreads == 0)
    numThreads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 1; i < numThreads; ++i)
    workers_.emplace_back([this] { workerLoop(); });
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
    return env ? static_cast<unsigned>(std::max(1, std::atoi(env))) : 0u;
  }());
  return pool;
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stop_ || (job_ && generation_ != seen); });
    if (stop_)
      return;
    seen = generation_;
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
      if (++finished_ == numChunks_)
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
  finished_ = 0;
  error_ = nullptr;
  ++generation_;
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
    ++finished_;
  }
  done_.wait(lock, [&] { return finished_ == numChunks_; });
  job_ = nullptr;
  std::exception_ptr err = error_;
  error_ = nullptr;
  lock.unlock();
  if (err)
    std::rethrow_exception(err);
}

} // namespace ds::rt
