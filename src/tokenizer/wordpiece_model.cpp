// WordPiece (tokenizers/src/models/wordpiece): greedy longest-prefix matching, continuation pieces
// carry "##"; a word with any unmatchable part, or longer than max_input_chars_per_word, is unk.
#include <fmt/format.h>

#include "pagoda/error.h"
#include "tokenizer/model_factories.h"
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

class WordPieceModel final : public Model {
 public:
  WordPieceModel(Vocab vocab, std::string unk, std::string prefix, size_t max_chars,
                 const std::string& source)
      : prefix_(std::move(prefix)), max_chars_(max_chars) {
    vocab_ = std::move(vocab);
    const auto id = vocab_.find(unk);
    PAGODA_CHECK(id.has_value(), InvalidFormat,
                 fmt::format("{}: WordPiece unk_token '{}' is not in model.vocab", source, unk),
                 "add the unk token to the vocabulary or set model.unk_token to a token it has");
    unk_id_ = *id;
  }

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    if (count_code_points(word) > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    const size_t first = out.size();
    thread_local std::string candidate;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      std::optional<int32_t> found;
      while (start < end) {
        candidate.clear();
        if (start > 0) candidate += prefix_;
        candidate.append(word.substr(start, end - start));
        found = vocab_.find(candidate);
        if (found) break;
        size_t last = 0;
        last_code_point(word.substr(0, end), &last);
        end = last;
      }
      if (!found) {
        out.resize(first);
        out.push_back(unk_id_);
        return;
      }
      out.push_back(*found);
      start = end;
    }
  }

 private:
  std::string prefix_;
  size_t max_chars_;
  int32_t unk_id_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(Vocab vocab, std::string unk, std::string prefix,
                                      size_t max_chars, const std::string& source) {
  return std::make_unique<WordPieceModel>(std::move(vocab), std::move(unk), std::move(prefix),
                                          max_chars, source);
}

}  // namespace pagoda::tok
