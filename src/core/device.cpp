#include "pagoda/device.h"

#include <fmt/format.h>

#include <charconv>

#include "pagoda/error.h"

namespace pagoda {

std::string Device::to_string() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.starts_with("cuda:") && text.size() > 5 && text.size() < 10) {
    int index = 0;
    const std::string_view digits = text.substr(5);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) return cuda(index);
  }
  throw_error(ErrorCode::InvalidArgument, fmt::format("device '{}' is not a device name", text),
              "use cpu, cuda or cuda:N (N: the GPU's index)");
}

}  // namespace pagoda
