#include "tokenizer/pre_tokenizers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "pagoda/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

// tokenizers' SplitDelimiterBehavior.
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const JsonAt& at) {
  const std::string b = at.str();
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  at.fail("one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

// Applies `behavior` to the match list (NormalizedString::split) and appends the non-empty pieces
// of `piece` to `out`.
void emit_split(const Piece& piece, std::vector<Match>& m, Behavior behavior,
                std::vector<Piece>& out) {
  struct Range {
    size_t start, end;
  };
  thread_local std::vector<Range> ranges;
  ranges.clear();
  switch (behavior) {
    case Behavior::Removed:
      for (const Match& x : m)
        if (!x.is_match) ranges.push_back({x.start, x.end});
      break;
    case Behavior::Isolated:
      for (const Match& x : m) ranges.push_back({x.start, x.end});
      break;
    case Behavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Match& x : m) {
        if (x.is_match && !previous_match && !ranges.empty())
          ranges.back().end = x.end;
        else
          ranges.push_back({x.start, x.end});
        previous_match = x.is_match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool previous_match = false;
      for (size_t k = m.size(); k-- > 0;) {
        const Match& x = m[k];
        if (x.is_match && !previous_match && !ranges.empty())
          ranges.back().start = x.start;
        else
          ranges.push_back({x.start, x.end});
        previous_match = x.is_match;
      }
      std::reverse(ranges.begin(), ranges.end());
      break;
    }
    case Behavior::Contiguous: {
      bool previous_match = false;
      for (const Match& x : m) {
        if (x.is_match == previous_match && !ranges.empty())
          ranges.back().end = x.end;
        else
          ranges.push_back({x.start, x.end});
        previous_match = x.is_match;
      }
      break;
    }
  }
  for (const Range& r : ranges) {
    if (r.end == r.start) continue;
    out.push_back(
        Piece{piece.text.substr(r.start, r.end - r.start), piece.at_start && r.start == 0});
  }
}

// Runs `split_one(piece, out)` on every piece.
template <typename F>
void split_all(std::vector<Piece>& pieces, F&& split_one) {
  thread_local std::vector<Piece> out;
  out.clear();
  for (const Piece& p : pieces) split_one(p, out);
  pieces.swap(out);
}

// Matches of single code points satisfying `pred`, as find_matches would give for a char pattern.
template <typename Pred>
void char_matches(std::string_view s, Pred pred, std::vector<Match>& m) {
  m.clear();
  if (s.empty()) {
    m.push_back({0, 0, false});
    return;
  }
  size_t prev = 0, i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const char32_t c = next_code_point(s, i);
    if (pred(c)) {
      if (prev != start) m.push_back({prev, start, false});
      m.push_back({start, i, true});
      prev = i;
    }
  }
  if (prev != s.size()) m.push_back({prev, s.size(), false});
}

template <typename Pred>
class CharSplit final : public PreTokenizer {
 public:
  CharSplit(Pred pred, Behavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      thread_local std::vector<Match> m;
      char_matches(p.text, pred_, m);
      emit_split(p, m, behavior_, out);
    });
  }

 private:
  Pred pred_;
  Behavior behavior_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, Behavior behavior) {
  return std::make_unique<CharSplit<Pred>>(pred, behavior);
}

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      thread_local std::vector<Match> m;
      pattern_.find_matches(p.text, m);
      if (invert_)
        for (Match& x : m) x.is_match = !x.is_match;
      emit_split(p, m, behavior_, out);
    });
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pattern, used when ByteLevel.use_regex is set.
constexpr std::string_view kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Splits with GPT-2's regex, then maps every byte to its printable stand-in character.
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& source)
      : add_prefix_space_(add_prefix_space),
        use_regex_(use_regex),
        pattern_(Pattern::regex(kByteLevelPattern, source)) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    const auto& map = byte_to_unicode();
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      thread_local std::string prefixed;
      std::string_view text = p.text;
      if (add_prefix_space_ && (text.empty() || text[0] != ' ')) {
        prefixed.resize(text.size() + 1);
        prefixed[0] = ' ';
        std::copy(text.begin(), text.end(), prefixed.begin() + 1);
        text = prefixed;
      }
      auto emit = [&](size_t start, size_t end) {
        if (end == start) return;
        Piece piece{std::string(), p.at_start && start == 0};
        piece.text.reserve((end - start) * 2);
        for (size_t k = start; k < end; ++k)
          piece.text.append(map[static_cast<unsigned char>(text[k])]);
        out.push_back(std::move(piece));
      };
      if (!use_regex_) {
        emit(0, text.size());
        return;
      }
      thread_local std::vector<Match> m;
      pattern_.find_matches(text, m);
      for (const Match& x : m) emit(x.start, x.end);
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
  Pattern pattern_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    append_utf8(rep_, replacement);
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      Piece q{std::string(), p.at_start};
      q.text.reserve(p.text.size() + 8);
      for (char ch : p.text) {
        if (ch == ' ')
          q.text.append(rep_);
        else
          q.text.push_back(ch);
      }
      const bool starts_with_rep = q.text.compare(0, rep_.size(), rep_) == 0;
      if (!starts_with_rep &&
          (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && p.at_start)))
        q.text = rep_ + q.text;  // not insert(0, ...): GCC 12 warns falsely (-Wrestrict)
      if (!split_) {
        if (!q.text.empty()) out.push_back(std::move(q));
        return;
      }
      thread_local std::vector<Match> m;
      char_matches(
          q.text, [&](char32_t c) { return c == replacement_; }, m);
      emit_split(q, m, Behavior::MergedWithNext, out);
    });
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
  bool split_;
  std::string rep_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool is_bert_punctuation(char32_t c) {
  return (c < 0x80 && std::ispunct(static_cast<int>(c))) || is_punctuation(c);
}

// BertPreTokenizer: split on whitespace (removed), then isolate each punctuation character.
class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    whitespace_->pre_tokenize(pieces);
    punctuation_->pre_tokenize(pieces);
  }

 private:
  std::unique_ptr<PreTokenizer> whitespace_ = char_split(&is_whitespace, Behavior::Removed);
  std::unique_ptr<PreTokenizer> punctuation_ = char_split(&is_bert_punctuation, Behavior::Isolated);
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonAt& at) {
  if (at.value.is_null()) return nullptr;
  const std::string type = at.type();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(at.bool_or("add_prefix_space", true),
                                                   at.bool_or("use_regex", true), at.source);
  if (type == "Split")
    return std::make_unique<SplitPreTokenizer>(make_pattern(at.child("pattern")),
                                               parse_behavior(at.child("behavior")),
                                               at.bool_or("invert", false));
  if (type == "Metaspace") {
    const std::string rep = at.str_or("replacement", "\xE2\x96\x81");
    if (rep.empty() || count_code_points(rep) != 1)
      at.child("replacement").fail("a single character");
    size_t i = 0;
    const char32_t c = next_code_point(rep, i);
    PrependScheme scheme = PrependScheme::Always;
    if (at.has("prepend_scheme")) {
      const std::string s = at.child("prepend_scheme").str();
      if (s == "always")
        scheme = PrependScheme::Always;
      else if (s == "first")
        scheme = PrependScheme::First;
      else if (s == "never")
        scheme = PrependScheme::Never;
      else
        at.child("prepend_scheme").fail("one of \"always\", \"first\", \"never\"");
    } else if (at.has("add_prefix_space")) {  // files saved before prepend_scheme existed
      scheme =
          at.child("add_prefix_space").boolean() ? PrependScheme::Always : PrependScheme::Never;
    }
    return std::make_unique<MetaspacePreTokenizer>(c, scheme, at.bool_or("split", true));
  }
  if (type == "Whitespace") {
    // tokenizers: regex \w+|[^\w\s]+, keeping only the matches.
    return std::make_unique<SplitPreTokenizer>(Pattern::regex(R"(\w+|[^\w\s]+)", at.source),
                                               Behavior::Removed, true);
  }
  if (type == "WhitespaceSplit") return char_split(&is_whitespace, Behavior::Removed);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Punctuation") {
    const Behavior b =
        at.has("behavior") ? parse_behavior(at.child("behavior")) : Behavior::Isolated;
    return char_split(&is_bert_punctuation, b);
  }
  if (type == "Digits") {
    const bool individual = at.bool_or("individual_digits", false);
    return char_split(&is_numeric, individual ? Behavior::Isolated : Behavior::Contiguous);
  }
  if (type == "Sequence") {
    const JsonAt list = at.child("pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.array().size(); ++i) {
      auto p = make_pre_tokenizer(list.at(i));
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  unknown_type(at.child("type"), "pre-tokenizer", type);
}

}  // namespace pagoda::tok
