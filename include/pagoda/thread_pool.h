// A fixed pool of worker threads for data-parallel loops on the CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace pagoda {

class ThreadPool {
 public:
  // `num_threads` counts the calling thread: a pool of 1 runs everything inline.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const;

  // Runs fn(chunk_begin, chunk_end) over [begin, end) split into chunks of at least `grain`
  // items, on the workers and the calling thread, and returns when all chunks are done. The
  // first exception a chunk throws is rethrown here (after the other chunks finish). A
  // parallel_for called from inside a chunk runs inline, so nesting never deadlocks.
  void parallel_for(int64_t begin, int64_t end, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool: PAGODA_NUM_THREADS threads, or one per hardware thread.
  static ThreadPool& global();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ThreadPool::global().parallel_for(...).
inline void parallel_for(int64_t begin, int64_t end, int64_t grain,
                         const std::function<void(int64_t, int64_t)>& fn) {
  ThreadPool::global().parallel_for(begin, end, grain, fn);
}

}  // namespace pagoda
