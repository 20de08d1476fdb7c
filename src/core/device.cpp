#include "pagoda/device.h"

namespace pagoda {

std::string Device::to_string() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

}  // namespace pagoda
