// Helpers of the Hugging Face parity tests (CPU and GPU): where the transformers fixtures live
// (tools/make_hf_fixtures.py, tests/fixtures/hf), and the comparisons they make.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "pagoda/layers/attention.h"
#include "pagoda/model.h"
#include "pagoda/tensor.h"

namespace pagoda::testing {

inline std::filesystem::path hf_fixture_dir(const std::string& name) {
  return std::filesystem::path(PAGODA_FIXTURES_DIR) / "hf" / name;
}

// Positions 0 .. n-1 of a single sequence, on the host.
inline Tensor positions_for(int64_t n) {
  Tensor p = Tensor::empty({n}, DType::I64);
  for (int64_t i = 0; i < n; ++i) p.mutable_data_as<int64_t>()[i] = i;
  return p;
}

// Host f32 logits at every position of `ids` (a single sequence, on the host), with the model on
// `device`: ids and positions are copied there and the logits back.
inline Tensor run_logits(Model& model, const Tensor& ids, Device device = Device::cpu()) {
  ForwardContext context = ForwardContext::single_sequence(ids.size(0));
  Tensor hidden = model.forward(ids.to(device), positions_for(ids.size(0)).to(device), context);
  return model.compute_logits(hidden).to(Device::cpu());
}

// The index of the largest value of row `row` of host f32 logits (ties: the lowest index).
inline int64_t argmax_row(const Tensor& logits, int64_t row) {
  const float* p = logits.data_as<float>() + row * logits.stride(0);
  int64_t best = 0;
  for (int64_t i = 1; i < logits.size(1); ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

// max |a - b| / max |b| over two host f32 tensors of one shape.
inline double relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double diff = 0, ref = 0;
  const float* pa = a.data_as<float>();
  const float* pb = b.data_as<float>();
  for (int64_t i = 0; i < b.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(pa[i]) - pb[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(pb[i])));
  }
  return diff / ref;
}

}  // namespace pagoda::testing
