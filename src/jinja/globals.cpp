// Global functions: jinja2's range/namespace/dict and transformers' raise_exception/strftime_now.
#include <fmt/format.h>
#include <ctime>

#include "jinja/builtins.h"
#include "jinja/errors.h"

namespace pagoda::jinja {
namespace {

int64_t range_arg(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  fail("TypeError", fmt::format("'{}' object cannot be interpreted as an integer", v.type_name()));
}

// The sandbox caps range() at 100000 items (MAX_RANGE) so a template cannot exhaust memory.
constexpr int64_t kMaxRange = 100000;

Value range(Interpreter&, CallArgs& a) {
  const auto& p = a.positional;
  if (p.empty() || p.size() > 3) fail("TypeError", "range expected 1 to 3 arguments, got " + std::to_string(p.size()));
  int64_t start = 0, stop = 0, step = 1;
  if (p.size() == 1) {
    stop = range_arg(p[0]);
  } else {
    start = range_arg(p[0]);
    stop = range_arg(p[1]);
    if (p.size() == 3) step = range_arg(p[2]);
  }
  if (step == 0) fail("ValueError", "range() arg 3 must not be zero");
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange)
      fail("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.emplace_back(i);
  }
  return Value::list(std::move(out));
}

Dict dict_from_args(CallArgs& a, const char* fn) {
  Dict d;
  if (a.positional.size() > 1) fail("TypeError", std::string(fn) + " expected at most 1 positional argument");
  if (a.positional.size() == 1) {
    const Value& init = a.positional[0];
    if (init.is_dict() && !init.is_namespace()) {
      d = init.as_dict();
    } else if (init.is_list()) {
      for (const auto& pair : init.as_list()) {
        if (!pair.is_list() || pair.as_list().size() != 2)
          fail("ValueError", std::string(fn) + " sequence elements must be pairs");
        d.set(pair.as_list()[0], pair.as_list()[1]);
      }
    } else {
      fail("TypeError", fmt::format("'{}' object is not iterable", init.type_name()));
    }
  }
  for (auto& [k, v] : a.keyword) d.set(k, v);
  return d;
}

}  // namespace

void add_global_functions(Dict& globals, std::function<std::time_t()> clock) {
  globals.set("range", Value::callable("range", range));
  globals.set("dict", Value::callable("dict", [](Interpreter&, CallArgs& a) {
                return Value::dict(dict_from_args(a, "dict"));
              }));
  globals.set("namespace", Value::callable("namespace", [](Interpreter&, CallArgs& a) {
                return Value::namespace_object(dict_from_args(a, "namespace"));
              }));
  globals.set("raise_exception", Value::callable("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
                std::string message = ArgReader{a, "raise_exception"}.get(0, "message").str();
                fail("TemplateError", message);
              }));
  globals.set("strftime_now", Value::callable("strftime_now", [clock](Interpreter&, CallArgs& a) {
                Value fmt = ArgReader{a, "strftime_now"}.get(0, "format");
                if (!fmt.is_string()) fail("TypeError", "strftime_now() argument must be str, not " + fmt.type_name());
                std::time_t now = clock ? clock() : std::time(nullptr);
                std::tm tm{};
                localtime_r(&now, &tm);
                if (fmt.as_string().empty()) return Value("");
                std::string buf(256 + fmt.as_string().size() * 8, '\0');
                size_t n = std::strftime(buf.data(), buf.size(), fmt.as_string().c_str(), &tm);
                buf.resize(n);
                return Value(std::move(buf));
              }));
}

}  // namespace pagoda::jinja
