// A fixed pool of worker threads for data-parallel loops on the CPU.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace pagoda {

template <typename Signature>
class FunctionRef;

// A non-owning reference to a callable, two pointers wide: passing a lambda to parallel_for
// allocates nothing (std::function would, for captures over 16 bytes, on every op call). The
// callable must outlive the call, which holds for a lambda written in the call expression.
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): converting like std::function
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

using RangeFunction = FunctionRef<void(int64_t, int64_t)>;

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
  void parallel_for(int64_t begin, int64_t end, int64_t grain, RangeFunction fn);

  // The process-wide pool: PAGODA_NUM_THREADS threads, or one per hardware thread.
  static ThreadPool& global();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ThreadPool::global().parallel_for(...).
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, RangeFunction fn) {
  ThreadPool::global().parallel_for(begin, end, grain, fn);
}

}  // namespace pagoda
