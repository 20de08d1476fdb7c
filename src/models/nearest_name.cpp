#include "models/nearest_name.h"

#include <algorithm>
#include <cctype>

namespace pagoda {

namespace {

size_t distance(std::string_view a, std::string_view b, bool ignore_case) {
  auto lower = [ignore_case](char c) {
    return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) { return distance(a, b, true); }

std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(3, name.size() / 3);
  std::string best;
  size_t best_distance = limit + 1, best_exact = 0;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(name, c);
    // Ties (LlamaForCausalLM vs LLaMAForCausalLM) go to the one closer in case too.
    const size_t exact = distance(name, c, false);
    if (d < best_distance || (d == best_distance && exact < best_exact)) {
      best_distance = d;
      best_exact = exact;
      best = c;
    }
  }
  return best;
}

}  // namespace pagoda
