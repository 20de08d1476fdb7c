// Tensor-parallel tests: ranks as threads of one in-process communicator group.
#pragma once

#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "pagoda/communicator.h"

namespace pagoda::testing {

// Runs fn(rank, communicator) on one thread per rank; rethrows the first rank's failure.
inline void run_ranks(int size, const std::function<void(int, Communicator&)>& fn) {
  auto group = make_in_process_group(size);
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r, *group[static_cast<size_t>(r)]);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace pagoda::testing
