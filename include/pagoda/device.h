// Where a tensor's memory lives.
#pragma once

#include <string>
#include <string_view>

namespace pagoda {

enum class DeviceType : unsigned char { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device&) const = default;

  // "cpu" or "cuda:0".
  std::string to_string() const;
  // "cpu", "cuda" (cuda:0) or "cuda:N"; throws pagoda::Error(InvalidArgument) naming the
  // accepted forms for anything else.
  static Device parse(std::string_view text);
};

}  // namespace pagoda
