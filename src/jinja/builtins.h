// The builtin filters, tests, globals and Python methods that chat templates use, with jinja2's
// (and Python's) semantics.
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <vector>
#include <string_view>

#include "jinja/value.h"

namespace pagoda::jinja {

bool has_filter(std::string_view name);
bool has_test(std::string_view name);

// `value | name(args)`. Raises TemplateRuntimeError-like RenderError for unknown filters.
Value apply_filter(Interpreter& interp, std::string_view name, const Value& value, CallArgs& args);
// `value is name(args)`.
bool apply_test(Interpreter& interp, std::string_view name, const Value& value, CallArgs& args);

// A Python method of a str, list or dict (`text.strip()`, `d.items()`), bound to `object`, or an
// Undefined when the object has no such method. Methods that mutate lists and dicts are refused
// as jinja2's ImmutableSandboxedEnvironment refuses them: calling them raises SecurityError.
Value python_method(const Value& object, const std::string& name);

// jinja2's filters and Python's `%` formatting share this: `format % args`.
std::string percent_format(const std::string& format, const Value& args);

// The global functions transformers provides (raise_exception, strftime_now) and jinja2's
// (range, namespace, dict), added to `globals`. strftime_now formats `clock()` in local time.
void add_global_functions(Dict& globals, std::function<std::time_t()> clock);

// Reads call arguments by position or keyword, like a Python signature.
struct ArgReader {
  CallArgs& args;
  std::string function;  // for error messages
  // Argument `index` (positional) or keyword `name`; `fallback` when absent.
  Value get(size_t index, std::string_view name, Value fallback = Value()) const;
};

// markupsafe.escape(): & < > " ' as HTML entities.
std::string html_escape(const std::string& s);

// Python str.splitlines().
std::vector<std::string> split_lines(const std::string& s);

// Python json.dumps(value, ensure_ascii=False, indent, separators, sort_keys): transformers'
// tojson. `indent` is null (one line), an int or a string.
std::string json_dumps(const Value& value, const Value& indent, const Value& separators,
                       bool sort_keys, bool ensure_ascii = false);

}  // namespace pagoda::jinja
