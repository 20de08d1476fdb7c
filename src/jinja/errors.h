// Errors raised while a template renders. They carry the Python exception class jinja2 would
// raise (TypeError, UndefinedError, TemplateError, SecurityError, ...) so messages read the same;
// ChatTemplate turns them into pagoda::Error with the template name, line and column.
#pragma once

#include <stdexcept>
#include <string>

namespace pagoda::jinja {

class RenderError : public std::runtime_error {
 public:
  RenderError(std::string type, const std::string& message)
      : std::runtime_error(message), type_(std::move(type)) {}
  // "TypeError", "UndefinedError", "TemplateError" (raise_exception), "SecurityError", ...
  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

[[noreturn]] inline void fail(std::string type, const std::string& message) {
  throw RenderError(std::move(type), message);
}

// A syntax error found while lexing or parsing, at a 1-based line and column.
class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(const std::string& message, int line, int column)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

}  // namespace pagoda::jinja
