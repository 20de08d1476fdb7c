#include "pagoda/dtype.h"

#include <array>
#include <string>

#include "pagoda/error.h"

namespace pagoda {
namespace {

struct DTypeInfo {
  DType dtype;
  size_t size;
  std::string_view name;
  std::string_view safetensors;
};

constexpr std::array<DTypeInfo, 12> kDTypes{{
    {DType::F64, 8, "f64", "F64"},
    {DType::F32, 4, "f32", "F32"},
    {DType::F16, 2, "f16", "F16"},
    {DType::BF16, 2, "bf16", "BF16"},
    {DType::FP8_E4M3, 1, "fp8_e4m3", "F8_E4M3"},
    {DType::FP8_E5M2, 1, "fp8_e5m2", "F8_E5M2"},
    {DType::I64, 8, "i64", "I64"},
    {DType::I32, 4, "i32", "I32"},
    {DType::I16, 2, "i16", "I16"},
    {DType::I8, 1, "i8", "I8"},
    {DType::U8, 1, "u8", "U8"},
    {DType::Bool, 1, "bool", "BOOL"},
}};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes)
    if (i.dtype == dtype) return i;
  throw_internal_error("known dtype", __FILE__, __LINE__);
}

// PyTorch / Hugging Face spellings (config.json "torch_dtype", "dtype").
struct Alias {
  std::string_view name;
  DType dtype;
};
constexpr std::array<Alias, 20> kAliases{{
    {"float64", DType::F64},       {"double", DType::F64},         {"float32", DType::F32},
    {"float", DType::F32},         {"fp32", DType::F32},           {"float16", DType::F16},
    {"half", DType::F16},          {"fp16", DType::F16},           {"bfloat16", DType::BF16},
    {"float8_e4m3fn", DType::FP8_E4M3}, {"float8_e4m3", DType::FP8_E4M3}, {"fp8", DType::FP8_E4M3},
    {"float8_e5m2", DType::FP8_E5M2}, {"int64", DType::I64},       {"long", DType::I64},
    {"int32", DType::I32},         {"int", DType::I32},            {"int16", DType::I16},
    {"int8", DType::I8},           {"uint8", DType::U8},
}};

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::string_view safetensors_dtype_name(DType dtype) { return info(dtype).safetensors; }

std::optional<DType> parse_dtype(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (const auto& i : kDTypes)
    if (i.name == name) return i.dtype;
  for (const auto& a : kAliases)
    if (a.name == name) return a.dtype;
  return std::nullopt;
}

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.safetensors == name) return i.dtype;
  return std::nullopt;
}

}  // namespace pagoda
