// "Did you mean ...?" for unknown names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

// Edit distance between a and b, ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, or "" when none is close enough to be a plausible typo
// (distance above a third of the name's length, at least 3).
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace pagoda
