#include "jinja/operators.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {

void fail_undefined(const Value& undefined) {
  const std::string& m = undefined.undefined_message();
  if (m.rfind("access to attribute", 0) == 0) fail("SecurityError", m);
  fail("UndefinedError", m.empty() ? "value is undefined" : m);
}

namespace {

int64_t as_integer(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

[[noreturn]] void unsupported(std::string_view op, const Value& l, const Value& r) {
  fail("TypeError", "unsupported operand type(s) for " + std::string(op) + ": '" + l.type_name() +
                        "' and '" + r.type_name() + "'");
}

// Python ints are unbounded; templates never need more than 64 bits, so overflow is an error
// rather than undefined behaviour.
void check_overflow(bool overflowed) {
  if (overflowed) fail("OverflowError", "integer result does not fit in 64 bits");
}

int64_t floor_div(int64_t a, int64_t b) {
  if (a == INT64_MIN && b == -1) fail("OverflowError", "integer result does not fit in 64 bits");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value repeat(const Value& seq, int64_t n) {
  if (seq.is_string()) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  ValueList out;
  for (int64_t i = 0; i < n; ++i)
    out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return seq.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

Value arithmetic(std::string_view op, const Value& l, const Value& r) {
  bool ints = (l.is_int() || l.is_bool()) && (r.is_int() || r.is_bool());
  if (op == "+") {
    if (l.is_number() && r.is_number()) {
      if (ints) {
        int64_t out = 0;
        check_overflow(__builtin_add_overflow(as_integer(l), as_integer(r), &out));
        return Value(out);
      }
      return Value(l.to_double() + r.to_double());
    }
    if (l.is_string() && r.is_string() && (l.is_markup() || r.is_markup())) {
      // Markup + str escapes the plain operand (markupsafe), in either order.
      std::string a = l.is_markup() ? l.as_string() : html_escape(l.as_string());
      std::string b = r.is_markup() ? r.as_string() : html_escape(r.as_string());
      return Value::markup(a + b);
    }
    if (l.is_string()) {
      if (!r.is_string())
        fail("TypeError", "can only concatenate str (not \"" + r.type_name() + "\") to str");
      return Value(l.as_string() + r.as_string());
    }
    if (l.is_list() && r.is_list() && l.is_tuple() == r.is_tuple()) {
      ValueList out = l.as_list();
      out.insert(out.end(), r.as_list().begin(), r.as_list().end());
      return l.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    }
    if (l.is_list())
      fail("TypeError", "can only concatenate " + l.type_name() + " (not \"" + r.type_name() +
                            "\") to " + l.type_name());
    unsupported(op, l, r);
  }
  if (op == "*") {
    if (l.is_number() && r.is_number()) {
      if (ints) {
        int64_t out = 0;
        check_overflow(__builtin_mul_overflow(as_integer(l), as_integer(r), &out));
        return Value(out);
      }
      return Value(l.to_double() * r.to_double());
    }
    if ((l.is_string() || l.is_list()) && (r.is_int() || r.is_bool())) return repeat(l, as_integer(r));
    if ((r.is_string() || r.is_list()) && (l.is_int() || l.is_bool())) return repeat(r, as_integer(l));
    unsupported(op, l, r);
  }
  if (op == "%" && l.is_string()) return Value(percent_format(l.as_string(), r));
  if (!l.is_number() || !r.is_number()) unsupported(op, l, r);
  if (op == "-") {
    if (ints) {
      int64_t out = 0;
      check_overflow(__builtin_sub_overflow(as_integer(l), as_integer(r), &out));
        return Value(out);
    }
    return Value(l.to_double() - r.to_double());
  }
  if (op == "/") {
    if (r.to_double() == 0.0) fail("ZeroDivisionError", "division by zero");
    return Value(l.to_double() / r.to_double());
  }
  if (op == "//") {
    if (r.to_double() == 0.0) fail("ZeroDivisionError", "integer division or modulo by zero");
    if (ints) return Value(floor_div(as_integer(l), as_integer(r)));
    return Value(std::floor(l.to_double() / r.to_double()));
  }
  if (op == "%") {
    if (r.to_double() == 0.0) fail("ZeroDivisionError", "integer modulo by zero");
    if (ints) {
      int64_t a = as_integer(l), b = as_integer(r);
      if (b == -1) return Value(int64_t{0});
      return Value(a - floor_div(a, b) * b);
    }
    double a = l.to_double(), b = r.to_double();
    double m = std::fmod(a, b);
    if (m != 0.0 && ((m < 0) != (b < 0))) m += b;
    return Value(m);
  }
  if (op == "**") {
    if (ints && as_integer(r) >= 0) {
      int64_t base = as_integer(l), result = 1;
      for (int64_t e = as_integer(r); e > 0; --e) {
        if (base == 0 || base == 1 || base == -1) {  // no overflow, maybe a huge exponent
          result = (base == -1 && e % 2 == 0) ? 1 : base;
          break;
        }
        check_overflow(__builtin_mul_overflow(result, base, &result));
      }
      return Value(result);
    }
    return Value(std::pow(l.to_double(), r.to_double()));
  }
  unsupported(op, l, r);
}

}  // namespace

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::Undefined:
      return false;
    case Kind::String:
      if (item.is_undefined()) fail_undefined(item);
      if (!item.is_string())
        fail("TypeError", "'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Kind::List:
      for (const auto& v : container.as_list())
        if (values_equal(v, item)) return true;
      return false;
    case Kind::Dict:
      return container.as_dict().find(item) != nullptr;
    default:
      fail("TypeError", "argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value binary_operator(std::string_view op, const Value& l, const Value& r) {
  if (op == "==") return Value(values_equal(l, r));
  if (op == "!=") return Value(!values_equal(l, r));
  if (op == "~") return Value(l.str() + r.str());
  if (op == "in") return Value(contains(r, l));
  if (op == "not in") return Value(!contains(r, l));
  if (l.is_undefined()) fail_undefined(l);
  if (r.is_undefined()) fail_undefined(r);
  std::string ops(op);
  if (op == "<") return Value(compare_values(l, r, ops.c_str()) < 0);
  if (op == "<=") return Value(compare_values(l, r, ops.c_str()) <= 0);
  if (op == ">") return Value(compare_values(l, r, ops.c_str()) > 0);
  if (op == ">=") return Value(compare_values(l, r, ops.c_str()) >= 0);
  return arithmetic(op, l, r);
}

Value slice(const Value& sequence, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step_opt) {
  int64_t step = step_opt.value_or(1);
  if (step == 0) fail("ValueError", "slice step cannot be zero");
  std::vector<char32_t> cps;
  bool is_str = sequence.is_string();
  bool ascii = is_str && utf8::is_ascii(sequence.as_string());
  if (is_str && !ascii) cps = utf8::decode(sequence.as_string());
  int64_t n = is_str ? static_cast<int64_t>(ascii ? sequence.as_string().size() : cps.size())
                     : static_cast<int64_t>(sequence.as_list().size());
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) -> int64_t {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return x < 0 ? 0 : (x > n ? n : x);
    return x < -1 ? -1 : (x > n - 1 ? n - 1 : x);
  };
  int64_t b = clamp(start, step > 0 ? 0 : n - 1);
  int64_t e = clamp(stop, step > 0 ? n : -1);
  std::vector<int64_t> idx;
  if (step > 0)
    for (int64_t i = b; i < e; i += step) idx.push_back(i);
  else
    for (int64_t i = b; i > e; i += step) idx.push_back(i);
  if (is_str) {
    std::string out;
    for (int64_t i : idx) {
      if (ascii) out += sequence.as_string()[static_cast<size_t>(i)];
      else utf8::append(out, cps[static_cast<size_t>(i)]);
    }
    return Value(std::move(out));
  }
  ValueList out;
  for (int64_t i : idx) out.push_back(sequence.as_list()[static_cast<size_t>(i)]);
  return sequence.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

}  // namespace pagoda::jinja
