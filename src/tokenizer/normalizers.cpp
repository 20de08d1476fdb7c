#include "tokenizer/normalizers.h"

#include <fmt/format.h>

#include <vector>

#include "pagoda/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string& s) const override { s = normalize_unicode(s, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = to_lowercase(s); }
};

// Removes leading/trailing White_Space.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t begin = 0, end = s.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!is_whitespace(next_code_point(s, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = 0;
        if (!is_whitespace(last_code_point(std::string_view(s).substr(0, end), &start))) break;
        end = start;
      }
    }
    s = s.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

template <typename Keep>
std::string filter_chars(std::string_view s, Keep keep) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const char32_t c = next_code_point(s, i);
    if (keep(c)) out.append(s.substr(start, i - start));
  }
  return out;
}

// Removes combining marks (unicode-normalization's is_combining_mark: general category M).
class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    s = filter_chars(s, [](char32_t c) { return c < 0x80 || !is_mark(c); });
  }
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& s) const override { s = pattern_.replace_all(s, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s = prepend_ + s;
  }

 private:
  std::string prepend_;
};

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        chinese_(chinese),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(std::string& s) const override {
    if (clean_text_ || chinese_) {
      std::string out;
      out.reserve(s.size());
      size_t i = 0;
      while (i < s.size()) {
        const size_t start = i;
        const char32_t c = next_code_point(s, i);
        if (clean_text_) {
          const bool tab_nl_cr = c == '\t' || c == '\n' || c == '\r';
          if (c == 0 || c == 0xFFFD || (!tab_nl_cr && is_other(c))) continue;
          if (tab_nl_cr || is_whitespace(c)) {
            out.push_back(' ');
            continue;
          }
        }
        if (chinese_ && is_chinese_char(c)) {
          out.push_back(' ');
          out.append(s, start, i - start);
          out.push_back(' ');
          continue;
        }
        out.append(s, start, i - start);
      }
      s = std::move(out);
    }
    if (strip_accents_) {
      s = filter_chars(normalize_unicode(s, NormalForm::NFD),
                       [](char32_t c) { return c < 0x80 || !is_mark_nonspacing(c); });
    }
    if (lowercase_) s = to_lowercase(s);
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& n : parts_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

// tokenizers' Replace/Split "pattern": {"String": "..."} or {"Regex": "..."}.
Pattern make_pattern(const JsonAt& at) {
  if (at.has("String")) return Pattern::literal(at.child("String").str());
  if (at.has("Regex")) return Pattern::regex(at.child("Regex").str(), at.source);
  at.fail("{\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> make_normalizer(const JsonAt& at) {
  if (at.value.is_null()) return nullptr;
  const std::string type = at.type();
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(at.bool_or("left", true), at.bool_or("right", true));
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(make_pattern(at.child("pattern")),
                                               at.child("content").str());
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(at.child("prepend").str());
  if (type == "BertNormalizer") {
    const bool lowercase = at.bool_or("lowercase", true);
    const bool strip = at.has("strip_accents") ? at.child("strip_accents").boolean() : lowercase;
    return std::make_unique<BertNormalizer>(
        at.bool_or("clean_text", true), at.bool_or("handle_chinese_chars", true), strip, lowercase);
  }
  if (type == "Precompiled") {
    const JsonAt map = at.child("precompiled_charsmap");
    if (map.value.is_null()) return make_precompiled_normalizer("", at.source);
    return make_precompiled_normalizer(
        base64_decode(map.str(), at.source + ": key '" + map.path + "'"), at.source);
  }
  if (type == "Sequence") {
    const JsonAt list = at.child("normalizers");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.array().size(); ++i) {
      auto n = make_normalizer(list.at(i));
      if (n) parts.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  unknown_type(at.child("type"), "normalizer", type);
}

}  // namespace pagoda::tok
