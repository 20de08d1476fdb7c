// Builds the AST from tokens, following jinja2's grammar and operator precedence. Like jinja2, a
// filter or test name that does not exist is a syntax error, except inside {% if %} branches and
// conditional expressions, where jinja2 defers it to the moment it is evaluated.
#pragma once

#include <string_view>

#include "jinja/ast.h"

namespace pagoda::jinja {

// Throws SyntaxError (errors.h).
Template parse_template(std::string_view source);

}  // namespace pagoda::jinja
