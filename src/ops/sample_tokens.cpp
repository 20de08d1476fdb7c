#include "ops/sample_tokens.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

void check_row(std::string_view op, size_t r, const SampleRowParams& p, int64_t vocab) {
  if (p.greedy) return;
  const bool ok = p.uniform >= 0.0 && p.uniform < 1.0 && p.temperature > 0.0f &&
                  std::isfinite(p.temperature) && p.top_p > 0.0 && p.top_p <= 1.0 && p.top_k >= 0 &&
                  p.top_k < vocab && !std::isnan(p.min_p_log) && p.min_p_log <= 0.0f;
  PAGODA_CHECK(ok, InvalidArgument,
               fmt::format("{}: row {} has uniform {}, temperature {}, top_p {}, top_k {}, "
                           "min_p_log {}; one is out of range",
                           op, r, p.uniform, p.temperature, p.top_p, p.top_k, p.min_p_log),
               "build rows from validated SamplingParams: uniform in [0, 1), temperature > 0, "
               "top_p in (0, 1], top_k in [0, vocab), min_p_log <= 0");
}

}  // namespace

void sample_tokens(Tensor& logits, std::span<const SampleRowParams> rows,
                   std::span<const LogitEdit> edits, Tensor& out) {
  constexpr std::string_view op = "sample_tokens";
  detail::check_defined(op, "logits", logits);
  detail::check_defined(op, "out", out);
  detail::check_dtype(op, "logits", logits, {DType::F32});
  detail::check_rank(op, "logits", logits, 2);
  detail::check_rows(op, "logits", logits);
  detail::check_writable(op, "logits", logits);
  const int64_t num_rows = logits.size(0), vocab = logits.size(1);
  PAGODA_CHECK(vocab >= 1 && vocab < (int64_t{1} << 31), InvalidArgument,
               fmt::format("{}: vocabulary of {} tokens is outside [1, 2^31)", op, vocab),
               "pass logits whose last dimension is the vocabulary");
  PAGODA_CHECK(static_cast<int64_t>(rows.size()) == num_rows, InvalidArgument,
               fmt::format("{}: {} logits rows but {} parameter rows", op, num_rows, rows.size()),
               "pass one SampleRowParams per logits row");
  detail::check_shape(op, "out", out, {num_rows}, "one id per logits row");
  detail::check_dtype(op, "out", out, {DType::I64});
  detail::check_writable(op, "out", out);
  for (size_t r = 0; r < rows.size(); ++r) check_row(op, r, rows[r], vocab);
  for (const LogitEdit& e : edits)
    PAGODA_CHECK(e.row >= 0 && e.row < num_rows && e.token >= 0 && e.token < vocab, InvalidArgument,
                 fmt::format("{}: an edit names row {}, token {}, outside [{}, {}) logits", op,
                             e.row, e.token, num_rows, vocab),
                 "build edits from the rows and token ids of this batch");
  const Device device = detail::common_device(op, {{"logits", logits}, {"out", out}});
  if (num_rows == 0) return;
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::sample_tokens(logits, rows, edits, out);
#endif
  throw_error(ErrorCode::Unsupported,
              fmt::format("{}: logits on {}; this op runs on CUDA devices", op, device.to_string()),
              "sample CPU logits with pagoda::Sampler (engine/sampler.h)");
}

}  // namespace pagoda::ops
