// Tokenization models (tokenizers/src/models): turn one pre-tokenized word into ids.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/json_util.h"

namespace pagoda::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Largest vocabularies are ~1M tokens; ids beyond this are treated as corruption.
constexpr int32_t kMaxTokenId = 1 << 26;

// token <-> id, ids possibly sparse.
class Vocab {
 public:
  void add(std::string token, int32_t id);
  std::optional<int32_t> find(std::string_view token) const {
    auto it = ids_.find(token);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[static_cast<size_t>(id)])
      return nullptr;
    return &tokens_[static_cast<size_t>(id)];
  }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }  // max id + 1
  const StringIdMap& map() const { return ids_; }

 private:
  StringIdMap ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `word` (non-empty) to `out`.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  const Vocab& vocab() const { return vocab_; }

 protected:
  Vocab vocab_;
};

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

std::unique_ptr<Model> make_bpe(std::vector<std::pair<std::string, int32_t>> vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                BpeOptions options, const std::string& source);
// The "model" object of tokenizer.json.
std::unique_ptr<Model> make_model(const JsonAt& at);

}  // namespace pagoda::tok
