// Floats as unsigned keys whose integer order is the float order, for selections and argmax on
// CUDA: -0 counts as +0 (keys agree with float ==), every NaN above +inf in argmax keys.
#pragma once

#include <cstdint>

namespace pagoda::cuda {

// The order key of a non-NaN float; value_of_key inverts it (giving +0 for -0).
__device__ __forceinline__ uint32_t order_key(float v) {
  const uint32_t bits = __float_as_uint(v + 0.0f);  // -0 + 0 = +0
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
__device__ __forceinline__ float value_of_key(uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

// A value and its index as one key ordered as torch.argmax chooses: the larger value first, a NaN
// above everything, and among equals the lower index (its complement in the low word).
__device__ __forceinline__ unsigned long long argmax_key(float v, uint32_t index) {
  const uint32_t order = v != v ? 0xffffffffu : order_key(v);
  return (static_cast<unsigned long long>(order) << 32) | (0xffffffffu - index);
}
__device__ __forceinline__ uint32_t index_of_argmax_key(unsigned long long key) {
  return 0xffffffffu - static_cast<uint32_t>(key);
}

__device__ __forceinline__ unsigned long long key_max(unsigned long long a, unsigned long long b) {
  return a > b ? a : b;
}

}  // namespace pagoda::cuda
