// Builds the model a tokenizer.json "model" object describes.
#include <fmt/format.h>

#include "pagoda/error.h"
#include "tokenizer/model_factories.h"
#include "tokenizer/models.h"

namespace pagoda::tok {

void Vocab::add(std::string token, int32_t id) {
  // Ids index a table; an absurd id in a corrupt file must not allocate gigabytes.
  PAGODA_CHECK(id >= 0 && id < kMaxTokenId, InvalidFormat,
               fmt::format("token '{}' has id {}, outside 0..{}", token, id, kMaxTokenId - 1),
               "the tokenizer file is corrupt; re-download it");
  const auto index = static_cast<size_t>(id);
  if (index >= tokens_.size()) {
    tokens_.resize(index + 1);
    present_.resize(index + 1, false);
  }
  tokens_[index] = token;
  present_[index] = true;
  ids_.insert_or_assign(std::move(token), id);
}

namespace {

std::vector<std::pair<std::string, int32_t>> read_vocab_object(const JsonAt& at) {
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(at.object().size());
  for (const auto& [token, id] : at.object()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      at.child(token).fail("a non-negative integer id");
    out.emplace_back(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  return out;
}

Vocab to_vocab(std::vector<std::pair<std::string, int32_t>> entries) {
  Vocab v;
  for (auto& [t, id] : entries) v.add(std::move(t), id);
  return v;
}

std::vector<std::pair<std::string, std::string>> read_merges(const JsonAt& at) {
  std::vector<std::pair<std::string, std::string>> merges;
  if (at.value.is_null()) return merges;
  const auto& list = at.array();
  merges.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& m = list[i];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        at.at(i).fail("\"a b\" (two tokens separated by one space)");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      at.at(i).fail("a string \"a b\" or a pair [\"a\", \"b\"]");
    }
  }
  return merges;
}

}  // namespace

std::unique_ptr<Model> make_model(const JsonAt& at) {
  if (!at.value.is_object()) at.fail("an object");
  // Old files omit "type"; tell the model apart by its keys as tokenizers' untagged form does.
  std::string type;
  if (at.has("type")) {
    type = at.child("type").str();
  } else if (at.has("merges")) {
    type = "BPE";
  } else if (at.has("continuing_subword_prefix") || at.has("max_input_chars_per_word")) {
    type = "WordPiece";
  } else if (at.child("vocab").value.is_array()) {
    type = "Unigram";
  } else {
    type = "WordLevel";
  }
  if (type == "BPE") {
    BpeOptions o;
    o.unk_token = at.opt_str("unk_token");
    o.continuing_subword_prefix = at.str_or("continuing_subword_prefix", "");
    o.end_of_word_suffix = at.str_or("end_of_word_suffix", "");
    o.fuse_unk = at.bool_or("fuse_unk", false);
    o.byte_fallback = at.bool_or("byte_fallback", false);
    o.ignore_merges = at.bool_or("ignore_merges", false);
    return make_bpe(read_vocab_object(at.child("vocab")), read_merges(at.child("merges")),
                    std::move(o), at.source);
  }
  if (type == "WordPiece") {
    const int64_t max_chars = at.int_or("max_input_chars_per_word", 100);
    if (max_chars < 0) at.child("max_input_chars_per_word").fail("a non-negative integer");
    return make_wordpiece(
        to_vocab(read_vocab_object(at.child("vocab"))), at.str_or("unk_token", "[UNK]"),
        at.str_or("continuing_subword_prefix", "##"), static_cast<size_t>(max_chars), at.source);
  }
  if (type == "WordLevel")
    return make_wordlevel(to_vocab(read_vocab_object(at.child("vocab"))), at.opt_str("unk_token"),
                          at.source);
  if (type == "Unigram") {
    const JsonAt vocab = at.child("vocab");
    std::vector<std::pair<std::string, double>> pieces;
    pieces.reserve(vocab.array().size());
    for (size_t i = 0; i < vocab.array().size(); ++i) {
      const JsonAt e = vocab.at(i);
      if (!e.value.is_array() || e.value.size() != 2) e.fail("a pair [piece, score]");
      pieces.emplace_back(e.at(0).str(), e.at(1).number());
    }
    std::optional<int64_t> unk_id;
    if (at.has("unk_id")) unk_id = at.child("unk_id").integer();
    return make_unigram(std::move(pieces), unk_id, at.bool_or("byte_fallback", false), at.source);
  }
  unknown_type(at.child("type"), "model", type);
}

}  // namespace pagoda::tok
