// Activation layers: gated (SiluAndMul and friends) and plain, chosen from config.json's
// `hidden_act`.
#pragma once

#include <string_view>

#include "pagoda/tensor.h"

namespace pagoda {

// f(x[:, :d]) * x[:, d:] for x [T, 2d] -> [T, d]. `hidden_act` as in config.json ("silu",
// "gelu", "gelu_pytorch_tanh", ...); an unknown name is an error listing the supported ones.
class GatedActivation {
 public:
  explicit GatedActivation(std::string_view hidden_act = "silu");
  Tensor forward(const Tensor& x) const;

 private:
  int kind_;
};

// f(x) element-wise, same shape.
class Activation {
 public:
  explicit Activation(std::string_view hidden_act);
  Tensor forward(const Tensor& x) const;

 private:
  int kind_;
};

}  // namespace pagoda
