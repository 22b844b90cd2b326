//===- ThreadPool.h - deterministic parallel-for --------------------------===//
//
// A fixed pool of worker threads with one primitive, parallelFor. Work is split
// into contiguous chunks by index only, so a kernel that writes each output
// element from one chunk gets the same bits for any thread count.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ds::rt {

class ThreadPool {
public:
  /// More threads than this are not started, whatever is asked for.
  static constexpr unsigned kMaxThreads = 1024;

  /// numThreads = 0 means std::thread::hardware_concurrency(); at most
  /// kMaxThreads. When the system refuses to create a thread the pool keeps the
  /// ones it has (numThreads() says how many): never an exception, never a hang.
  explicit ThreadPool(unsigned numThreads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned numThreads() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls fn(begin, end) over disjoint ranges covering [0, n), each at least
  /// `minChunk` long (except possibly the last). Runs inline when n is small or the
  /// pool has one thread. Blocks until all ranges are done; rethrows the first
  /// exception a range threw. Not reentrant: do not call parallelFor from inside fn.
  void parallelFor(int64_t n, int64_t minChunk,
                   const std::function<void(int64_t, int64_t)> &fn);

  /// A process-wide pool sized from DS_NUM_THREADS or the hardware.
  static ThreadPool &global();

private:
  void workerLoop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)> *job_ = nullptr;
  int64_t jobSize_ = 0, chunk_ = 0, nextChunk_ = 0, numChunks_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

} // namespace ds::rt
