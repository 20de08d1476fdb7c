// The compute dtype, as vLLM's _get_and_verify_dtype resolves it from --dtype and the config.
//
// Decision (vLLM's, kept): "auto" uses the config's dtype, but float32 checkpoints run in the
// platform's preferred type (bfloat16 on CPU and on sm80+ GPUs), and a dtype the platform or the
// model cannot use falls back to it. float32 compute must be asked for explicitly.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "loader/model_config_internal.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda::config_detail {
namespace {

// vLLM's _FLOAT16_NOT_SUPPORTED_MODELS: float16 overflows in these models.
constexpr std::string_view kNoFloat16ModelTypes[] = {"gemma2", "gemma3", "gemma3_text", "plamo2",
                                                     "glm4"};

bool float16_unstable(std::string_view model_type) {
  return std::find(std::begin(kNoFloat16ModelTypes), std::end(kNoFloat16ModelTypes), model_type) !=
         std::end(kNoFloat16ModelTypes);
}

// PyTorch's spelling, which users and config files use.
std::string torch_name(DType d) {
  switch (d) {
    case DType::F32:
      return "float32";
    case DType::F16:
      return "float16";
    case DType::BF16:
      return "bfloat16";
    default:
      return std::string(dtype_name(d));
  }
}

std::string names(const std::vector<DType>& dtypes) {
  std::string out;
  for (DType d : dtypes) out += (out.empty() ? "" : ", ") + torch_name(d);
  return out;
}

bool contains(const std::vector<DType>& dtypes, DType d) {
  return std::find(dtypes.begin(), dtypes.end(), d) != dtypes.end();
}

// "dtype" (transformers v5) or "torch_dtype" (v4) of one config object.
std::optional<DType> dtype_named_in(const HfConfig& config) {
  for (std::string_view key : {"dtype", "torch_dtype"}) {
    auto name = config.find_string(key);
    if (!name || *name == "auto") continue;
    auto parsed = parse_dtype(*name);
    if (!parsed || !is_floating_point(*parsed))
      config.fail(key, fmt::format("is \"{}\", which is not a floating-point dtype", *name),
                  "\"bfloat16\", \"float16\" or \"float32\"");
    return parsed;
  }
  return std::nullopt;
}

std::optional<DType> parse_requested(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "half" || name == "float16") return DType::F16;
  if (name == "float" || name == "float32") return DType::F32;
  if (name == "bfloat16") return DType::BF16;
  return std::nullopt;
}

void log_cast(DType from, DType to) {
  if (from == to) return;
  if (to == DType::F32)
    log::info("Upcasting {} to {}.", torch_name(from), torch_name(to));
  else if (from == DType::F32)
    log::info("Downcasting {} to {}.", torch_name(from), torch_name(to));
  else
    log::warn("Casting {} to {}.", torch_name(from), torch_name(to));
}

}  // namespace

DTypeChoice resolve_dtype(const HfConfig& config, const HfConfig& text,
                          const ModelConfigOptions& options) {
  PAGODA_CHECK(!options.platform_dtypes.empty(), InvalidArgument,
               "ModelConfigOptions::platform_dtypes is empty",
               "list the floating-point types the device computes in, preferred first");
  DTypeChoice out;
  // vLLM's _find_dtype: the top level, then the text and vision configs of multimodal models.
  out.config_dtype = dtype_named_in(config);
  if (!out.config_dtype && config.has_text_config()) out.config_dtype = dtype_named_in(text);
  if (!out.config_dtype) {
    if (auto vision = config.sub_config("vision_config"))
      out.config_dtype = dtype_named_in(*vision);
  }
  const DType checkpoint = out.config_dtype.value_or(options.weights_dtype.value_or(DType::F32));
  const std::string model_type = config.model_type();

  std::string requested = options.dtype;
  std::transform(requested.begin(), requested.end(), requested.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (requested == "auto") {
    std::vector<DType> usable;
    for (DType d : options.platform_dtypes)
      if (!(d == DType::F16 && float16_unstable(model_type))) usable.push_back(d);
    PAGODA_CHECK(!usable.empty(), Unsupported,
                 fmt::format("the platform computes only in float16, which model type '{}' does "
                             "not support (numerical instability)",
                             model_type),
                 "run the model on a device with bfloat16 or float32 support");
    const DType preferred = usable.front();
    const DType wanted = checkpoint == DType::F32 ? preferred : checkpoint;
    if (contains(usable, wanted)) {
      out.dtype = wanted;
    } else {
      log::warn("The platform does not support {} for this model; falling back to {}.",
                torch_name(wanted), torch_name(preferred));
      out.dtype = preferred;
    }
  } else {
    const auto parsed = parse_requested(requested);
    PAGODA_CHECK(parsed.has_value(), InvalidConfig,
                 fmt::format("unknown dtype '{}'", options.dtype),
                 "use one of auto, bfloat16, float16, half, float32, float");
    PAGODA_CHECK(
        !(*parsed == DType::F16 && float16_unstable(model_type)), InvalidConfig,
        fmt::format("model type '{}' does not support float16 (numerical instability)", model_type),
        "use dtype bfloat16 or float32 instead");
    PAGODA_CHECK(contains(options.platform_dtypes, *parsed), Unsupported,
                 fmt::format("dtype {} is not supported by the platform (it computes in {})",
                             torch_name(*parsed), names(options.platform_dtypes)),
                 fmt::format("use one of {}, or auto", names(options.platform_dtypes)));
    out.dtype = *parsed;
  }
  log_cast(checkpoint, out.dtype);
  return out;
}

}  // namespace pagoda::config_detail
