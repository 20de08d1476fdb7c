// The sampler's rows as the device sampler's records (ops/sample_tokens.h): each row's logit
// bias, min_tokens mask and penalties become one edit per distinct token, with the counts the
// CPU sampler would take, so that the device applies the same f32 operations in the same order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/sampler.h"
#include "ops/sample_tokens.h"

namespace pagoda {

struct DeviceSamplingRecords {
  std::vector<ops::SampleRowParams> rows;
  std::vector<ops::LogitEdit> edits;

  // Fills rows and edits for `rows` (uniforms[r]: row r's draw; ignored for greedy rows).
  // Throws pagoda::Error(InvalidArgument) for a token id outside [0, vocab), as the CPU sampler.
  void build(std::span<const SamplerRow> sampler_rows, std::span<const double> uniforms,
             int64_t vocab);

 private:
  std::vector<int32_t> slot_;    // per token: its edit in the current row, or -1
  std::vector<int32_t> counts_;  // per edit of the current row: occurrences in the output
};

}  // namespace pagoda
