// Constructors of the non-BPE models, for model_factory.cpp and the tests.
#pragma once

#include "tokenizer/models.h"

namespace pagoda::tok {
std::unique_ptr<Model> make_wordpiece(Vocab vocab, std::string unk, std::string prefix,
                                      size_t max_chars, const std::string& source);
std::unique_ptr<Model> make_wordlevel(Vocab vocab, std::optional<std::string> unk,
                                      const std::string& source);
std::unique_ptr<Model> make_unigram(std::vector<std::pair<std::string, double>> pieces,
                                    std::optional<int64_t> unk_id, bool byte_fallback,
                                    const std::string& source);
}  // namespace pagoda::tok
