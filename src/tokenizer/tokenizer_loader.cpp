// tokenizer.json, GPT-2 vocabulary files and tokenizer_config.json -> TokenizerImpl.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "tokenizer/tokenizer_impl.h"

namespace pagoda::tok {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  PAGODA_CHECK(in.good(), Io, fmt::format("cannot open {}", path.string()),
               "check that the file exists and is readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

Json parse_json(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw_error(ErrorCode::InvalidFormat, fmt::format("{} is not valid JSON: {}", source, e.what()),
                "re-download the file; it is truncated or corrupt");
  }
}

std::vector<AddedToken> read_added_tokens(const JsonAt& at) {
  std::vector<AddedToken> out;
  if (at.value.is_null()) return out;
  for (size_t i = 0; i < at.array().size(); ++i) {
    const JsonAt t = at.at(i);
    AddedToken a;
    const int64_t id = t.child("id").integer();
    if (id < 0 || id >= kMaxTokenId)
      t.child("id").fail(fmt::format("a token id below {}", kMaxTokenId));
    a.id = static_cast<int32_t>(id);
    a.content = t.child("content").str();
    a.special = t.bool_or("special", false);
    a.single_word = t.bool_or("single_word", false);
    a.lstrip = t.bool_or("lstrip", false);
    a.rstrip = t.bool_or("rstrip", false);
    a.normalized = t.bool_or("normalized", !a.special);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

std::unique_ptr<TokenizerImpl> load_tokenizer_json(std::string_view json,
                                                   const std::string& source) {
  const Json doc = parse_json(json, source);
  const JsonAt root{doc, source, ""};
  if (!doc.is_object()) root.fail("a JSON object (tokenizer.json)");
  auto impl = std::make_unique<TokenizerImpl>();
  impl->source = source;
  PAGODA_CHECK(root.has("model"), InvalidFormat, fmt::format("{}: key 'model' is missing", source),
               "this is not a Hugging Face tokenizer.json; re-download it");
  impl->normalizer = make_normalizer(root.child("normalizer"));
  impl->pre_tokenizer = make_pre_tokenizer(root.child("pre_tokenizer"));
  impl->model = make_model(root.child("model"));
  impl->post_processor = make_post_processor(root.child("post_processor"));
  impl->decoder = make_decoder(root.child("decoder"));
  if (root.has("truncation") || root.has("padding"))
    log::debug("{}: truncation/padding settings are ignored (the engine handles lengths)", source);
  impl->finish(read_added_tokens(root.child("added_tokens")));
  return impl;
}

std::unique_ptr<TokenizerImpl> load_gpt2(const std::string& encoder_json,
                                         const std::string& vocab_bpe, const std::string& source) {
  const Json doc = parse_json(encoder_json, source);
  const JsonAt vocab_at{doc, source, ""};
  std::vector<std::pair<std::string, int32_t>> vocab;
  for (const auto& [token, id] : vocab_at.object()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      vocab_at.child(token).fail("a non-negative integer id");
    vocab.emplace_back(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream lines(vocab_bpe);
  std::string line;
  size_t line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    PAGODA_CHECK(
        space != std::string::npos && line.find(' ', space + 1) == std::string::npos, InvalidFormat,
        fmt::format("merges file for {}: line {} ('{}') is not two tokens separated by a space",
                    source, line_no, line),
        "re-download merges.txt / vocab.bpe");
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  // What transformers' GPT2TokenizerFast converts these files to.
  const Json pipeline = {
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
  };
  const JsonAt p{pipeline, source, ""};
  auto impl = std::make_unique<TokenizerImpl>();
  impl->source = source;
  impl->pre_tokenizer = make_pre_tokenizer(p.child("pre_tokenizer"));
  impl->decoder = make_decoder(p.child("decoder"));
  impl->model = make_bpe(std::move(vocab), merges, BpeOptions{}, source);
  // "<|endoftext|>" stays a plain vocabulary entry (not an added token), as in the parity fixtures
  // built from these files; it is still the BOS/EOS token.
  if (impl->model->vocab().find("<|endoftext|>"))
    impl->config.bos_token = impl->config.eos_token = impl->config.unk_token = "<|endoftext|>";
  impl->finish({});
  return impl;
}

namespace {

// A special token given as "text" or as an AddedToken dict {"content": "text", ...}.
std::optional<std::string> token_text(const JsonAt& at) {
  if (at.value.is_null()) return std::nullopt;
  if (at.value.is_string()) return at.str();
  if (at.value.is_object()) return at.child("content").str();
  at.fail("a string or an object with \"content\"");
}

void read_chat_templates(const JsonAt& at, TokenizerConfig& config) {
  if (at.value.is_null()) return;
  if (at.value.is_string()) {
    config.chat_templates["default"] = at.str();
    return;
  }
  for (size_t i = 0; i < at.array().size(); ++i) {
    const JsonAt entry = at.at(i);
    config.chat_templates[entry.child("name").str()] = entry.child("template").str();
  }
}

}  // namespace

TokenizerConfig load_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig config;
  const auto config_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const Json doc = parse_json(read_text_file(config_path), config_path.string());
    const JsonAt c{doc, config_path.string(), ""};
    if (!doc.is_object()) c.fail("a JSON object");
    config.bos_token = token_text(c.child("bos_token"));
    config.eos_token = token_text(c.child("eos_token"));
    config.pad_token = token_text(c.child("pad_token"));
    config.unk_token = token_text(c.child("unk_token"));
    if (c.has("add_bos_token")) config.add_bos_token = c.child("add_bos_token").boolean();
    if (c.has("add_eos_token")) config.add_eos_token = c.child("add_eos_token").boolean();
    config.clean_up_tokenization_spaces = c.bool_or("clean_up_tokenization_spaces", false);
    if (c.has("model_max_length")) {
      const double n = c.child("model_max_length").number();
      // transformers writes 1e30 for "no limit".
      if (n > 0 && n < 1e15) config.model_max_length = static_cast<int64_t>(n);
    }
    read_chat_templates(c.child("chat_template"), config);
  }
  const auto map_path = dir / "special_tokens_map.json";
  if (std::filesystem::exists(map_path)) {
    const Json doc = parse_json(read_text_file(map_path), map_path.string());
    const JsonAt m{doc, map_path.string(), ""};
    if (!config.bos_token) config.bos_token = token_text(m.child("bos_token"));
    if (!config.eos_token) config.eos_token = token_text(m.child("eos_token"));
    if (!config.pad_token) config.pad_token = token_text(m.child("pad_token"));
    if (!config.unk_token) config.unk_token = token_text(m.child("unk_token"));
  }
  const auto chat_json = dir / "chat_template.json";
  if (std::filesystem::exists(chat_json)) {
    const Json doc = parse_json(read_text_file(chat_json), chat_json.string());
    read_chat_templates(JsonAt{doc, chat_json.string(), ""}.child("chat_template"), config);
  }
  const auto jinja = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja)) config.chat_templates["default"] = read_text_file(jinja);
  return config;
}

}  // namespace pagoda::tok
