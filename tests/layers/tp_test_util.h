// Helpers for the tensor-parallel layer tests: ranks as threads of one in-process group, float64
// reference arithmetic on plain vectors, and checkpoint tensors built in the test.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/run_ranks.h"
#include "pagoda/communicator.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"
#include "pagoda/tensor.h"

namespace pagoda::testing {

inline ModelInitContext make_ctx(ParameterSet& params, Communicator& comm, std::string prefix,
                                 DType dtype = DType::F32) {
  ModelInitContext ctx;
  ctx.prefix = std::move(prefix);
  ctx.parallel = ParallelState::from(comm);
  ctx.parameters = &params;
  ctx.dtype = dtype;
  return ctx;
}

// A row-major matrix of doubles, the test's own copy of a checkpoint tensor.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double operator()(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
  double& operator()(int64_t r, int64_t c) { return v[static_cast<size_t>(r * cols + c)]; }
};

// Distinct values, exactly representable in f32: element (r, c) is r * 1000 + c + offset.
inline Mat indexed_mat(int64_t rows, int64_t cols, double offset = 0) {
  Mat m{rows, cols, std::vector<double>(static_cast<size_t>(rows * cols))};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m(r, c) = static_cast<double>(r * 1000 + c) + offset;
  return m;
}

// Uniform in [-1, 1), rounded to f32 so the f32 tensor and the reference hold the same values.
inline Mat random_mat(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Mat m{rows, cols, std::vector<double>(static_cast<size_t>(rows * cols))};
  for (double& x : m.v) x = static_cast<double>(dist(gen));
  return m;
}

// Rows stacked in order (a fused checkpoint tensor).
inline Mat concat_rows(const std::vector<const Mat*>& parts) {
  Mat out{0, parts.front()->cols, {}};
  for (const Mat* p : parts) {
    out.rows += p->rows;
    out.v.insert(out.v.end(), p->v.begin(), p->v.end());
  }
  return out;
}

// An f32 tensor [rows, cols] (or [cols] when as_vector) holding m.
inline Tensor to_tensor(const Mat& m, bool as_vector = false) {
  Tensor t =
      as_vector ? Tensor::empty({m.cols}, DType::F32) : Tensor::empty({m.rows, m.cols}, DType::F32);
  float* p = t.mutable_data_as<float>();
  for (size_t i = 0; i < m.v.size(); ++i) p[i] = static_cast<float>(m.v[i]);
  return t;
}

// Element (r, c) of a 2-D tensor (f32, bf16 or f16, any strides), as double.
inline double at(const Tensor& t, int64_t r, int64_t c) {
  const int64_t i = r * t.stride(0) + c * t.stride(1);
  switch (t.dtype()) {
    case DType::F32:
      return t.data_as<float>()[i];
    case DType::BF16:
      return static_cast<float>(t.data_as<bf16>()[i]);
    case DType::F16:
      return static_cast<float>(t.data_as<f16>()[i]);
    default:
      ADD_FAILURE() << "unexpected dtype";
      return 0;
  }
}

// y = x W^T (+ b) in float64.
inline Mat ref_linear(const Mat& x, const Mat& w, const std::vector<double>* bias = nullptr) {
  Mat y{x.rows, w.rows, std::vector<double>(static_cast<size_t>(x.rows * w.rows))};
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t n = 0; n < w.rows; ++n) {
      double s = bias ? (*bias)[static_cast<size_t>(n)] : 0.0;
      for (int64_t k = 0; k < x.cols; ++k) s += x(t, k) * w(n, k);
      y(t, n) = s;
    }
  return y;
}

// actual[r, c] == expected(r, col_offset + c) for every element of actual, within rel_tol.
inline void expect_matches(const Tensor& actual, const Mat& expected, int64_t col_offset,
                           double rel_tol, const std::string& what) {
  ASSERT_EQ(actual.dim(), 2) << what;
  ASSERT_EQ(actual.size(0), expected.rows) << what;
  int failures = 0;
  for (int64_t r = 0; r < actual.size(0); ++r)
    for (int64_t c = 0; c < actual.size(1); ++c) {
      const double e = expected(r, col_offset + c);
      const double a = at(actual, r, c);
      if (std::abs(a - e) > rel_tol * (1.0 + std::abs(e)) && ++failures <= 5)
        ADD_FAILURE() << what << ": element (" << r << ", " << c << ") is " << a << ", expected "
                      << e;
    }
  EXPECT_EQ(failures, 0) << what;
}

// Calls the loader of parameter `name` with `loaded`.
inline void load(ParameterSet& params, const std::string& name, const Tensor& loaded,
                 std::string_view shard_id = "", bool validate_only = false) {
  Parameter* p = params.find(name);
  ASSERT_NE(p, nullptr) << "no parameter " << name;
  p->loader(p->data, loaded, shard_id, validate_only);
}

}  // namespace pagoda::testing
