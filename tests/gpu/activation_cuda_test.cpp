// CUDA activations, elementwise and gated, against the CPU op and a float64 reference on random
// inputs with NaN-poisoned outputs; f32, bf16, f16; every activation; strided rows; in place.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gpu_test_util.h"
#include "ops/activation.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

double reference(ops::Activation act, double x) {
  switch (act) {
    case ops::Activation::Silu:
      return x / (1 + std::exp(-x));
    case ops::Activation::Gelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case ops::Activation::GeluTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case ops::Activation::Relu:
      return x > 0 ? x : 0;
    case ops::Activation::QuickGelu:
      return x / (1 + std::exp(-1.702 * x));
  }
  return x;
}

const ops::Activation kAll[] = {ops::Activation::Silu, ops::Activation::Gelu,
                                ops::Activation::GeluTanh, ops::Activation::Relu,
                                ops::Activation::QuickGelu};

TEST(CudaActivation, ElementwiseMatchesCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(5);
  for (ops::Activation act : kAll)
    for (DType d : {DType::F32, DType::BF16, DType::F16})
      for (auto [rows, n] : {std::pair<int64_t, int64_t>{1, 7}, {13, 4096}, {5, 14336 + 3}}) {
        SCOPED_TRACE(std::string(ops::activation_name(act)) + " " + std::string(dtype_name(d)) +
                     " " + std::to_string(rows) + "x" + std::to_string(n));
        Tensor x = random_cpu({rows, n}, d, rng, -6, 6);
        Tensor cpu_out = Tensor::empty(x.shape(), d);
        ops::activation(act, x, cpu_out);
        Tensor gout = poisoned_gpu(x.shape(), d);
        ops::activation(act, to_gpu(x), gout);
        const Tensor got = to_cpu(gout);
        expect_close(got, cpu_out, tolerance(d), "against the CPU op");
        Tensor ref = Tensor::empty(x.shape(), DType::F32);
        for (int64_t i = 0; i < x.numel(); ++i)
          ref.mutable_data_as<float>()[i] = static_cast<float>(reference(act, value_at(x, i)));
        expect_close(got, ref, tolerance(d), "against float64");
      }
}

TEST(CudaActivation, GatedMatchesCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(6);
  for (ops::Activation act : kAll)
    for (DType d : {DType::F32, DType::BF16, DType::F16})
      for (auto [rows, half] : {std::pair<int64_t, int64_t>{1, 5}, {9, 14336}, {31, 1000}}) {
        SCOPED_TRACE(std::string(ops::activation_name(act)) + "_and_mul " +
                     std::string(dtype_name(d)) + " " + std::to_string(rows) + "x" +
                     std::to_string(half));
        Tensor x = random_cpu({rows, 2 * half}, d, rng, -4, 4);
        Tensor cpu_out = Tensor::empty({rows, half}, d);
        ops::act_and_mul(act, x, cpu_out);
        Tensor gout = poisoned_gpu({rows, half}, d);
        ops::act_and_mul(act, to_gpu(x), gout);
        const Tensor got = to_cpu(gout);
        expect_close(got, cpu_out, tolerance(d), "against the CPU op");
        Tensor ref = Tensor::empty({rows, half}, DType::F32);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < half; ++i)
            ref.mutable_data_as<float>()[r * half + i] = static_cast<float>(
                reference(act, value_at(x, r * 2 * half + i)) * value_at(x, r * 2 * half + half + i));
        expect_close(got, ref, d == DType::F32 ? 1e-5 : 2e-2, "against float64");
      }
}

TEST(CudaActivation, StridedRowsAndInPlace) {
  REQUIRE_GPU();
  std::mt19937 rng(7);
  // Rows of a wider buffer: a [4, 300] view with row stride 500.
  Tensor wide = random_cpu({4, 500}, DType::BF16, rng);
  Tensor gwide = to_gpu(wide);
  Tensor view = gwide.slice(1, 100, 400);
  Tensor expected = Tensor::empty({4, 300}, DType::BF16);
  ops::activation(ops::Activation::Silu, wide.slice(1, 100, 400), expected);
  ops::activation(ops::Activation::Silu, view, view);  // in place
  const Tensor back = to_cpu(gwide);
  expect_close(back.slice(1, 100, 400).contiguous(), expected, 1e-2, "strided in place");
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c : {0, 99, 400, 499}) ASSERT_EQ(value_at(back, r * 500 + c), value_at(wide, r * 500 + c));
}

}  // namespace
