#include "cli/models_command.h"

#include <fmt/format.h>

#include <algorithm>

namespace pagoda::cli {

int run_models_command(const ModelRegistry& registry) {
  const auto names = registry.supported_architectures();
  if (names.empty()) {
    fmt::print("supported architectures: none registered\n");
    return 0;
  }
  size_t width = 12;
  for (const auto& n : names) width = std::max(width, n.size());
  fmt::print("{:<{}}  {}\n", "architecture", width, "capabilities");
  for (const auto& n : names) {
    const auto caps = registry.capabilities(n);
    fmt::print("{:<{}}  {}{}\n", n, width, caps.to_string(),
               registry.is_lazy_unloaded(n) ? " (lazy)" : "");
  }
  return 0;
}

}  // namespace pagoda::cli
