// Python's operators on template values: arithmetic, `~`, comparisons, `in`, and slicing.
#pragma once

#include <optional>
#include <string_view>

#include "jinja/value.h"

namespace pagoda::jinja {

// op is one of + - * / // % ** ~ == != < <= > >= in "not in". Raises RenderError as Python
// would (TypeError, ZeroDivisionError, UndefinedError for Undefined operands).
Value binary_operator(std::string_view op, const Value& left, const Value& right);
// Python `item in container`.
bool contains(const Value& container, const Value& item);
// Python sequence[start:stop:step] for str, list and tuple.
Value slice(const Value& sequence, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step);
// Raises UndefinedError (or SecurityError for refused methods) with the Undefined's message.
[[noreturn]] void fail_undefined(const Value& undefined);

}  // namespace pagoda::jinja
