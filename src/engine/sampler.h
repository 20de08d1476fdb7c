// The sampler: one row of logits per sequence in, one token per row out, with vLLM v1's
// SamplingParams semantics (vllm/v1/sample/sampler.py) in vLLM's order:
//
//   1. logprobs, when requested, from the raw logits (log_softmax before anything else);
//   2. logit_bias, and -inf on min_tokens_blocked while the output is shorter than min_tokens;
//   3. repetition (prompt + output), frequency and presence (output) penalties;
//   4. greedy rows (temperature < 1e-5): argmax, ties to the lowest id;
//      other rows: divide by temperature, min_p, top_k, then top_p, and draw one token from the
//      renormalised distribution with the row's generator.
//
// A draw consumes exactly one 64-bit value from the row's generator (none for greedy rows) and
// turns it into a double itself, so a seed reproduces the same tokens with any standard library.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "pagoda/sampling_params.h"
#include "pagoda/tensor.h"

namespace pagoda {

struct TokenLogprob {
  int32_t token;
  float logprob;
  int64_t rank;  // 1 = most likely
};

struct SampledToken {
  int32_t token;
  // Logprob (raw log_softmax) and rank of `token`: the number of tokens whose logprob is at least
  // its own, as vLLM counts. Only computed when params.logprobs is set; otherwise NaN and 0.
  float logprob;
  int64_t rank;
  // The params.logprobs most likely tokens, most likely first (ties: lower id first), ranks 1..N.
  // Empty when logprobs is unset or 0; the whole vocabulary for -1.
  std::vector<TokenLogprob> top;
};

struct SamplerRow {
  const SamplingParams* params = nullptr;
  std::span<const int32_t> prompt_token_ids;  // for the repetition penalty
  std::span<const int32_t> output_token_ids;  // generated so far by this sequence
  std::mt19937_64* generator = nullptr;  // a seeded request's own generator; nullptr: the sampler's
  std::span<const int32_t> min_tokens_blocked;  // EOS + stop ids, masked while output < min_tokens
};

// Steps 2 and 3 on one row of logits, in place: exactly what sample() does before choosing.
// `token_counts` is scratch of at least logits.size() zeros, left all zero again on return (the
// sampler keeps one per thread so that processing allocates nothing). Throws
// pagoda::Error(InvalidArgument) for a token id outside [0, logits.size()).
void apply_logits_processing(const SamplerRow& row, std::span<float> logits,
                             std::span<int32_t> token_counts);
// The same, with its own scratch (for tests and one-off use).
void apply_logits_processing(const SamplerRow& row, std::span<float> logits);

// Throws pagoda::Error(InvalidArgument) when a token id the row's processing would touch (logit
// bias, the min_tokens mask while it applies, the penalised prompt and output) is outside
// [0, vocab).
void check_row_token_ids(const SamplerRow& row, int64_t vocab);

// Per-thread scratch buffers of a Sampler (defined in sampler.cpp).
struct SamplerScratch;
// The device path's records (engine/device_sampling.h).
struct DeviceSamplingRecords;

class Sampler {
 public:
  // `seed` seeds the generator of rows without their own (unseeded requests).
  explicit Sampler(uint64_t seed = std::random_device{}());
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // logits: [rows.size(), vocab] f32 contiguous, modified in place (scratch).
  // out: rows.size() entries, overwritten.
  // Logits on a CUDA device are sampled there (ops::sample_tokens, the same steps and the same
  // draws) and only the ids come back, unless a row wants logprobs: then they are copied to the
  // host first. Rows run in parallel on the global thread pool; the
  // sampler's own generator is drawn from in row order first, so results do not depend on the
  // thread count. Not reentrant: one call at a time per Sampler.
  // A row whose processed logits hold NaN or +inf, or are all -inf, cannot be sampled from; it
  // takes the argmax (the first NaN, else the first largest value) instead of crashing.
  void sample(Tensor& logits, std::span<const SamplerRow> rows, std::span<SampledToken> out);

 private:
  // Fills draws_ for the non-greedy rows, in row order.
  void draw(std::span<const SamplerRow> rows);
  void sample_on_device(Tensor& logits, std::span<const SamplerRow> rows,
                        std::span<SampledToken> out);

  std::mt19937_64 generator_;
  std::vector<uint64_t> draws_;   // one per row, drawn before the parallel part
  std::vector<double> uniforms_;  // the draws as doubles in [0, 1), for the device path
  std::unique_ptr<DeviceSamplingRecords> device_records_;
  std::vector<std::unique_ptr<SamplerScratch>>
      scratch_;  // one per parallel chunk, reused across calls
};

// Prompt logprobs: for each row i of logits (the logits at prompt position i), the logprob and
// rank of next_tokens[i] and the top_n most likely tokens (-1: all, 0: none), from the raw logits
// with no processing. logits: [next_tokens.size(), vocab] f32 contiguous; out: as many entries.
void compute_token_logprobs(const Tensor& logits, std::span<const int32_t> next_tokens,
                            int64_t top_n, std::span<SampledToken> out);

}  // namespace pagoda
