#include "ops/activation.h"

#include <fmt/format.h>

#include "ops/checks.h"
#include "ops/cpu/activation.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

struct ActName {
  std::string_view name;
  Activation act;
};
// Hugging Face spellings (transformers' ACT2FN keys) Pagoda implements.
constexpr ActName kActNames[] = {
    {"silu", Activation::Silu},
    {"swish", Activation::Silu},
    {"gelu", Activation::Gelu},
    {"gelu_new", Activation::GeluTanh},
    {"gelu_pytorch_tanh", Activation::GeluTanh},
    {"gelu_fast", Activation::GeluTanh},
    {"relu", Activation::Relu},
    {"quick_gelu", Activation::QuickGelu},
};

// The gated op's name for error messages (no formatting: this runs every layer, every step).
std::string_view gated_name(Activation act) {
  switch (act) {
    case Activation::Silu:
      return "silu_and_mul";
    case Activation::Gelu:
      return "gelu_and_mul";
    case Activation::GeluTanh:
      return "gelu_tanh_and_mul";
    case Activation::Relu:
      return "relu_and_mul";
    case Activation::QuickGelu:
      return "quick_gelu_and_mul";
  }
  return "act_and_mul";
}

}  // namespace

Activation parse_activation(std::string_view hidden_act) {
  std::string supported;
  for (const ActName& a : kActNames) {
    if (a.name == hidden_act) return a.act;
    if (!supported.empty()) supported += ", ";
    supported += a.name;
  }
  throw_error(ErrorCode::Unsupported,
              fmt::format("activation '{}' (config.json hidden_act) is not supported", hidden_act),
              fmt::format("use a model whose hidden_act is one of: {}", supported));
}

std::string_view activation_name(Activation act) {
  switch (act) {
    case Activation::Silu:
      return "silu";
    case Activation::Gelu:
      return "gelu";
    case Activation::GeluTanh:
      return "gelu_tanh";
    case Activation::Relu:
      return "relu";
    case Activation::QuickGelu:
      return "quick_gelu";
  }
  return "unknown";
}

void activation(Activation act, const Tensor& x, Tensor& out) {
  constexpr std::string_view op = "activation";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  detail::check_shape(op, "out", out, x.shape(), "the shape of x");
  detail::check_same_dtype(op, "out", out, "x", x);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"out", out}});
  if (device.is_cpu()) return cpu::activation(act, x, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::activation(act, x, out);
#endif
  detail::unsupported_device(op, device);
}

void act_and_mul(Activation act, const Tensor& x, Tensor& out) {
  const std::string_view op = gated_name(act);
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  PAGODA_CHECK(x.size(-1) % 2 == 0, InvalidArgument,
               fmt::format("{}: argument 'x' has shape {}; its last dimension must be even "
                           "(the gate half then the up half)",
                           op, x.shape().to_string()),
               "pass the output of the merged gate_up projection, [..., 2 * intermediate_size]");
  Shape expected = x.shape();
  expected[expected.size() - 1] = x.size(-1) / 2;
  detail::check_shape(op, "out", out, expected, "x's shape with the last dimension halved");
  detail::check_same_dtype(op, "out", out, "x", x);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"out", out}});
  if (device.is_cpu()) return cpu::act_and_mul(act, x, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::act_and_mul(act, x, out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
