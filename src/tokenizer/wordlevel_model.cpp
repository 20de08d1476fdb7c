// WordLevel (tokenizers/src/models/wordlevel): a word is one vocabulary entry or unk.
#include <fmt/format.h>

#include "pagoda/error.h"
#include "tokenizer/model_factories.h"

namespace pagoda::tok {
namespace {

class WordLevelModel final : public Model {
 public:
  WordLevelModel(Vocab vocab, std::optional<std::string> unk) : unk_(std::move(unk)) {
    vocab_ = std::move(vocab);
    if (unk_) unk_id_ = vocab_.find(*unk_);
  }
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    if (auto id = vocab_.find(word)) {
      out.push_back(*id);
      return;
    }
    PAGODA_CHECK(
        unk_id_.has_value(), InvalidArgument,
        fmt::format(
            "WordLevel: word '{}' is not in the vocabulary and unk_token '{}' is not either", word,
            unk_.value_or("")),
        "use a tokenizer whose WordLevel model has an unk_token in its vocabulary");
    out.push_back(*unk_id_);
  }

 private:
  std::optional<std::string> unk_;
  std::optional<int32_t> unk_id_;
};

}  // namespace

std::unique_ptr<Model> make_wordlevel(Vocab vocab, std::optional<std::string> unk,
                                      const std::string&) {
  return std::make_unique<WordLevelModel>(std::move(vocab), std::move(unk));
}

}  // namespace pagoda::tok
