// Unigram (tokenizers/src/models/unigram): Viterbi over every vocabulary piece that starts at each
// character (a byte trie gives the prefixes); characters no piece covers score min_score - 10 as
// unk, and consecutive unks fuse into one. Pieces outside the vocabulary fall back to <0xXX> byte
// tokens when byte_fallback is set.
#include <fmt/format.h>

#include <array>
#include <limits>

#include "pagoda/error.h"
#include "tokenizer/byte_trie.h"
#include "tokenizer/model_factories.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

class UnigramModel final : public Model {
 public:
  UnigramModel(std::vector<std::pair<std::string, double>> pieces, std::optional<int64_t> unk_id,
               bool byte_fallback, const std::string& source)
      : byte_fallback_(byte_fallback) {
    if (unk_id) {
      PAGODA_CHECK(*unk_id >= 0 && static_cast<size_t>(*unk_id) < pieces.size(), InvalidFormat,
                   fmt::format("{}: model.unk_id {} is outside the vocabulary of {} pieces", source,
                               *unk_id, pieces.size()),
                   "fix model.unk_id");
      unk_id_ = static_cast<int32_t>(*unk_id);
    }
    scores_.reserve(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) {
      auto& [piece, score] = pieces[i];
      min_score_ = std::min(min_score_, score);
      scores_.push_back(score);
      trie_.insert(piece, static_cast<int32_t>(i));
      vocab_.add(std::move(piece), static_cast<int32_t>(i));
    }
    for (int b = 0; b < 256; ++b) {
      auto id = vocab_.find(fmt::format("<0x{:02X}>", b));
      byte_ids_[b] = id ? *id : -1;
    }
  }

  void tokenize(std::string_view s, std::vector<int32_t>& out) const override {
    struct Node {
      double score = 0;
      int64_t start = -1;  // -1: not reached
      int32_t id = -1;
    };
    thread_local std::vector<Node> best;
    best.assign(s.size() + 1, Node{});
    best[0].start = 0;
    const double unk_score = min_score_ - 10.0;
    size_t pos = 0;
    while (pos < s.size()) {
      const double base = best[pos].score;
      const size_t char_len =
          std::min(utf8_len(static_cast<unsigned char>(s[pos])), s.size() - pos);
      bool single_char = false;
      trie_.prefixes(s.substr(pos), [&](size_t len, int32_t id) {
        Node& target = best[pos + len];
        const double cand = base + scores_[static_cast<size_t>(id)];
        if (target.start < 0 || cand > target.score) target = {cand, static_cast<int64_t>(pos), id};
        if (len == char_len) single_char = true;
      });
      if (!single_char) {
        PAGODA_CHECK(unk_id_.has_value(), InvalidArgument,
                     fmt::format("Unigram: no piece covers '{}' and the model has no unk_id",
                                 s.substr(pos, char_len)),
                     "use a tokenizer whose Unigram model sets unk_id");
        Node& target = best[pos + char_len];
        const double cand = base + unk_score;
        if (target.start < 0 || cand > target.score)
          target = {cand, static_cast<int64_t>(pos), *unk_id_};
      }
      pos += char_len;
    }
    // Walk back, fusing consecutive unks into one piece.
    thread_local std::vector<std::pair<size_t, size_t>> spans;  // reversed [start, end)
    spans.clear();
    size_t end = s.size();
    bool prev_unk = false;
    while (end > 0) {
      const Node& n = best[end];
      const auto start = static_cast<size_t>(n.start);
      const bool unk = unk_id_ && n.id == *unk_id_;
      if (unk && prev_unk)
        spans.back().first = start;
      else
        spans.emplace_back(start, end);
      prev_unk = unk;
      end = start;
    }
    for (size_t k = spans.size(); k-- > 0;) {
      const std::string_view piece = s.substr(spans[k].first, spans[k].second - spans[k].first);
      if (auto id = vocab_.find(piece)) {
        out.push_back(*id);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (char b : piece) all &= byte_ids_[static_cast<unsigned char>(b)] >= 0;
        if (all) {
          for (char b : piece) out.push_back(byte_ids_[static_cast<unsigned char>(b)]);
          continue;
        }
      }
      PAGODA_CHECK(
          unk_id_.has_value(), InvalidArgument,
          fmt::format("Unigram: piece '{}' is not in the vocabulary and the model has no unk_id",
                      piece),
          "use a tokenizer whose Unigram model sets unk_id");
      out.push_back(*unk_id_);
    }
  }

 private:
  bool byte_fallback_;
  std::optional<int32_t> unk_id_;
  double min_score_ = std::numeric_limits<double>::infinity();
  std::vector<double> scores_;
  ByteTrie trie_;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Model> make_unigram(std::vector<std::pair<std::string, double>> pieces,
                                    std::optional<int64_t> unk_id, bool byte_fallback,
                                    const std::string& source) {
  return std::make_unique<UnigramModel>(std::move(pieces), unk_id, byte_fallback, source);
}

}  // namespace pagoda::tok
