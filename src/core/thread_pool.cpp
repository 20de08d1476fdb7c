#include "pagoda/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda {
namespace {
// True on a pool worker and on a caller while it runs chunks: a nested parallel_for runs inline.
thread_local bool t_inside_parallel_region = false;
}  // namespace

// One job at a time: the caller publishes it under the mutex, bumps `generation`, and workers
// claim chunks with an atomic counter until none are left. The caller claims chunks too. A job's
// fields change only while no worker is active, so a worker that wakes late never runs a chunk of
// the wrong job.
struct ThreadPool::Impl {
  int num_threads = 1;
  std::vector<std::thread> workers;

  std::mutex mutex;
  std::condition_variable work_ready;
  std::condition_variable work_done;
  uint64_t generation = 0;
  bool stopping = false;

  // The current job.
  const RangeFunction* fn = nullptr;
  int64_t begin = 0, end = 0, chunk = 1, num_chunks = 0;
  std::atomic<int64_t> next_chunk{0};
  int64_t chunks_done = 0;  // guarded by mutex
  int active_workers = 0;   // guarded by mutex
  std::exception_ptr error;  // guarded by mutex

  std::mutex submit_mutex;  // one caller at a time

  void run_chunks() {
    int64_t done = 0;
    std::exception_ptr local_error;
    for (;;) {
      const int64_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= num_chunks) break;
      const int64_t b = begin + c * chunk;
      const int64_t e = std::min(end, b + chunk);
      try {
        (*fn)(b, e);
      } catch (...) {
        if (!local_error) local_error = std::current_exception();
      }
      ++done;
    }
    if (done == 0 && !local_error) return;
    std::lock_guard lock(mutex);
    if (local_error && !error) error = local_error;
    chunks_done += done;
    if (chunks_done == num_chunks) work_done.notify_all();
  }

  void worker_loop() {
    t_inside_parallel_region = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation;
        ++active_workers;
      }
      run_chunks();
      std::lock_guard lock(mutex);
      if (--active_workers == 0) work_done.notify_all();
    }
  }
};

ThreadPool::ThreadPool(int num_threads) : impl_(std::make_unique<Impl>()) {
  PAGODA_CHECK(num_threads >= 1, InvalidArgument,
               "a thread pool needs at least one thread, got " + std::to_string(num_threads),
               "set PAGODA_NUM_THREADS (or the thread count) to a positive number");
  impl_->num_threads = num_threads;
  for (int i = 1; i < num_threads; ++i) impl_->workers.emplace_back([this] { impl_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->work_ready.notify_all();
  for (auto& t : impl_->workers) t.join();
}

int ThreadPool::num_threads() const { return impl_->num_threads; }

void ThreadPool::parallel_for(int64_t begin, int64_t end, int64_t grain, RangeFunction fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t range = end - begin;
  if (impl_->num_threads == 1 || t_inside_parallel_region || range <= grain) {
    fn(begin, end);
    return;
  }
  // A few chunks per thread balances uneven work without much claiming overhead.
  const int64_t max_chunks = static_cast<int64_t>(impl_->num_threads) * 4;
  const int64_t chunks_by_grain = (range + grain - 1) / grain;
  const int64_t num_chunks = std::min(max_chunks, chunks_by_grain);
  const int64_t chunk = (range + num_chunks - 1) / num_chunks;

  std::lock_guard submit(impl_->submit_mutex);
  Impl& s = *impl_;
  {
    std::unique_lock lock(s.mutex);
    s.work_done.wait(lock, [&] { return s.active_workers == 0; });
    s.fn = &fn;
    s.begin = begin;
    s.end = end;
    s.chunk = chunk;
    s.num_chunks = (range + chunk - 1) / chunk;
    s.next_chunk.store(0, std::memory_order_relaxed);
    s.chunks_done = 0;
    s.error = nullptr;
    ++s.generation;
  }
  s.work_ready.notify_all();
  t_inside_parallel_region = true;
  s.run_chunks();
  t_inside_parallel_region = false;
  std::exception_ptr error;
  {
    std::unique_lock lock(s.mutex);
    s.work_done.wait(lock, [&] { return s.chunks_done == s.num_chunks && s.active_workers == 0; });
    error = s.error;
    s.fn = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool([] {
    if (const char* env = std::getenv("PAGODA_NUM_THREADS")) {
      char* endp = nullptr;
      const long n = std::strtol(env, &endp, 10);
      if (endp != env && *endp == '\0' && n >= 1 && n <= 4096) return static_cast<int>(n);
      log::warn("PAGODA_NUM_THREADS='{}' is not a positive thread count; using one per core", env);
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }());
  return pool;
}

}  // namespace pagoda
