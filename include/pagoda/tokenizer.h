// Hugging Face tokenizers, in C++: loads a model directory's tokenizer.json (or GPT-2's
// vocab.json + merges.txt) and encodes/decodes exactly as the `tokenizers` Rust library does, plus
// the streaming detokenizer the engine uses to turn sampled tokens into text as they arrive.
//
//   auto tok = pagoda::Tokenizer::from_directory("/models/Llama-3-8B-Instruct");
//   std::vector<int32_t> ids = tok->encode("Hello world");   // [128000, 9906, 1917]
//   std::string text = tok->decode(ids);                     // "Hello world"
//
// A Tokenizer is immutable after loading and safe to use from many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

// tokenizer_config.json (+ special_tokens_map.json, chat_template.jinja): what transformers keeps
// beside tokenizer.json. Special tokens may be given there as strings or AddedToken dicts
// ({"content": ...}); both become the token's text.
struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  std::optional<bool> add_bos_token, add_eos_token;
  bool clean_up_tokenization_spaces = false;
  int64_t model_max_length = 0;  // 0 = unset
  // "default" for a plain string template; named entries of a list of {name, template};
  // chat_template.jinja in the directory wins as "default".
  std::map<std::string, std::string> chat_templates;
};

namespace tok {
struct TokenizerImpl;
}

class Tokenizer {
 public:
  // tokenizer.json in `dir`, else vocab.json + merges.txt (GPT-2 byte-level BPE, as transformers'
  // GPT2TokenizerFast builds it); tokenizer_config.json, special_tokens_map.json and
  // chat_template.jinja fill config() when present. Throws pagoda::Error naming the file and key
  // of anything malformed or unsupported.
  static std::shared_ptr<const Tokenizer> from_directory(const std::filesystem::path& dir);
  static std::shared_ptr<const Tokenizer> from_file(const std::filesystem::path& tokenizer_json);
  // `source` names the text in error messages.
  static std::shared_ptr<const Tokenizer> from_json(std::string_view json, std::string source);
  // GPT-2's encoder.json (token -> id) and vocab.bpe (merges, first line "#version").
  static std::shared_ptr<const Tokenizer> from_gpt2_files(const std::filesystem::path& encoder_json,
                                                          const std::filesystem::path& vocab_bpe);

  ~Tokenizer();

  // Token ids of `text`; `add_special_tokens` applies the post-processor (e.g. prepends BOS).
  // Invalid UTF-8 in `text` is replaced by U+FFFD first.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Text of `ids`; unknown ids are skipped, as are special tokens when `skip_special_tokens`.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = true) const;

  int64_t vocab_size() const;  // including added tokens (max id + 1)
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  // Whether `id` is an added token marked special (skipped by decode(skip_special_tokens)).
  bool is_special(int32_t id) const;
  const TokenizerConfig& config() const;
  std::optional<int32_t> bos_token_id() const;
  std::optional<int32_t> eos_token_id() const;

  // Where the tokenizer came from (a path or the `source` given to from_json).
  const std::string& source() const;

  explicit Tokenizer(std::unique_ptr<tok::TokenizerImpl> impl);  // use the factories above

 private:
  friend class IncrementalDetokenizer;
  std::unique_ptr<tok::TokenizerImpl> impl_;
};

// Streaming detokenization (vLLM's incremental detokenizer, tokenizers' DecodeStream): push one
// token at a time and get the text that became final. Incomplete UTF-8 (a character split across
// byte-fallback or byte-level tokens) is held back, and SentencePiece's leading-space rule is
// applied as a full decode would, so with no prompt the concatenation of every push() result and
// flush() equals decode(all pushed ids); with a prompt, the text continues decode(prompt).
// Each push() decodes only a short window of recent tokens. One exception to the equality, shared
// with vLLM and tokenizers' DecodeStream: when byte-fallback tokens spell valid characters that are
// emitted and then further byte tokens make the run invalid UTF-8, a full decode turns the whole
// run into U+FFFD while the stream keeps the characters it already emitted.
class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tokenizer,
                         std::span<const int32_t> prompt_ids, bool skip_special_tokens = true);
  // The new final text after `id` (may be empty while a character is incomplete).
  std::string push(int32_t id);
  // Whatever is still held back (incomplete characters become U+FFFD, as decode() would).
  std::string flush();

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;  // the window: tokens that decode() may still need as context
  size_t prefix_offset_ = 0;  // ids_[prefix_offset_, read_offset_) decode to text already emitted
  size_t read_offset_ = 0;
};

}  // namespace pagoda
