// Decoders (tokenizers/src/decoders): turn the token strings of an id sequence back into text.
// Each one rewrites the list of token strings (decode_chain); the results are concatenated.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_util.h"

namespace pagoda::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const JsonAt& at);

}  // namespace pagoda::tok
