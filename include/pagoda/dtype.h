// Element types of tensors, and their sizes and names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pagoda {

// Every element type a checkpoint may hold. Ops accept a subset (documented per op); storage,
// views and copies work for all of them.
enum class DType : uint8_t {
  F64,
  F32,
  F16,
  BF16,
  FP8_E4M3,  // "float8_e4m3fn": no infinities, one NaN pattern per sign, max 448
  FP8_E5M2,
  I64,
  I32,
  I16,
  I8,
  U8,
  Bool,
};

// Bytes per element.
size_t dtype_size(DType dtype);

// The name Pagoda prints ("f32", "bf16", "fp8_e4m3", ...).
std::string_view dtype_name(DType dtype);

// Parses a name as Pagoda prints it or as PyTorch/Hugging Face write it ("float32", "bfloat16",
// "torch.float16", "half", "float8_e4m3fn", "int64", ...). Returns nullopt when unknown.
std::optional<DType> parse_dtype(std::string_view name);

// The safetensors header spelling ("F32", "BF16", "F8_E4M3", "BOOL", ...), both directions.
std::string_view safetensors_dtype_name(DType dtype);
std::optional<DType> parse_safetensors_dtype(std::string_view name);

inline bool is_floating_point(DType d) {
  return d == DType::F64 || d == DType::F32 || d == DType::F16 || d == DType::BF16 ||
         d == DType::FP8_E4M3 || d == DType::FP8_E5M2;
}

}  // namespace pagoda
