// Normalizers (tokenizers/src/normalizers): rewrite the text before pre-tokenization. Offsets are
// not tracked, so each one is a plain string -> string function.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/json_util.h"

namespace pagoda::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `s` in place; `s` is valid UTF-8 and stays so.
  virtual void normalize(std::string& s) const = 0;
};

// Builds the normalizer a tokenizer.json "normalizer" object describes; null for JSON null.
std::unique_ptr<Normalizer> make_normalizer(const JsonAt& at);

// SentencePiece's precompiled_charsmap (a darts-clone double-array trie of rewrite rules); built
// from the raw (base64-decoded) bytes. Exposed for tests.
std::unique_ptr<Normalizer> make_precompiled_normalizer(std::string charsmap,
                                                        const std::string& source);

std::string base64_decode(std::string_view in, const std::string& where);

}  // namespace pagoda::tok
