#include "pagoda/tokenizer.h"

#include <fmt/format.h>

#include "pagoda/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace pagoda {
namespace tok {

void TokenizerImpl::finish(std::vector<AddedToken> added_tokens) {
  vocab_size = model->vocab().size();
  for (const AddedToken& t : added_tokens)
    vocab_size = std::max<int64_t>(vocab_size, int64_t{t.id} + 1);
  added.build(std::move(added_tokens), normalizer.get());
  special.assign(static_cast<size_t>(vocab_size), false);
  for (int64_t id = 0; id < vocab_size; ++id) {
    // tokenizers tests the decoded text of the token against the special tokens' contents.
    const std::string* t = decode_token(static_cast<int32_t>(id));
    const AddedToken* a = t ? added.by_content(*t) : nullptr;
    special[static_cast<size_t>(id)] = a && a->special;
  }
}

const std::string* TokenizerImpl::token(int32_t id) const {
  if (const AddedToken* a = added.by_id(id)) return &a->content;
  return model->vocab().token(id);
}

const std::string* TokenizerImpl::decode_token(int32_t id) const {
  if (const AddedToken* a = added.by_id(id)) return &a->decode_text;
  return model->vocab().token(id);
}

void TokenizerImpl::encode(std::string_view input, bool add_special_tokens,
                           std::vector<int32_t>& out) const {
  std::string repaired;
  if (!is_valid_utf8(input)) {
    repaired = utf8_lossy(input);
    input = repaired;
  }
  std::vector<Segment> raw, normalized_parts;
  std::vector<Piece> pieces;
  added.split(input, false, raw);
  for (const Segment& seg : raw) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    std::string text(input.substr(seg.start, seg.end - seg.start));
    if (normalizer) normalizer->normalize(text);
    normalized_parts.clear();
    added.split(text, true, normalized_parts);
    for (const Segment& part : normalized_parts) {
      if (part.id >= 0) {
        out.push_back(part.id);
        continue;
      }
      pieces.clear();
      pieces.push_back(
          Piece{text.substr(part.start, part.end - part.start), seg.start == 0 && part.start == 0});
      if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces);
      for (const Piece& p : pieces) model->tokenize(p.text, out);
    }
  }
  if (add_special_tokens && post_processor) post_processor->process(out);
}

std::string TokenizerImpl::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string* t = decode_token(id);
    if (!t) continue;
    if (skip_special_tokens && special[static_cast<size_t>(id)]) continue;
    tokens.push_back(*t);
  }
  if (decoder) decoder->decode_chain(tokens);
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && !decoder) text.push_back(' ');
    text += tokens[i];
  }
  return text;
}

}  // namespace tok

Tokenizer::Tokenizer(std::unique_ptr<tok::TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->encode(text, add_special_tokens, ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

int64_t Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const tok::AddedToken* a = impl_->added.by_content(token)) return a->id;
  return impl_->model->vocab().find(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  const std::string* t = impl_->token(id);
  if (!t) return std::nullopt;
  return *t;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->special[static_cast<size_t>(id)];
}

const TokenizerConfig& Tokenizer::config() const {
  return impl_->config;
}
const std::string& Tokenizer::source() const {
  return impl_->source;
}

std::optional<int32_t> Tokenizer::bos_token_id() const {
  return impl_->config.bos_token ? token_to_id(*impl_->config.bos_token) : std::nullopt;
}
std::optional<int32_t> Tokenizer::eos_token_id() const {
  return impl_->config.eos_token ? token_to_id(*impl_->config.eos_token) : std::nullopt;
}

std::shared_ptr<const Tokenizer> Tokenizer::from_json(std::string_view json, std::string source) {
  return std::make_shared<const Tokenizer>(tok::load_tokenizer_json(json, source));
}

std::shared_ptr<const Tokenizer> Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  return from_json(tok::read_text_file(tokenizer_json), tokenizer_json.string());
}

std::shared_ptr<const Tokenizer> Tokenizer::from_gpt2_files(
    const std::filesystem::path& encoder_json, const std::filesystem::path& vocab_bpe) {
  return std::make_shared<const Tokenizer>(tok::load_gpt2(
      tok::read_text_file(encoder_json), tok::read_text_file(vocab_bpe), encoder_json.string()));
}

std::shared_ptr<const Tokenizer> Tokenizer::from_directory(const std::filesystem::path& dir) {
  std::unique_ptr<tok::TokenizerImpl> impl;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    impl = tok::load_tokenizer_json(tok::read_text_file(dir / "tokenizer.json"),
                                    (dir / "tokenizer.json").string());
  } else if (std::filesystem::exists(dir / "vocab.json") &&
             std::filesystem::exists(dir / "merges.txt")) {
    impl = tok::load_gpt2(tok::read_text_file(dir / "vocab.json"),
                          tok::read_text_file(dir / "merges.txt"), (dir / "vocab.json").string());
  } else {
    throw_error(
        ErrorCode::NotFound,
        fmt::format("{} has neither tokenizer.json nor vocab.json + merges.txt", dir.string()),
        "point Pagoda at a Hugging Face model directory that includes its tokenizer files");
  }
  // The files' special tokens win; the loader's (GPT-2's <|endoftext|>) fill the gaps.
  const TokenizerConfig defaults = impl->config;
  impl->config = tok::load_tokenizer_config(dir);
  if (!impl->config.bos_token) impl->config.bos_token = defaults.bos_token;
  if (!impl->config.eos_token) impl->config.eos_token = defaults.eos_token;
  if (!impl->config.unk_token) impl->config.unk_token = defaults.unk_token;
  return std::make_shared<const Tokenizer>(std::move(impl));
}

}  // namespace pagoda
