// Token sampling on the device that holds the logits: the sampler's steps 2 to 4
// (engine/sampler.h) for rows that do not ask for logprobs, so that only the chosen ids leave the
// GPU. The host turns each row's SamplingParams into the plain records below (the penalties'
// token counts, the min_tokens mask and the logit bias become one edit per distinct token) and
// draws each row's random number, so a seed consumes its generator exactly as on the CPU.
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "pagoda/tensor.h"

namespace pagoda::ops {

// One row's choice, as the device reads it.
struct SampleRowParams {
  double uniform = 0.0;      // the row's draw in [0, 1) (unused when greedy)
  double top_p = 1.0;        // 1: off
  float temperature = 1.0f;  // logits are divided by it (unused when greedy)
  float min_p_log = -std::numeric_limits<float>::infinity();  // log(min_p); -inf: off
  float repetition = 1.0f;  // the repetition penalty of this row's edits
  int32_t top_k = 0;        // 0: off; otherwise in [1, vocab)
  int32_t greedy = 0;       // 1: argmax of the processed logits
};

// One token of one row changed before the choice, in the CPU sampler's order:
// v = logit + bias; v = -inf when blocked; v = v > 0 ? v / repetition : v * repetition when
// repeat; v -= frequency; v -= presence. Each (row, token) appears at most once.
struct LogitEdit {
  int32_t row = 0;
  int32_t token = 0;
  float bias = 0.0f;
  float frequency = 0.0f;  // frequency_penalty * count in the output
  float presence = 0.0f;   // presence_penalty when the token is in the output
  uint8_t blocked = 0;     // min_tokens not reached and the token is EOS or a stop id
  uint8_t repeat = 0;      // the token is in the prompt or the output (repetition penalty)
};

// Chooses one token per row of `logits` ([rows, vocab] f32 on a CUDA device, each row contiguous;
// modified in place: it is scratch, as the CPU sampler's input is). Non-greedy rows: divide by
// the temperature, keep tokens within min_p of the most likely, the top_k most likely (ties at
// the k-th kept), then the nucleus (the shortest run, most likely first and lower id first among
// equals, whose probability reaches top_p), and draw by inverse CDF over the kept tokens in id
// order. A row whose processed logits hold NaN or +inf, or are all -inf, takes the argmax.
//   out: i64 [rows] on the same device.
// Throws Error(InvalidArgument) for mismatched shapes, an edit outside the logits, or parameters
// out of range; Error(Unsupported) for logits on the CPU (the CPU sampler, engine/sampler.h,
// runs there).
void sample_tokens(Tensor& logits, std::span<const SampleRowParams> rows,
                   std::span<const LogitEdit> edits, Tensor& out);

}  // namespace pagoda::ops
