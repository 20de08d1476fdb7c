#include "engine/device_sampling.h"

#include <cmath>
#include <limits>

namespace pagoda {

void DeviceSamplingRecords::build(std::span<const SamplerRow> sampler_rows,
                                  std::span<const double> uniforms, int64_t vocab) {
  rows.clear();
  edits.clear();
  if (static_cast<int64_t>(slot_.size()) != vocab) slot_.assign(static_cast<size_t>(vocab), -1);
  for (size_t r = 0; r < sampler_rows.size(); ++r) {
    const SamplerRow& row = sampler_rows[r];
    const SamplingParams& p = *row.params;
    check_row_token_ids(row, vocab);

    ops::SampleRowParams params;
    params.greedy = p.greedy() ? 1 : 0;
    params.uniform = p.greedy() ? 0.0 : uniforms[r];
    params.temperature = static_cast<float>(p.temperature);
    params.min_p_log = p.min_p > 0.0 ? static_cast<float>(std::log(p.min_p))
                                     : -std::numeric_limits<float>::infinity();
    params.top_p = p.top_p;
    params.top_k = p.top_k > 0 && p.top_k < vocab ? static_cast<int32_t>(p.top_k) : 0;
    params.repetition = static_cast<float>(p.repetition_penalty);
    rows.push_back(params);

    const size_t first_edit = edits.size();
    counts_.clear();
    const auto edit_of = [&](int32_t token) -> ops::LogitEdit& {
      int32_t& slot = slot_[static_cast<size_t>(token)];
      if (slot < 0) {
        slot = static_cast<int32_t>(edits.size() - first_edit);
        ops::LogitEdit e;
        e.row = static_cast<int32_t>(r);
        e.token = token;
        edits.push_back(e);
        counts_.push_back(0);
      }
      return edits[first_edit + static_cast<size_t>(slot)];
    };
    for (const auto& [token, bias] : p.logit_bias)
      edit_of(static_cast<int32_t>(token)).bias = static_cast<float>(bias);
    if (static_cast<int64_t>(row.output_token_ids.size()) < p.min_tokens)
      for (const int32_t token : row.min_tokens_blocked) edit_of(token).blocked = 1;

    const bool repetition = p.repetition_penalty != 1.0;
    if (repetition || p.frequency_penalty != 0.0 || p.presence_penalty != 0.0) {
      for (const int32_t token : row.output_token_ids) {
        edit_of(token);
        ++counts_[static_cast<size_t>(slot_[static_cast<size_t>(token)])];
      }
      if (repetition)
        for (const int32_t token : row.prompt_token_ids) edit_of(token).repeat = 1;
      // The CPU sampler's f32 values: frequency * count, and presence for output tokens.
      const float freq = static_cast<float>(p.frequency_penalty);
      const float pres = static_cast<float>(p.presence_penalty);
      for (size_t i = 0; i < counts_.size(); ++i) {
        ops::LogitEdit& e = edits[first_edit + i];
        if (counts_[i] == 0) continue;
        e.frequency = freq * static_cast<float>(counts_[i]);
        e.presence = pres;
        e.repeat = repetition ? 1 : 0;
      }
    }
    for (size_t i = first_edit; i < edits.size(); ++i)
      slot_[static_cast<size_t>(edits[i].token)] = -1;
  }
}

}  // namespace pagoda
