// The pipeline behind pagoda::Tokenizer: added tokens -> normalizer -> pre-tokenizer -> model ->
// post-processor, and ids -> token strings -> decoder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pagoda/tokenizer.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/decoders.h"
#include "tokenizer/models.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"

namespace pagoda::tok {

struct TokenizerImpl {
  std::string source;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  TokenizerConfig config;
  std::vector<bool> special;  // by id: the token's text is a special added token
  int64_t vocab_size = 0;

  // Call after the components are set: builds the added-token tries and the tables above.
  void finish(std::vector<AddedToken> added_tokens);
  void encode(std::string_view text, bool add_special_tokens, std::vector<int32_t>& out) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;
  const std::string* token(int32_t id) const;         // as token_to_id spells it
  const std::string* decode_token(int32_t id) const;  // as decode() sees it
};

std::unique_ptr<TokenizerImpl> load_tokenizer_json(std::string_view json,
                                                   const std::string& source);
std::unique_ptr<TokenizerImpl> load_gpt2(const std::string& encoder_json,
                                         const std::string& vocab_bpe, const std::string& source);
// Reads tokenizer_config.json, special_tokens_map.json and chat_template.jinja of `dir` if present.
TokenizerConfig load_tokenizer_config(const std::filesystem::path& dir);
std::string read_text_file(const std::filesystem::path& path);

}  // namespace pagoda::tok
