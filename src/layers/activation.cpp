#include "pagoda/layers/activation.h"

#include <fmt/format.h>

#include "ops/activation.h"
#include "pagoda/error.h"

namespace pagoda {

GatedActivation::GatedActivation(std::string_view hidden_act)
    : kind_(static_cast<int>(ops::parse_activation(hidden_act))) {}

Tensor GatedActivation::forward(const Tensor& x) const {
  const auto act = static_cast<ops::Activation>(kind_);
  PAGODA_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) % 2 == 0, InvalidArgument,
               fmt::format("GatedActivation ({}): input has shape {}; expected [..., 2 * d] (the "
                           "gate half then the up half)",
                           ops::activation_name(act),
                           x.defined() ? x.shape().to_string() : std::string("(undefined)")),
               "pass the output of the merged gate_up projection");
  Shape shape = x.shape();
  shape[shape.size() - 1] = x.size(-1) / 2;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  ops::act_and_mul(act, x, out);
  return out;
}

Activation::Activation(std::string_view hidden_act)
    : kind_(static_cast<int>(ops::parse_activation(hidden_act))) {}

Tensor Activation::forward(const Tensor& x) const {
  const auto act = static_cast<ops::Activation>(kind_);
  PAGODA_CHECK(
      x.defined(), InvalidArgument,
      fmt::format("Activation ({}): input is an undefined tensor", ops::activation_name(act)),
      "pass the layer's input tensor");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  ops::activation(act, x, out);
  return out;
}

}  // namespace pagoda
