#include "jinja/lexer.h"

#include <cctype>

#include "jinja/errors.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src.size(); ++i)
      if (src[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t start = find_tag(pos);
      std::string text(src_.substr(pos, (start == std::string_view::npos ? src_.size() : start) - pos));
      if (start == std::string_view::npos) {
        emit_text(std::move(text), pos);
        break;
      }
      char kind = src_[start + 1];  // '{', '%' or '#'
      char modifier = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (modifier != '+' && kind != '{') {
        // lstrip_blocks: drop spaces and tabs between the line start and a block or comment tag.
        size_t line_pos = text.rfind('\n');
        line_pos = line_pos == std::string::npos ? 0 : line_pos + 1;
        if (line_pos > 0 || line_starting) {
          bool blank = true;
          for (size_t i = line_pos; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t') blank = false;
          if (blank) text.resize(line_pos);
        }
      }
      emit_text(std::move(text), pos);
      size_t inner = start + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", inner);
        if (end == std::string_view::npos) throw error("missing end of comment tag '#}'", start);
        char before = end > inner ? src_[end - 1] : '\0';
        pos = after_tag_end(end + 2, before, /*trim_newline=*/true);
      } else if (kind == '%' && is_raw_begin(inner, &pos)) {
        pos = lex_raw(pos, start);
      } else {
        pos = lex_tag(kind, start, inner);
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    tokens_.push_back(Token{TokenType::Eof, "", line_of(src_.size()), column_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    size_t i = src_.find('{', from);
    while (i != std::string_view::npos && i + 1 < src_.size()) {
      char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
      i = src_.find('{', i + 1);
    }
    return std::string_view::npos;
  }

  // Position after a tag ending at `end` (just past `%}`, `}}` or `#}`), applying `-` (strip all
  // whitespace after), `+` (keep) or trim_blocks (drop one newline).
  size_t after_tag_end(size_t end, char before, bool trim_newline) const {
    if (before == '-') {
      while (end < src_.size() && is_ws(src_[end])) ++end;
    } else if (before != '+' && trim_newline && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    return end;
  }

  void emit_text(std::string text, size_t pos) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenType::Text, std::move(text), line_of(pos), column_of(pos)});
  }

  bool is_raw_begin(size_t inner, size_t* after) const {
    size_t i = inner;
    while (i < src_.size() && is_ws(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0) return false;
    i += 3;
    if (i < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i])) || src_[i] == '_'))
      return false;
    while (i < src_.size() && is_ws(src_[i])) ++i;
    if (src_.compare(i, 3, "-%}") == 0) {
      i += 3;
      while (i < src_.size() && is_ws(src_[i])) ++i;
    } else if (src_.compare(i, 2, "%}") == 0) {
      i += 2;
    } else {
      return false;
    }
    *after = i;
    return true;
  }

  // Body of {% raw %}: text up to {% endraw %}, emitted verbatim.
  size_t lex_raw(size_t pos, size_t tag_start) {
    size_t search = pos;
    while (true) {
      size_t start = src_.find("{%", search);
      if (start == std::string_view::npos) throw error("missing {% endraw %} for this raw block", tag_start);
      size_t i = start + 2;
      char modifier = i < src_.size() ? src_[i] : '\0';
      if (modifier == '-' || modifier == '+') ++i;
      while (i < src_.size() && is_ws(src_[i])) ++i;
      if (src_.compare(i, 6, "endraw") != 0) {
        search = start + 2;
        continue;
      }
      i += 6;
      while (i < src_.size() && is_ws(src_[i])) ++i;
      char before = '\0';
      if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) before = src_[i++];
      if (src_.compare(i, 2, "%}") != 0) throw error("expected '%}' after 'endraw'", i);
      std::string text(src_.substr(pos, start - pos));
      if (modifier == '-')
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      emit_text(std::move(text), pos);
      return after_tag_end(i + 2, before, true);
    }
  }

  size_t lex_tag(char kind, size_t start, size_t pos) {
    bool is_var = kind == '{';
    tokens_.push_back(Token{is_var ? TokenType::VarBegin : TokenType::BlockBegin, "",
                            line_of(start), column_of(start)});
    int depth = 0;  // open brackets: a closing delimiter inside them is an operator (`{{ {'a': {}} }}`)
    while (true) {
      while (pos < src_.size() && is_ws(src_[pos])) ++pos;
      if (pos >= src_.size())
        throw error(std::string("missing end of ") + (is_var ? "print tag '}}'" : "block tag '%}'"), start);
      if (depth == 0) {
        char c = src_[pos];
        char before = '\0';
        size_t p = pos;
        if ((c == '-' || c == '+') && p + 1 < src_.size()) {
          before = c;
          ++p;
        }
        if (is_var && src_.compare(p, 2, "}}") == 0 && before != '+') {
          tokens_.push_back(Token{TokenType::VarEnd, "", line_of(pos), column_of(pos)});
          return after_tag_end(p + 2, before, /*trim_newline=*/false);
        }
        if (!is_var && src_.compare(p, 2, "%}") == 0) {
          tokens_.push_back(Token{TokenType::BlockEnd, "", line_of(pos), column_of(pos)});
          return after_tag_end(p + 2, before, /*trim_newline=*/true);
        }
      }
      pos = lex_expression_token(pos, &depth);
    }
  }

  size_t lex_expression_token(size_t pos, int* depth) {
    char c = src_[pos];
    int line = line_of(pos), col = column_of(pos);
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos;
      while (end < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
        ++end;
      tokens_.push_back(Token{TokenType::Name, std::string(src_.substr(pos, end - pos)), line, col});
      return end;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(pos);
    if (c == '\'' || c == '"') return lex_string(pos);
    static const char* two_char[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two_char) {
      if (src_.compare(pos, 2, op) == 0) {
        tokens_.push_back(Token{TokenType::Operator, op, line, col});
        return pos + 2;
      }
    }
    static const std::string_view single = "+-*/%~<>=()[]{},.:|;";
    if (single.find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++*depth;
      if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
      tokens_.push_back(Token{TokenType::Operator, std::string(1, c), line, col});
      return pos + 1;
    }
    throw error(std::string("unexpected character '") + c + "'", pos);
  }

  size_t lex_number(size_t pos) {
    int line = line_of(pos), col = column_of(pos);
    auto digits = [&](size_t p) {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
      return p;
    };
    size_t end = digits(pos);
    bool is_float = false;
    // `foo.0.1` is attribute access, not a float: a number right after '.' stays an integer.
    bool after_dot = !tokens_.empty() && tokens_.back().type == TokenType::Operator &&
                     tokens_.back().value == ".";
    if (!after_dot && end + 1 < src_.size() && src_[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      end = digits(end + 1);
      is_float = true;
    }
    if (!after_dot && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t p = end + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        end = digits(p);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = pos; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back(Token{is_float ? TokenType::Float : TokenType::Int, text, line, col});
    return end;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A string literal, decoded like Python's unicode-escape codec (what jinja2 applies).
  size_t lex_string(size_t pos) {
    int line = line_of(pos), col = column_of(pos);
    char quote = src_[pos];
    std::string out;
    size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) throw error("unterminated string literal", pos);
      char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) throw error("unterminated string literal", pos);
      char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          char32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            int h = i + k < src_.size() ? hex_value(src_[i + k]) : -1;
            if (h < 0) throw error(std::string("truncated \\") + e + " escape in string literal", i - 2);
            cp = cp * 16 + static_cast<char32_t>(h);
          }
          if (cp > 0x10FFFF) throw error("escape outside the Unicode range in string literal", i - 2);
          i += n;
          utf8::append(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i)
              cp = cp * 8 + static_cast<char32_t>(src_[i] - '0');
            utf8::append(out, cp);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back(Token{TokenType::String, std::move(out), line, col});
    return i + 1;
  }

  int line_of(size_t pos) const {
    size_t lo = 0, hi = line_starts_.size();
    while (hi - lo > 1) {
      size_t mid = (lo + hi) / 2;
      if (line_starts_[mid] <= pos) lo = mid; else hi = mid;
    }
    return static_cast<int>(lo) + 1;
  }
  int column_of(size_t pos) const {
    return static_cast<int>(pos - line_starts_[static_cast<size_t>(line_of(pos)) - 1]) + 1;
  }
  SyntaxError error(const std::string& message, size_t pos) const {
    return SyntaxError(message, line_of(pos), column_of(pos));
  }

  std::string_view src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace pagoda::jinja
