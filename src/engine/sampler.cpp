#include "engine/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

#include "engine/device_sampling.h"
#include "ops/argmax.h"
#include "ops/cpu/kernels/softmax.h"
#include "ops/sample_tokens.h"
#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// 53 random bits as a double in [0, 1): the same on every platform, unlike
// std::uniform_real_distribution, whose algorithm the standard leaves to the library.
double unit_double(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

void check_token_ids(std::span<const int32_t> tokens, int64_t vocab, const char* what) {
  for (const int32_t token : tokens)
    PAGODA_CHECK(token >= 0 && token < vocab, InvalidArgument,
                 fmt::format("sampler row: {} holds token id {}, outside the vocabulary [0, {})",
                             what, token, vocab),
                 "pass token ids of this model's vocabulary (the logits' last dimension)");
}

// Index of the largest value as torch.argmax: the first NaN wins, else the first maximum.
// One branch per element; a NaN fails `<=` too and is caught inside the rarely taken branch.
int64_t argmax_row(const float* x, int64_t n, float* max_value) {
  int64_t best_index = 0;
  float best = x[0];
  if (!std::isnan(best)) {
    for (int64_t i = 1; i < n; ++i) {
      if (!(x[i] <= best)) {
        best = x[i];
        best_index = i;
        if (std::isnan(best)) break;
      }
    }
  }
  *max_value = best;
  return best_index;
}

// A strict total order on (value, token): larger value first, then lower id; NaN counts as the
// largest value (as in torch.topk). Total, so sorting by it gives one answer on every library.
struct ValueToken {
  float value;
  int32_t token;
};
bool ranks_before(const ValueToken& a, const ValueToken& b) {
  const bool a_nan = std::isnan(a.value), b_nan = std::isnan(b.value);
  if (a_nan || b_nan) return a_nan != b_nan ? a_nan : a.token < b.token;
  return a.value > b.value || (a.value == b.value && a.token < b.token);
}

// A candidate token for the nucleus search.
struct RankedToken {
  float value;
  int32_t token;
  float weight;
};

// Grows a scratch vector's capacity without ever shrinking it (allocates only on first use).
template <typename T>
void reserve_at_least(std::vector<T>& v, size_t n) {
  if (v.capacity() < n) v.reserve(n);
}

}  // namespace

// Per-thread buffers, sized to the vocabulary on first use and reused.
struct SamplerScratch {
  std::vector<int32_t> counts;      // all zero between rows (penalties)
  std::vector<float> weights;       // unnormalised probabilities, indexed by token
  std::vector<float> raw;           // the raw logits of a row that wants logprobs
  std::vector<int32_t> candidates;  // tokens still in play for top-k / top-p
  std::vector<float> heap;          // the top_k largest values seen so far
  std::vector<ValueToken> top;      // the top-N logprob selection
  std::vector<RankedToken> work;    // the nucleus search
  std::vector<double> hist;         // its mass histogram
  std::vector<uint32_t> hist_count;

  void prepare(int64_t vocab) {
    if (static_cast<int64_t>(counts.size()) != vocab) counts.assign(static_cast<size_t>(vocab), 0);
    if (static_cast<int64_t>(weights.size()) != vocab) weights.resize(static_cast<size_t>(vocab));
  }
};

void check_row_token_ids(const SamplerRow& row, int64_t vocab) {
  const SamplingParams& p = *row.params;
  const bool repetition = p.repetition_penalty != 1.0;
  const bool frequency = p.frequency_penalty != 0.0;
  const bool presence = p.presence_penalty != 0.0;
  const bool block = static_cast<int64_t>(row.output_token_ids.size()) < p.min_tokens;
  for (const auto& [token, bias] : p.logit_bias)
    PAGODA_CHECK(token >= 0 && token < vocab, InvalidArgument,
                 fmt::format("sampler row: logit_bias holds token id {}, outside the vocabulary "
                             "[0, {})",
                             token, vocab),
                 "call SamplingParams::validate(vocab_size) when the request arrives");
  if (block) check_token_ids(row.min_tokens_blocked, vocab, "min_tokens_blocked");
  if (repetition || frequency || presence)
    check_token_ids(row.output_token_ids, vocab, "output_token_ids");
  if (repetition) check_token_ids(row.prompt_token_ids, vocab, "prompt_token_ids");
}

namespace {

// ---- Steps 2 and 3: logit bias, min_tokens, penalties. ----

void process_logits(const SamplerRow& row, std::span<float> x, std::span<int32_t> counts) {
  const SamplingParams& p = *row.params;
  const int64_t vocab = static_cast<int64_t>(x.size());
  const bool repetition = p.repetition_penalty != 1.0;
  const bool frequency = p.frequency_penalty != 0.0;
  const bool presence = p.presence_penalty != 0.0;
  const bool block = static_cast<int64_t>(row.output_token_ids.size()) < p.min_tokens;

  // Check every id before changing anything, so a bad row leaves the counts all zero.
  check_row_token_ids(row, vocab);
  PAGODA_CHECK(counts.size() >= x.size(), InvalidArgument,
               fmt::format("apply_logits_processing: token_counts has {} entries for a vocabulary "
                           "of {}",
                           counts.size(), vocab),
               "pass zeroed scratch with at least one entry per token");

  // vLLM applies min_tokens before the bias; the two commute, since a bias is finite.
  for (const auto& [token, bias] : p.logit_bias) x[token] += static_cast<float>(bias);
  if (block)
    for (const int32_t token : row.min_tokens_blocked) x[token] = -kInf;
  if (!repetition && !frequency && !presence) return;

  // vLLM (model_executor/layers/utils.py apply_penalties), in f32: for every token of the prompt
  // or output, repetition divides a positive logit by the penalty and multiplies a non-positive
  // one; then logit -= frequency * count in output, and -= presence when it occurs in the output.
  // Each distinct token is handled once: counts[t] > 0 counts occurrences, -1 marks "done".
  const float rep = static_cast<float>(p.repetition_penalty);
  const float freq = static_cast<float>(p.frequency_penalty);
  const float pres = static_cast<float>(p.presence_penalty);
  auto repeat = [&](float v) { return v > 0.0f ? v / rep : v * rep; };
  for (const int32_t t : row.output_token_ids) ++counts[t];
  for (const int32_t t : row.output_token_ids) {
    const int32_t c = counts[t];
    if (c <= 0) continue;
    float v = x[t];
    if (repetition) v = repeat(v);
    v -= freq * static_cast<float>(c);
    v -= pres;
    x[t] = v;
    counts[t] = -1;
  }
  if (repetition) {
    for (const int32_t t : row.prompt_token_ids) {
      if (counts[t] != 0) continue;
      x[t] = repeat(x[t]);
      counts[t] = -1;
    }
    for (const int32_t t : row.prompt_token_ids) counts[t] = 0;
  }
  for (const int32_t t : row.output_token_ids) counts[t] = 0;
}

}  // namespace

void apply_logits_processing(const SamplerRow& row, std::span<float> logits,
                             std::span<int32_t> token_counts) {
  PAGODA_CHECK(row.params != nullptr, InvalidArgument, "sampler row has no SamplingParams",
               "set SamplerRow::params");
  process_logits(row, logits, token_counts);
}

void apply_logits_processing(const SamplerRow& row, std::span<float> logits) {
  std::vector<int32_t> counts(logits.size(), 0);
  apply_logits_processing(row, logits, counts);
}

namespace {

// ---- Step 4: choosing the token. ----

// Draws from the tokens cand[0..n) with weights w[token] by inverse CDF: the first token whose
// running sum passes u * total. Sums in double, in one fixed order, so the result depends only on
// u and the weights.
int32_t draw(const int32_t* cand, size_t n, const float* w, double u) {
  double total = 0.0;
  for (size_t j = 0; j < n; ++j) total += w[cand[j]];
  const double target = u * total;
  double cum = 0.0;
  for (size_t j = 0; j < n; ++j) {
    cum += w[cand[j]];
    if (cum > target) return cand[j];
  }
  return cand[n - 1];  // u * total rounded up to total
}

// The nucleus, without sorting it: in the order "larger logit first, then lower id" (a total
// order), the nucleus is the shortest prefix whose weight reaches `limit`. Its last member, the
// edge, is found by a two-level radix select on the logits' bits (mass histograms of 4096
// buckets, the second over the edge bucket only), then a sort of the few tokens left; membership
// is then one comparison, and the draw walks the candidates in id order. Linear time, and no
// data-dependent branch in the passes over the candidates.
struct NucleusEdge {
  float value;
  int32_t token;
  // Branch-free: the draw evaluates it for every candidate.
  bool contains(float v, int32_t t) const { return (v > value) | ((v == value) & (t <= token)); }
};

// Unsigned key in the order of the float (-0 counted as +0, so keys agree with float ==).
uint32_t order_key(float v) {
  v += 0.0f;
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

// Sorts work most likely first and returns its edge given the mass ordered before it.
NucleusEdge edge_by_sorting(std::span<RankedToken> work, double mass, double limit) {
  std::sort(work.begin(), work.end(), [](const RankedToken& a, const RankedToken& b) {
    return a.value > b.value || (a.value == b.value && a.token < b.token);
  });
  for (const RankedToken& r : work) {
    mass += r.weight;
    if (mass >= limit) return {r.value, r.token};
  }
  return {work.back().value, work.back().token};  // rounding left the total short of limit
}

// The bucket (scanning from the largest key down) where the running mass reaches limit; adds the
// mass of the buckets before it to *mass. Falls back to the last non-empty bucket.
size_t edge_bucket(const std::vector<double>& hist, const std::vector<uint32_t>& count,
                   double* mass, double limit) {
  size_t last = 0;
  for (size_t b = hist.size(); b-- > 0;) {
    if (count[b] == 0) continue;
    if (*mass + hist[b] >= limit) return b;
    *mass += hist[b];
    last = b;
  }
  *mass -= hist[last];
  return last;
}

// Draws from the members of the nucleus among cand (in id order), as draw() does.
int32_t draw_nucleus(std::span<const int32_t> cand, const float* x, const float* w,
                     NucleusEdge edge, double u) {
  double total = 0.0;
  for (const int32_t t : cand) total += edge.contains(x[t], t) ? w[t] : 0.0f;
  const double target = u * total;
  double cum = 0.0;
  for (const int32_t t : cand) {
    cum += edge.contains(x[t], t) ? w[t] : 0.0f;
    if (cum > target) return t;
  }
  return edge.token;  // u * total rounded up to total
}

NucleusEdge nucleus_edge(std::span<const int32_t> cand, const float* x, const float* w,
                         double limit, SamplerScratch& s) {
  constexpr size_t kBuckets = 4096;
  std::vector<RankedToken>& work = s.work;
  reserve_at_least(work, cand.size());
  work.clear();
  if (cand.size() <= 1024) {
    for (const int32_t t : cand) work.push_back({x[t], t, w[t]});
    return edge_by_sorting(work, 0.0, limit);
  }
  s.hist.assign(kBuckets, 0.0);
  s.hist_count.assign(kBuckets, 0);
  // Level 1: the top 12 bits of the key.
  for (const int32_t t : cand) {
    const uint32_t b = order_key(x[t]) >> 20;
    s.hist[b] += w[t];
    ++s.hist_count[b];
  }
  double mass = 0.0;
  const size_t b1 = edge_bucket(s.hist, s.hist_count, &mass, limit);
  for (const int32_t t : cand)
    if ((order_key(x[t]) >> 20) == b1) work.push_back({x[t], t, w[t]});
  if (work.size() <= 1024) return edge_by_sorting(work, mass, limit);
  // Level 2: the next 12 bits, over the edge bucket only.
  s.hist.assign(kBuckets, 0.0);
  s.hist_count.assign(kBuckets, 0);
  for (const RankedToken& r : work) {
    const uint32_t b = (order_key(r.value) >> 8) & 0xFFFu;
    s.hist[b] += r.weight;
    ++s.hist_count[b];
  }
  const size_t b2 = edge_bucket(s.hist, s.hist_count, &mass, limit);
  std::erase_if(work,
                [&](const RankedToken& r) { return ((order_key(r.value) >> 8) & 0xFFFu) != b2; });
  return edge_by_sorting(work, mass, limit);
}

int32_t sample_random(const SamplingParams& p, float* x, int64_t vocab, double u,
                      SamplerScratch& s) {
  // Temperature first, in f32 as vLLM (logits.div_(temperature)).
  const float temperature = static_cast<float>(p.temperature);
  if (temperature != 1.0f)
    for (int64_t i = 0; i < vocab; ++i) x[i] /= temperature;
  float m;
  const int64_t best = argmax_row(x, vocab, &m);
  // Nothing to sample from (NaN, +inf, everything masked): take the argmax rather than crash.
  if (!std::isfinite(m)) return static_cast<int32_t>(best);

  // min_p keeps tokens whose probability is at least min_p times the largest: exp(x - m) >= min_p,
  // i.e. x - m >= log(min_p). -inf logits (masked) never count as candidates.
  const float min_p_cut = p.min_p > 0.0 ? static_cast<float>(std::log(p.min_p)) : -kInf;
  auto kept = [&](float v) { return v > -kInf && v - m >= min_p_cut; };
  const bool use_min_p = p.min_p > 0.0;
  const int64_t top_k = p.top_k > 0 && p.top_k < vocab ? p.top_k : 0;
  const bool use_top_p = p.top_p < 1.0;
  float* w = s.weights.data();
  std::vector<int32_t>& cand = s.candidates;

  if (top_k > 0) {
    cand.clear();
    // One pass with a min-heap of the k largest values so far: every token at least as large as
    // the running k-th value becomes a candidate (the running value only grows, so this is a
    // superset of the final top k, ties at the k-th value included, as vLLM keeps them).
    reserve_at_least(cand, static_cast<size_t>(vocab));
    reserve_at_least(s.heap, static_cast<size_t>(top_k));
    std::vector<float>& heap = s.heap;
    heap.clear();
    const auto greater = std::greater<float>();
    for (int64_t i = 0; i < vocab; ++i) {
      const float v = x[i];
      if (static_cast<int64_t>(heap.size()) == top_k) {
        if (!(v >= heap.front()) || !kept(v)) continue;
        cand.push_back(static_cast<int32_t>(i));
        if (v > heap.front()) {
          std::pop_heap(heap.begin(), heap.end(), greater);
          heap.back() = v;
          std::push_heap(heap.begin(), heap.end(), greater);
        }
      } else if (kept(v)) {
        cand.push_back(static_cast<int32_t>(i));
        heap.push_back(v);
        std::push_heap(heap.begin(), heap.end(), greater);
      }
    }
    const float kth = static_cast<int64_t>(heap.size()) == top_k ? heap.front() : -kInf;
    std::erase_if(cand, [&](int32_t t) { return x[t] < kth; });
    for (const int32_t t : cand) w[t] = std::exp(x[t] - m);
    if (!use_top_p) return draw(cand.data(), cand.size(), w, u);
    double total = 0.0;
    for (const int32_t t : cand) total += w[t];
    const NucleusEdge edge = nucleus_edge(cand, x, w, p.top_p * total, s);
    return draw_nucleus(cand, x, w, edge, u);
  }

  // Full-vocabulary probabilities through the vectorised softmax (normalised: weights sum to 1).
  PAGODA_CPU_DISPATCH(softmax)(x, w, vocab);
  if (!use_top_p) {
    if (use_min_p)
      for (int64_t i = 0; i < vocab; ++i)
        if (!kept(x[i])) w[i] = 0.0f;
    // Inverse CDF over the vocabulary in id order (two passes, no candidate list).
    double total = 0.0;
    for (int64_t i = 0; i < vocab; ++i) total += w[i];
    const double target = u * total;
    double cum = 0.0;
    int64_t last = best;
    for (int64_t i = 0; i < vocab; ++i) {
      if (w[i] <= 0.0f) continue;
      cum += w[i];
      last = i;
      if (cum > target) return static_cast<int32_t>(i);
    }
    return static_cast<int32_t>(last);
  }

  // Top-p alone: the nucleus lies among the tokens with probability >= t as soon as those carry
  // top_p of the mass, so gather them for a falling t (usually once) and search only those.
  if (use_min_p)
    for (int64_t i = 0; i < vocab; ++i)
      if (!kept(x[i])) w[i] = 0.0f;
  double total = 0.0;
  for (int64_t i = 0; i < vocab; ++i) total += w[i];
  const double limit = p.top_p * total;
  if (static_cast<int64_t>(cand.size()) < vocab) cand.resize(static_cast<size_t>(vocab));
  int32_t* c = cand.data();
  for (const float t : {1e-4f, 1e-8f, 0.0f}) {
    // Branch-free gather: always write, advance only for a taken token.
    size_t n = 0;
    double gathered = 0.0;
    for (int64_t i = 0; i < vocab; ++i) {
      const float pi = w[i];
      const bool take = (pi >= t) & (pi > 0.0f);
      c[n] = static_cast<int32_t>(i);
      n += take;
      gathered += take ? pi : 0.0f;
    }
    if (gathered >= limit || t == 0.0f) {
      const std::span<const int32_t> nucleus_cand(c, n);
      const NucleusEdge edge = nucleus_edge(nucleus_cand, x, w, limit, s);
      return draw_nucleus(nucleus_cand, x, w, edge, u);
    }
  }
  return static_cast<int32_t>(best);  // not reached: t = 0 gathers everything
}

// ---- Step 1: logprobs of the raw logits. ----

// Fills out.logprob/rank for `token` and out.top with the top_n most likely tokens of the raw
// row x. Uses s.weights and s.top as scratch.
void raw_logprobs(const float* x, int64_t vocab, int32_t token, int64_t top_n, SamplerScratch& s,
                  SampledToken& out) {
  // log-sum-exp via the vectorised softmax: the maximum's probability is exp(0) / sum = 1 / sum
  // (exp(0) is exactly 1 in every ISA's kernel), so log(sum) = -log(p[argmax]).
  float m;
  const int64_t best = argmax_row(x, vocab, &m);
  PAGODA_CPU_DISPATCH(softmax)(x, s.weights.data(), vocab);
  const double lse = static_cast<double>(m) - std::log(static_cast<double>(s.weights[best]));
  auto logprob = [lse](float v) { return static_cast<float>(static_cast<double>(v) - lse); };

  // Rank as vLLM counts it: tokens whose logprob is >= the chosen token's.
  const float chosen = logprob(x[token]);
  int64_t rank = 0;
  for (int64_t i = 0; i < vocab; ++i) rank += logprob(x[i]) >= chosen ? 1 : 0;
  out.logprob = chosen;
  out.rank = rank;

  out.top.clear();
  const int64_t n = top_n < 0 ? vocab : std::min(top_n, vocab);
  if (n == 0) return;
  // Partial selection: a heap whose front is the worst of the n best so far.
  std::vector<ValueToken>& heap = s.top;
  reserve_at_least(heap, static_cast<size_t>(n));
  heap.clear();
  for (int64_t i = 0; i < vocab; ++i) {
    const ValueToken vt{x[i], static_cast<int32_t>(i)};
    if (static_cast<int64_t>(heap.size()) < n) {
      heap.push_back(vt);
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    } else if (ranks_before(vt, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = vt;
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), ranks_before);
  out.top.reserve(static_cast<size_t>(n));
  for (size_t j = 0; j < heap.size(); ++j)
    out.top.push_back({heap[j].token, logprob(heap[j].value), static_cast<int64_t>(j) + 1});
}

void check_logits(const Tensor& logits, size_t rows, size_t outs, const char* who,
                  bool any_device = false) {
  PAGODA_CHECK(logits.defined() && logits.dtype() == DType::F32 && logits.dim() == 2 &&
                   logits.is_contiguous() && (any_device || logits.device().is_cpu()),
               InvalidArgument,
               fmt::format("{}: logits must be a contiguous 2-D f32 {}tensor [rows, vocab], got {}",
                           who, any_device ? "" : "CPU ",
                           logits.defined() ? logits.to_string() : "an undefined tensor"),
               "pass the model's logits as [num_rows, vocab_size] f32 (call .contiguous() on a "
               "view)");
  PAGODA_CHECK(logits.size(0) == static_cast<int64_t>(rows) && outs == rows, InvalidArgument,
               fmt::format("{}: logits have {} rows but {} rows of parameters and {} outputs were "
                           "given",
                           who, logits.size(0), rows, outs),
               "pass one parameter row and one output slot per logits row");
  PAGODA_CHECK(logits.size(1) >= 1 && logits.size(1) <= std::numeric_limits<int32_t>::max(),
               InvalidArgument,
               fmt::format("{}: vocabulary size {} is outside [1, 2^31)", who, logits.size(1)),
               "pass logits whose last dimension is the vocabulary");
}

// Splits `rows` into at most one chunk per pool thread; returns the chunk count.
int64_t chunk_count(int64_t rows) {
  return std::max<int64_t>(1, std::min<int64_t>(rows, ThreadPool::global().num_threads()));
}

}  // namespace

Sampler::Sampler(uint64_t seed) : generator_(seed) {}
Sampler::~Sampler() = default;

void Sampler::draw(std::span<const SamplerRow> rows) {
  // Draw the random numbers in row order before going parallel: the shared generator's sequence
  // then maps to rows the same way whatever the thread count or the device.
  for (size_t r = 0; r < rows.size(); ++r)
    PAGODA_CHECK(rows[r].params != nullptr, InvalidArgument,
                 fmt::format("Sampler::sample: row {} has no SamplingParams", r),
                 "set SamplerRow::params for every row");
  draws_.resize(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const SamplerRow& row = rows[r];
    if (row.params->greedy()) continue;
    draws_[r] = row.generator != nullptr ? (*row.generator)() : generator_();
  }
}

void Sampler::sample_on_device(Tensor& logits, std::span<const SamplerRow> rows,
                               std::span<SampledToken> out) {
  if (rows.empty()) return;
  draw(rows);
  uniforms_.resize(rows.size());
  for (size_t r = 0; r < rows.size(); ++r)
    uniforms_[r] = rows[r].params->greedy() ? 0.0 : unit_double(draws_[r]);
  if (!device_records_) device_records_ = std::make_unique<DeviceSamplingRecords>();
  device_records_->build(rows, uniforms_, logits.size(1));
  Tensor ids = Tensor::empty({logits.size(0)}, DType::I64, logits.device());
  // Greedy rows with nothing to edit need only the argmax: one kernel, nothing uploaded.
  const bool argmax_only =
      device_records_->edits.empty() &&
      std::all_of(rows.begin(), rows.end(), [](const SamplerRow& r) { return r.params->greedy(); });
  if (argmax_only)
    ops::argmax(logits, ids);
  else
    ops::sample_tokens(logits, device_records_->rows, device_records_->edits, ids);
  const Tensor host_ids = ids.to(Device::cpu());
  const int64_t* id = host_ids.data_as<int64_t>();
  for (size_t r = 0; r < rows.size(); ++r)
    out[r] =
        SampledToken{static_cast<int32_t>(id[r]), std::numeric_limits<float>::quiet_NaN(), 0, {}};
}

void Sampler::sample(Tensor& logits, std::span<const SamplerRow> rows,
                     std::span<SampledToken> out) {
  check_logits(logits, rows.size(), out.size(), "Sampler::sample", /*any_device=*/true);
  if (!logits.device().is_cpu()) {
    const bool logprobs = std::any_of(rows.begin(), rows.end(), [](const SamplerRow& r) {
      return r.params != nullptr && r.params->logprobs.has_value();
    });
    if (!logprobs) return sample_on_device(logits, rows, out);
    Tensor host = logits.to(Device::cpu());
    return sample(host, rows, out);
  }
  const int64_t num_rows = static_cast<int64_t>(rows.size());
  const int64_t vocab = logits.size(1);
  if (num_rows == 0) return;
  draw(rows);

  const int64_t chunks = chunk_count(num_rows);
  const int64_t per_chunk = (num_rows + chunks - 1) / chunks;
  while (static_cast<int64_t>(scratch_.size()) < chunks)
    scratch_.push_back(std::make_unique<SamplerScratch>());
  float* data = logits.mutable_data_as<float>();
  parallel_for(0, chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
    for (int64_t c = chunk_begin; c < chunk_end; ++c) {
      SamplerScratch& s = *scratch_[static_cast<size_t>(c)];
      s.prepare(vocab);
      const int64_t end = std::min(num_rows, (c + 1) * per_chunk);
      for (int64_t r = c * per_chunk; r < end; ++r) {
        const SamplerRow& row = rows[r];
        const SamplingParams& p = *row.params;
        float* x = data + r * vocab;
        const std::span<float> row_logits(x, static_cast<size_t>(vocab));
        if (p.logprobs) {
          s.raw.resize(static_cast<size_t>(vocab));
          std::memcpy(s.raw.data(), x, static_cast<size_t>(vocab) * sizeof(float));
        }
        process_logits(row, row_logits, s.counts);
        SampledToken& o = out[r];
        float unused;
        o.token = static_cast<int32_t>(p.greedy()
                                           ? argmax_row(x, vocab, &unused)
                                           : sample_random(p, x, vocab, unit_double(draws_[r]), s));
        if (p.logprobs) {
          raw_logprobs(s.raw.data(), vocab, o.token, *p.logprobs, s, o);
        } else {
          o.logprob = std::numeric_limits<float>::quiet_NaN();
          o.rank = 0;
          o.top.clear();
        }
      }
    }
  });
}

void compute_token_logprobs(const Tensor& logits, std::span<const int32_t> next_tokens,
                            int64_t top_n, std::span<SampledToken> out) {
  check_logits(logits, next_tokens.size(), out.size(), "compute_token_logprobs");
  const int64_t num_rows = static_cast<int64_t>(next_tokens.size());
  const int64_t vocab = logits.size(1);
  check_token_ids(next_tokens, vocab, "next_tokens");
  if (num_rows == 0) return;
  const float* data = logits.data_as<float>();
  const int64_t chunks = chunk_count(num_rows);
  const int64_t per_chunk = (num_rows + chunks - 1) / chunks;
  parallel_for(0, chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
    SamplerScratch s;
    s.weights.resize(static_cast<size_t>(vocab));
    for (int64_t c = chunk_begin; c < chunk_end; ++c) {
      const int64_t end = std::min(num_rows, (c + 1) * per_chunk);
      for (int64_t r = c * per_chunk; r < end; ++r) {
        out[r].token = next_tokens[r];
        raw_logprobs(data + r * vocab, vocab, next_tokens[r], top_n, s, out[r]);
      }
    }
  });
}

}  // namespace pagoda
