// Splits a Jinja template into tokens the way jinja2's lexer does with transformers' settings
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False): whitespace control (`-`,
// `+`) and both options are applied here, so the parser sees final text pieces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

enum class TokenType {
  Text,        // template data, already whitespace-controlled
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,  // value holds the decoded string
  Int,
  Float,
  Operator,  // value holds the operator: "+", "//", "==", "(", ...
  Eof,
};

struct Token {
  TokenType type;
  std::string value;
  int line = 1;
  int column = 1;
};

// Throws SyntaxError (errors.h) on an unterminated tag, comment or string or an unknown character.
std::vector<Token> tokenize(std::string_view source);

// jinja2's newline handling: \r\n and \r become \n, and one trailing newline is dropped.
std::string normalize_source(std::string_view source);

}  // namespace pagoda::jinja
