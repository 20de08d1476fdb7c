#include "pagoda/half.h"

#include <cmath>
#include <cstring>

namespace pagoda {

float f16_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf or NaN (payload kept)
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t float_to_f16_bits(float v) {
  const uint32_t u = std::bit_cast<uint32_t>(v);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u;  // NaN
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65536: infinity
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero) in f16: value = abs_float / 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14 + (113 - exp) - ... keeps 10 bits of result
    // value = mant * 2^(exp-150); in units of 2^-24: mant * 2^(exp-126)
    const uint32_t q = mant >> (shift);
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias exponent, round mantissa 23 -> 10 bits to nearest even.
  uint32_t r = abs - ((127u - 15u) << 23);
  r += 0xfffu + ((r >> 13) & 1u);
  return static_cast<uint16_t>(sign | (r >> 13));
}

f16::f16(float v) : bits(float_to_f16_bits(v)) {}
f16::operator float() const { return f16_bits_to_float(bits); }

namespace {

// Generic small-float decode: `exp_bits`, `mant_bits`, `bias`.
float decode_small(uint32_t bits, int exp_bits, int mant_bits, int bias) {
  const bool negative = (bits >> (exp_bits + mant_bits)) & 1u;
  const uint32_t exp = (bits >> mant_bits) & ((1u << exp_bits) - 1);
  const uint32_t mant = bits & ((1u << mant_bits) - 1);
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), 1 - bias - mant_bits);
  else
    v = std::ldexp(static_cast<float>(mant | (1u << mant_bits)), static_cast<int>(exp) - bias - mant_bits);
  return negative ? -v : v;
}

// Rounds |v| to a value with `mant_bits` of mantissa and minimum normal exponent 1-bias,
// nearest-even; returns the encoded magnitude, or `overflow` when it exceeds max_code.
uint32_t encode_small(float a, int mant_bits, int bias, uint32_t max_code) {
  if (a == 0.0f) return 0;
  int e;
  std::frexp(a, &e);  // a = f * 2^e with f in [0.5, 1): unbiased exponent of a is e-1
  int unbiased = e - 1;
  const int min_exp = 1 - bias;
  if (unbiased < min_exp) unbiased = min_exp;  // subnormal spacing
  const float scaled = std::ldexp(a, mant_bits - unbiased);  // integer-valued spacing units
  float q = std::nearbyint(scaled);  // default rounding mode: nearest even
  uint32_t code;
  uint32_t qi = static_cast<uint32_t>(q);
  if (qi >= (2u << mant_bits)) {  // rounding carried into the next binade
    qi >>= 1;
    ++unbiased;
  }
  if (qi < (1u << mant_bits)) {
    code = qi;  // subnormal (exponent field 0)
  } else {
    code = (static_cast<uint32_t>(unbiased + bias) << mant_bits) | (qi & ((1u << mant_bits) - 1));
  }
  return code > max_code ? max_code + 1 : code;
}

}  // namespace

fp8_e4m3::fp8_e4m3(float v) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
  if (std::isnan(v) || std::isinf(v)) {
    bits = sign | 0x7f;
    return;
  }
  // Largest finite code is 0x7e (448); anything rounding above it is NaN (0x7f).
  uint32_t code = encode_small(std::fabs(v), 3, 7, 0x7e);
  bits = static_cast<uint8_t>(sign | (code > 0x7e ? 0x7f : code));
}

fp8_e4m3::operator float() const {
  if ((bits & 0x7f) == 0x7f) return std::nanf("");
  return decode_small(bits, 4, 3, 7);
}

fp8_e5m2::fp8_e5m2(float v) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
  if (std::isnan(v)) {
    bits = sign | 0x7e;
    return;
  }
  if (std::isinf(v)) {
    bits = sign | 0x7c;
    return;
  }
  // Largest finite code is 0x7b (57344); larger rounds to infinity.
  uint32_t code = encode_small(std::fabs(v), 2, 15, 0x7b);
  bits = static_cast<uint8_t>(sign | (code > 0x7b ? 0x7c : code));
}

fp8_e5m2::operator float() const {
  const uint32_t exp = (bits >> 2) & 0x1f;
  if (exp == 0x1f) {
    if (bits & 0x3) return std::nanf("");
    return (bits & 0x80) ? -INFINITY : INFINITY;
  }
  return decode_small(bits, 5, 2, 15);
}

}  // namespace pagoda
