// Pre-tokenizers (tokenizers/src/pre_tokenizers): split normalized text into the words the model
// tokenizes one by one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_util.h"

namespace pagoda::tok {

// One word: its text and whether it starts at offset 0 of the text being encoded (Metaspace's
// prepend_scheme "first" prepends only there).
struct Piece {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their splits (pieces never become empty: empty splits are dropped).
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonAt& at);

}  // namespace pagoda::tok
