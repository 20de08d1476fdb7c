// Hand-built tokenizer.json documents for the component tests.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pagoda/tokenizer.h"

namespace pagoda::testing {

using nlohmann::json;

// A tokenizer.json with the given parts (null parts are omitted components).
inline json tokenizer_doc(json model, json normalizer = nullptr, json pre_tokenizer = nullptr,
                          json post_processor = nullptr, json decoder = nullptr,
                          json added_tokens = json::array()) {
  return json{{"version", "1.0"},         {"truncation", nullptr},
              {"padding", nullptr},       {"added_tokens", added_tokens},
              {"normalizer", normalizer}, {"pre_tokenizer", pre_tokenizer},
              {"model", model},           {"post_processor", post_processor},
              {"decoder", decoder}};
}

inline std::shared_ptr<const Tokenizer> make_tokenizer(const json& doc) {
  return Tokenizer::from_json(doc.dump(), "test.json");
}

// A WordLevel model whose vocabulary is `tokens` with ids 0, 1, 2, ...; "[UNK]" is unk.
inline json word_level(const std::vector<std::string>& tokens) {
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<int>(i);
  return json{{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "[UNK]"}};
}

inline json added_token(const std::string& content, int id, bool special,
                        json extra = json::object()) {
  json t{{"id", id},        {"content", content},     {"single_word", false}, {"lstrip", false},
         {"rstrip", false}, {"normalized", !special}, {"special", special}};
  for (auto& [k, v] : extra.items()) t[k] = v;
  return t;
}

inline std::vector<int32_t> ids(std::initializer_list<int32_t> l) {
  return l;
}

}  // namespace pagoda::testing
