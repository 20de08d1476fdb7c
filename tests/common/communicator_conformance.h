// The behaviour every Communicator must have, as one function each rank runs with its own
// communicator of the group: the in-process group (threads), MPI (processes under mpirun) and
// NCCL (GPUs) all pass the same checks. Returns "" or what went wrong on this rank.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/cast.h"
#include "pagoda/communicator.h"
#include "pagoda/error.h"

namespace pagoda::testing {

namespace conformance {

// A [rows, cols] f32 tensor on `device` whose element (i, j) is f(i, j).
template <class F>
Tensor make(int64_t rows, int64_t cols, Device device, F f, DType dtype = DType::F32) {
  Tensor host = Tensor::empty({rows, cols}, DType::F32);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) host.mutable_data_as<float>()[i * cols + j] = f(i, j);
  if (dtype != DType::F32) {
    Tensor narrow = Tensor::empty(host.shape(), dtype);
    ops::cast(host, narrow);
    host = narrow;
  }
  if (device.is_cpu()) return host;
  Tensor out = Tensor::empty(host.shape(), dtype, device);
  out.copy_from(host);
  return out;
}

inline Tensor to_host_f32(const Tensor& t) {
  Tensor host = Tensor::empty(t.shape(), t.dtype());
  host.copy_from(t);
  if (host.dtype() == DType::F32) return host;
  Tensor wide = Tensor::empty(host.shape(), DType::F32);
  ops::cast(host, wide);
  return wide;
}

// "" when every element of `t` (as f32) equals f(i, j) within `tol`.
template <class F>
std::string expect_values(const char* what, const Tensor& t, F f, double tol = 0) {
  const Tensor h = to_host_f32(t);
  const int64_t cols = h.size(1);
  for (int64_t i = 0; i < h.size(0); ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double got = h.data_as<float>()[i * cols + j], want = f(i, j);
      if (std::fabs(got - want) > tol)
        return fmt::format("{}: element ({}, {}) is {}, expected {}\n", what, i, j, got, want);
    }
  return "";
}

}  // namespace conformance

inline std::string check_collectives(Communicator& c, Device device = Device::cpu()) {
  using namespace conformance;
  const int n = c.size(), me = c.rank();
  std::string failures;

  // all_reduce_sum, f32 and bf16.
  Tensor a = make(3, 5, device,
                  [&](int64_t i, int64_t j) { return static_cast<float>(me + 1) * (i * 5 + j); });
  c.all_reduce_sum(a);
  const double ranks_sum = n * (n + 1) / 2.0;
  failures += expect_values("all_reduce_sum f32", a,
                            [&](int64_t i, int64_t j) { return ranks_sum * (i * 5 + j); });
  Tensor b = make(
      2, 4, device, [&](int64_t i, int64_t j) { return static_cast<float>(me + i + j); },
      DType::BF16);
  c.all_reduce_sum(b);
  failures += expect_values("all_reduce_sum bf16", b,
                            [&](int64_t i, int64_t j) { return n * (i + j) + n * (n - 1) / 2.0; });

  // all_gather along rows and along columns.
  const auto mine = [&](int64_t i, int64_t j) { return static_cast<float>(me * 100 + i * 10 + j); };
  const Tensor part = make(2, 3, device, mine);
  Tensor rows = Tensor::empty({2 * n, 3}, DType::F32, device);
  c.all_gather(part, rows, 0);
  failures += expect_values("all_gather dim 0", rows,
                            [](int64_t i, int64_t j) { return (i / 2) * 100 + (i % 2) * 10 + j; });
  Tensor cols = Tensor::empty({2, 3 * n}, DType::F32, device);
  c.all_gather(part, cols, 1);
  failures += expect_values("all_gather dim 1", cols,
                            [](int64_t i, int64_t j) { return (j / 3) * 100 + i * 10 + j % 3; });

  // gather to the last rank, along columns.
  const int root = n - 1;
  Tensor gathered = me == root ? Tensor::empty({2, 3 * n}, DType::F32, device) : Tensor();
  c.gather(part, gathered, 1, root);
  if (me == root)
    failures += expect_values("gather", gathered,
                              [](int64_t i, int64_t j) { return (j / 3) * 100 + i * 10 + j % 3; });

  // broadcast from the last rank.
  Tensor bc = make(4, 2, device, mine);
  c.broadcast(bc, root);
  failures +=
      expect_values("broadcast", bc, [&](int64_t i, int64_t j) { return root * 100 + i * 10 + j; });

  // send and recv around a ring (even ranks send first, so no rank waits on a blocked peer).
  if (n > 1) {
    const int next = (me + 1) % n, prev = (me + n - 1) % n;
    const Tensor out = make(3, 4, device, mine);
    Tensor in = Tensor::empty({3, 4}, DType::F32, device);
    if (me % 2 == 0) {
      c.send(out, next);
      c.recv(in, prev);
    } else {
      c.recv(in, prev);
      c.send(out, next);
    }
    failures += expect_values("send/recv", in,
                              [&](int64_t i, int64_t j) { return prev * 100 + i * 10 + j; });
  }

  // Helpers built on the collectives (CPU groups).
  if (device.is_cpu()) {
    std::string text =
        me == 0 ? std::string("hello from rank 0, a message of some length") : std::string("x");
    broadcast_bytes(c, text, 0);
    if (text != "hello from rank 0, a message of some length")
      failures += "broadcast_bytes: got '" + text + "'\n";
    const std::vector<int64_t> values = all_gather_values(c, 7 * me + 1);
    for (int r = 0; r < n; ++r)
      if (values[static_cast<size_t>(r)] != 7 * r + 1)
        failures +=
            fmt::format("all_gather_values: rank {} gave {}\n", r, values[static_cast<size_t>(r)]);
  }

  // A bad argument is an error, not a hang or a crash.
  try {
    Tensor wrong = Tensor::empty({2, 3 * n + 1}, DType::F32, device);
    c.all_gather(part, wrong, 1);
    failures += "all_gather into a wrongly sized output did not throw\n";
  } catch (const Error&) {
  }
  try {
    Tensor t = make(1, 1, device, mine);
    c.broadcast(t, n);
    failures += "broadcast from a rank outside the group did not throw\n";
  } catch (const Error&) {
  }
  c.barrier();
  return failures.empty() ? "" : fmt::format("rank {} of {}:\n{}", me, n, failures);
}

}  // namespace pagoda::testing
