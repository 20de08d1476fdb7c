#include <fmt/format.h>

#include <vector>

#include "pagoda/model.h"

namespace pagoda {

std::string ModelCapabilities::to_string() const {
  std::vector<std::string_view> flags;
  if (text_generation) flags.push_back("generate");
  if (pooling) flags.push_back("pooling");
  if (multimodal) flags.push_back("multimodal");
  if (pipeline_parallel) flags.push_back("pp");
  if (lora) flags.push_back("lora");
  if (hybrid) flags.push_back("hybrid");
  if (attention_free) flags.push_back("attention-free");
  return fmt::format("{}", fmt::join(flags, ", "));
}

}  // namespace pagoda
