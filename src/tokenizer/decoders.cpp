#include "tokenizer/decoders.h"

#include <fmt/format.h>

#include "pagoda/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

// Byte-level stand-in characters back to bytes; a token with any other character keeps its UTF-8
// bytes. The whole output is one string, invalid UTF-8 replaced by U+FFFD.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      const size_t mark = bytes.size();
      size_t i = 0;
      bool ok = true;
      while (i < t.size()) {
        const int b = unicode_to_byte(next_code_point(t, i));
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!ok) {
        bytes.resize(mark);
        bytes.append(t);
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

enum class PrependScheme { Always, First, Never };

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, PrependScheme scheme) : rep_(std::move(rep)), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (t.find(rep_) == std::string::npos) continue;
      std::string out;
      out.reserve(t.size());
      for (size_t k = 0; k < t.size();) {
        if (t.compare(k, rep_.size(), rep_) == 0) {
          // tokenizers drops every replacement character of the first token, not only a leading
          // one.
          if (!(i == 0 && scheme_ != PrependScheme::Never)) out.push_back(' ');
          k += rep_.size();
        } else {
          out.push_back(t[k++]);
        }
      }
      t = std::move(out);
    }
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
};

// Runs of <0xXX> tokens become the UTF-8 text they spell, or one U+FFFD per byte if invalid.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&]() {
      if (pending_count == 0) return;
      if (is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending_count; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = parse_hex(t[3], t[4]);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parse_hex(char hi, char lo) {
    const int h = hex(hi), l = hex(lo);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of `content` from each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<size_t> bounds;  // code point start offsets, then t.size()
      std::vector<char32_t> chars;
      for (size_t i = 0; i < t.size();) {
        bounds.push_back(i);
        chars.push_back(next_code_point(t, i));
      }
      bounds.push_back(t.size());
      size_t begin = 0;
      while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
      size_t end = chars.size();
      for (size_t k = 0; k < stop_ && end > 0 && chars[end - 1] == content_; ++k) --end;
      t = end > begin ? t.substr(bounds[begin], bounds[end] - bounds[begin]) : std::string();
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

void replace_every(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(s, pos);
  s = std::move(out);
}

// tokenizers' wordpiece::cleanup: undo the spaces BERT-style tokenization put before punctuation.
void cleanup(std::string& s) {
  replace_every(s, " .", ".");
  replace_every(s, " ?", "?");
  replace_every(s, " !", "!");
  replace_every(s, " ,", ",");
  replace_every(s, " ' ", "'");
  replace_every(s, " n't", "n't");
  replace_every(s, " 'm", "'m");
  replace_every(s, " do not", " don't");
  replace_every(s, " 's", "'s");
  replace_every(s, " 've", "'ve");
  replace_every(s, " 're", "'re");
}

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        // replacen(prefix, "", 1): the first occurrence, wherever it is, when the token starts with
        // it.
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(0, prefix_.size());
        else
          t = " " + t;  // not insert(0, ...): GCC 12 warns falsely (-Wrestrict)
      }
      if (cleanup_) cleanup(t);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// "</w>"-style suffixes become spaces between words.
class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      replace_every(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

class CtcDecoder final : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;  // dedup consecutive repeats
      std::string t = tokens[i];
      replace_every(t, pad_, "");
      if (cleanup_) {
        cleanup(t);
        replace_every(t, delimiter_, " ");
      }
      if (!t.empty()) out.push_back(std::move(t));
    }
    tokens = std::move(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : parts_) d->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

char32_t single_char(const JsonAt& at, std::string_view fallback) {
  const std::string s = at.value.is_null() ? std::string(fallback) : at.str();
  if (s.empty() || count_code_points(s) != 1) at.fail("a single character");
  size_t i = 0;
  return next_code_point(s, i);
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const JsonAt& at) {
  if (at.value.is_null()) return nullptr;
  const std::string type = at.type();
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string rep;
    append_utf8(rep, single_char(at.child("replacement"), "\xE2\x96\x81"));
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
    } else if (at.has("add_prefix_space")) {
      scheme =
          at.child("add_prefix_space").boolean() ? PrependScheme::Always : PrependScheme::Never;
    }
    return std::make_unique<MetaspaceDecoder>(std::move(rep), scheme);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const int64_t start = at.int_or("start", 0), stop = at.int_or("stop", 0);
    if (start < 0) at.child("start").fail("a non-negative integer");
    if (stop < 0) at.child("stop").fail("a non-negative integer");
    return std::make_unique<StripDecoder>(single_char(at.child("content"), " "),
                                          static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(make_pattern(at.child("pattern")),
                                            at.child("content").str());
  if (type == "WordPiece")
    return std::make_unique<WordPieceDecoder>(at.str_or("prefix", "##"),
                                              at.bool_or("cleanup", true));
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(at.str_or("suffix", "</w>"));
  if (type == "CTC")
    return std::make_unique<CtcDecoder>(at.str_or("pad_token", "<pad>"),
                                        at.str_or("word_delimiter_token", "|"),
                                        at.bool_or("cleanup", true));
  if (type == "Sequence") {
    const JsonAt list = at.child("decoders");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list.array().size(); ++i) {
      auto d = make_decoder(list.at(i));
      if (d) parts.push_back(std::move(d));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  unknown_type(at.child("type"), "decoder", type);
}

}  // namespace pagoda::tok
