#include "pagoda/layers/norm.h"

#include <fmt/format.h>

#include <vector>

#include "ops/cast.h"
#include "ops/layer_norm.h"
#include "ops/rms_norm.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

std::string param_name(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

// [n] of `value` in `dtype`: the identity initial values (weight 1, bias 0), so a norm whose
// parameters were never loaded still computes something sensible.
Tensor filled(int64_t n, DType dtype, Device device, float value) {
  std::vector<float> values(static_cast<size_t>(n), value);
  const Tensor src = Tensor::from_blob(values.data(), {n}, DType::F32);
  Tensor t = Tensor::empty({n}, dtype, device);
  copy_with_cast(t, src);
  return t;
}

void check_hidden_size(std::string_view layer, const ModelInitContext& ctx, int64_t hidden_size) {
  PAGODA_CHECK(
      hidden_size > 0, InvalidArgument,
      fmt::format("{} '{}': hidden_size is {}; expected > 0", layer, ctx.prefix, hidden_size),
      "pass the model's hidden_size (or head_dim for per-head norms)");
}

// The activations in the layer's dtype: x itself, or a cast copy.
Tensor in_dtype(const Tensor& x, DType dtype) {
  if (!x.defined() || x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  ops::cast(x, out);
  return out;
}

}  // namespace

RMSNorm::RMSNorm(const ModelInitContext& ctx, int64_t hidden_size, double eps, bool gemma_style)
    : hidden_size_(hidden_size), eps_(eps), gemma_style_(gemma_style) {
  check_hidden_size("RMSNorm", ctx, hidden_size);
  // Gemma stores w - 1 and scales by (1 + w): zero is its identity.
  weight_ = filled(hidden_size, ctx.dtype, ctx.device, gemma_style ? 0.0f : 1.0f);
  if (ctx.parameters) ctx.parameters->add(param_name(ctx.prefix, "weight"), weight_);
}

Tensor RMSNorm::forward(const Tensor& x) const {
  const Tensor xs = in_dtype(x, weight_.dtype());
  Tensor out = Tensor::empty(xs.shape(), weight_.dtype(), xs.device());
  ops::rms_norm(xs, weight_, eps_, out,
                gemma_style_ ? ops::RmsNormWeight::OnePlus : ops::RmsNormWeight::Plain);
  return out;
}

void RMSNorm::forward(Tensor& x, Tensor& residual) const {
  ops::fused_add_rms_norm(x, residual, weight_, eps_,
                          gemma_style_ ? ops::RmsNormWeight::OnePlus : ops::RmsNormWeight::Plain);
}

LayerNorm::LayerNorm(const ModelInitContext& ctx, int64_t hidden_size, double eps, bool bias)
    : hidden_size_(hidden_size), eps_(eps) {
  check_hidden_size("LayerNorm", ctx, hidden_size);
  weight_ = filled(hidden_size, ctx.dtype, ctx.device, 1.0f);
  if (bias) bias_ = filled(hidden_size, ctx.dtype, ctx.device, 0.0f);
  if (ctx.parameters) {
    ctx.parameters->add(param_name(ctx.prefix, "weight"), weight_);
    if (bias) ctx.parameters->add(param_name(ctx.prefix, "bias"), bias_);
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  const Tensor xs = in_dtype(x, weight_.dtype());
  Tensor out = Tensor::empty(xs.shape(), weight_.dtype(), xs.device());
  ops::layer_norm(xs, weight_, bias_, eps_, out);
  return out;
}

}  // namespace pagoda
