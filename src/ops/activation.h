// Activation functions: elementwise (act(x)) and gated (act(x[..., :d]) * x[..., d:], vLLM's
// SiluAndMul / GeluAndMul), and the parser for Hugging Face's `hidden_act` strings.
#pragma once

#include <string_view>

#include "pagoda/tensor.h"

namespace pagoda::ops {

enum class Activation {
  Silu,       // x * sigmoid(x)                                     "silu", "swish"
  Gelu,       // 0.5 x (1 + erf(x / sqrt(2)))                       "gelu"
  GeluTanh,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))    "gelu_new", "gelu_pytorch_tanh",
              //                                                     "gelu_fast" (same function)
  Relu,       // max(x, 0)                                          "relu"
  QuickGelu,  // x * sigmoid(1.702 x)                               "quick_gelu"
};

// Maps a config.json `hidden_act` / `hidden_activation` value to an Activation. Throws
// Error(Unsupported) listing the supported names for anything else.
Activation parse_activation(std::string_view hidden_act);
// "silu", "gelu", "gelu_tanh", "relu", "quick_gelu"
std::string_view activation_name(Activation act);

// out = act(x), elementwise. x: [..., n] f32, bf16 or f16 with contiguous rows (rows may be
// strided); out: x's shape and dtype, same row rules; may be x itself.
void activation(Activation act, const Tensor& x, Tensor& out);

// Gated: out[..., i] = act(x[..., i]) * x[..., d + i] for x [..., 2d] -> out [..., d], computed in
// f32. As in Hugging Face and vLLM, act(x) is rounded to the activation dtype before the multiply.
// out has x's dtype; rows of both may be strided.
void act_and_mul(Activation act, const Tensor& x, Tensor& out);

inline void silu_and_mul(const Tensor& x, Tensor& out) {
  act_and_mul(Activation::Silu, x, out);
}
// GELU with the exact erf.
inline void gelu_and_mul(const Tensor& x, Tensor& out) {
  act_and_mul(Activation::Gelu, x, out);
}
inline void gelu_tanh_and_mul(const Tensor& x, Tensor& out) {
  act_and_mul(Activation::GeluTanh, x, out);
}

}  // namespace pagoda::ops
