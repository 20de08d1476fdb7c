// Scalar 16- and 8-bit floating-point types and their exact conversions to and from float.
//
// Written by hand because C++20 has no portable std::float16_t/bfloat16_t yet (C++23) and the
// conversions must be bit-exact with PyTorch: round-to-nearest-even, NaN preserved. Vectorised
// conversions live in src/ops/cpu; these are the scalar reference.
#pragma once

#include <bit>
#include <cstdint>

namespace pagoda {

// IEEE binary16.
struct f16 {
  uint16_t bits = 0;
  f16() = default;
  explicit f16(float v);
  explicit operator float() const;
  static f16 from_bits(uint16_t b) {
    f16 h;
    h.bits = b;
    return h;
  }
};

// bfloat16: the upper half of a float32.
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  explicit bf16(float v) : bits(round_from_float(v)) {}
  explicit operator float() const { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }
  static bf16 from_bits(uint16_t b) {
    bf16 h;
    h.bits = b;
    return h;
  }
  static uint16_t round_from_float(float v) {
    uint32_t u = std::bit_cast<uint32_t>(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
    return static_cast<uint16_t>(u >> 16);
  }
};

// float8 e4m3fn (PyTorch torch.float8_e4m3fn): bias 7, no infinities, 0x7f/0xff are NaN, max 448.
// Casting a float beyond the range gives NaN, as PyTorch's cast does (it does not saturate).
struct fp8_e4m3 {
  uint8_t bits = 0;
  fp8_e4m3() = default;
  explicit fp8_e4m3(float v);
  explicit operator float() const;
  static fp8_e4m3 from_bits(uint8_t b) {
    fp8_e4m3 h;
    h.bits = b;
    return h;
  }
};

// float8 e5m2 (torch.float8_e5m2): bias 15, IEEE-like with infinities.
struct fp8_e5m2 {
  uint8_t bits = 0;
  fp8_e5m2() = default;
  explicit fp8_e5m2(float v);
  explicit operator float() const;
  static fp8_e5m2 from_bits(uint8_t b) {
    fp8_e5m2 h;
    h.bits = b;
    return h;
  }
};

float f16_bits_to_float(uint16_t bits);
uint16_t float_to_f16_bits(float v);

}  // namespace pagoda
