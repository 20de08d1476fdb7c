// Parsing and validation of a safetensors header, independent of how the bytes are held (the
// reader passes its mapping; tests pass exact-size heap buffers so AddressSanitizer sees any
// out-of-bounds read).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "pagoda/safetensors.h"

namespace pagoda {

struct SafetensorsHeader {
  std::vector<SafetensorsTensorInfo> tensors;  // sorted by position: file order
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data region starts: 8 + header length
  uint64_t data_size = 0;    // bytes from data_offset to the end of the file
};

// Validates every field of the header at the start of `file_bytes` (the whole file) against the
// file's size. Throws pagoda::Error(InvalidFormat) whose message starts with
// "safetensors file '<file>'", names the tensor when one is involved, and says what is wrong.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file_bytes,
                                           const std::string& file);

}  // namespace pagoda
