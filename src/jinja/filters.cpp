// jinja2's builtin filters (with transformers' tojson) and tests.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/interpreter.h"
#include "jinja/operators.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {
namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, ArgReader&);
using TestFn = bool (*)(Interpreter&, const Value&, ArgReader&);

std::string soft_str(const Value& v) { return v.str(); }

std::string upper(const std::string& s) {
  std::vector<char32_t> cps = utf8::decode(s);
  for (auto& c : cps) c = utf8::to_upper(c);
  return utf8::encode(cps);
}

std::string lower(const std::string& s) {
  std::vector<char32_t> cps = utf8::decode(s);
  for (auto& c : cps) c = utf8::to_lower(c);
  return utf8::encode(cps);
}

// jinja2's make_attrgetter: "a.b.0" looks up each part with subscription rules.
Value attribute_of(const Value& item, const Value& attribute) {
  if (attribute.is_int()) return get_item(item, attribute);
  std::string path = attribute.str();
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    v = digits ? get_item(v, Value(static_cast<int64_t>(std::strtoll(part.c_str(), nullptr, 10))))
               : get_item(v, Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

int64_t to_int(const Value& v, int64_t fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  if (v.is_float()) return std::isfinite(v.as_float()) ? static_cast<int64_t>(v.as_float()) : fallback;
  return fallback;
}

Value f_tojson(Interpreter&, const Value& v, ArgReader& a) {
  return Value(json_dumps(v, a.get(1, "indent", Value::none()), a.get(2, "separators", Value::none()),
                          a.get(3, "sort_keys", Value(false)).truthy(),
                          a.get(0, "ensure_ascii", Value(false)).truthy()));
}

Value f_length(Interpreter&, const Value& v, ArgReader&) {
  switch (v.kind()) {
    case Kind::Undefined:
      return Value(int64_t{0});
    case Kind::String:
      return Value(static_cast<int64_t>(utf8::length(v.as_string())));
    case Kind::List:
      if (v.is_generator()) break;
      return Value(static_cast<int64_t>(v.as_list().size()));
    case Kind::Dict:
      if (v.is_namespace()) break;
      return Value(static_cast<int64_t>(v.as_dict().items.size()));
    default:
      break;
  }
  fail("TypeError", "object of type '" + v.type_name() + "' has no len()");
}

Value f_default(Interpreter&, const Value& v, ArgReader& a) {
  Value fallback = a.get(0, "default_value", Value(""));
  bool boolean = a.get(1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return fallback;
  return v;
}

Value f_trim(Interpreter& in, const Value& v, ArgReader& a) {
  CallArgs args;
  Value chars = a.get(0, "chars", Value::none());
  args.positional.push_back(chars);
  return in.call(python_method(Value(soft_str(v)), "strip"), args);
}

Value f_upper(Interpreter&, const Value& v, ArgReader&) { return Value(upper(soft_str(v))); }
Value f_lower(Interpreter&, const Value& v, ArgReader&) { return Value(lower(soft_str(v))); }

Value f_capitalize(Interpreter& in, const Value& v, ArgReader&) {
  CallArgs none;
  return in.call(python_method(Value(soft_str(v)), "capitalize"), none);
}

// jinja2's title: words start after whitespace and - ( { [ <.
Value f_title(Interpreter&, const Value& v, ArgReader&) {
  std::vector<char32_t> cps = utf8::decode(soft_str(v));
  bool word_start = true;
  for (auto& c : cps) {
    bool sep = utf8::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      word_start = true;
      continue;
    }
    c = word_start ? utf8::to_upper(c) : utf8::to_lower(c);
    word_start = false;
  }
  return Value(utf8::encode(cps));
}

Value f_replace(Interpreter& in, const Value& v, ArgReader& a) {
  CallArgs args;
  args.positional = {a.get(0, "old"), a.get(1, "new")};
  Value count = a.get(2, "count", Value::none());
  if (!count.is_none()) args.positional.push_back(count);
  return in.call(python_method(Value(soft_str(v)), "replace"), args);
}

Value f_join(Interpreter&, const Value& v, ArgReader& a) {
  std::string sep = soft_str(a.get(0, "d", Value("")));
  Value attribute = a.get(1, "attribute", Value::none());
  std::string out;
  bool first = true;
  for (const auto& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += soft_str(attribute.is_none() ? item : attribute_of(item, attribute));
  }
  return Value(std::move(out));
}

Value f_map(Interpreter& in, const Value& v, ArgReader& a) {
  ValueList out;
  if (!v.truthy()) return Value::generator({});  // jinja2 maps only `if value`: None maps to nothing
  Value attribute = a.get(99, "attribute");
  if (!attribute.is_undefined()) {
    Value fallback = a.get(99, "default");
    for (const auto& item : iterate(v)) {
      Value x = attribute_of(item, attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::generator(std::move(out));
  }
  if (a.args.positional.empty()) fail("FilterArgumentError", "map requires a filter argument");
  std::string filter = soft_str(a.args.positional[0]);
  for (const auto& item : iterate(v)) {
    CallArgs rest;
    rest.positional.assign(a.args.positional.begin() + 1, a.args.positional.end());
    rest.keyword = a.args.keyword;
    out.push_back(apply_filter(in, filter, item, rest));
  }
  return Value::generator(std::move(out));
}

// select/reject/selectattr/rejectattr.
Value select_impl(Interpreter& in, const Value& v, ArgReader& a, bool by_attr, bool keep) {
  size_t first_arg = by_attr ? 1 : 0;
  ValueList out;
  if (!v.truthy()) return Value::generator({});  // jinja2 filters only `if value`: None gives nothing
  for (const auto& item : iterate(v)) {
    Value x = by_attr ? attribute_of(item, a.args.positional.at(0)) : item;
    bool ok;
    if (a.args.positional.size() <= first_arg) {
      ok = x.truthy();
    } else {
      CallArgs rest;
      rest.positional.assign(a.args.positional.begin() + static_cast<std::ptrdiff_t>(first_arg) + 1,
                             a.args.positional.end());
      ok = apply_test(in, soft_str(a.args.positional[first_arg]), x, rest);
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::generator(std::move(out));
}

Value f_select(Interpreter& in, const Value& v, ArgReader& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, ArgReader& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, ArgReader& a) {
  if (a.args.positional.empty()) fail("TypeError", "selectattr requires an attribute name");
  return select_impl(in, v, a, true, true);
}
Value f_rejectattr(Interpreter& in, const Value& v, ArgReader& a) {
  if (a.args.positional.empty()) fail("TypeError", "rejectattr requires an attribute name");
  return select_impl(in, v, a, true, false);
}

Value f_first(Interpreter&, const Value& v, ArgReader&) {
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_generator()) fail("TypeError", "'generator' object is not reversible");
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_list(Interpreter&, const Value& v, ArgReader&) { return Value::list(iterate(v)); }
Value f_string(Interpreter&, const Value& v, ArgReader&) { return Value(soft_str(v)); }
Value f_safe(Interpreter&, const Value& v, ArgReader&) { return Value::markup(soft_str(v)); }

Value f_escape(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_markup()) return v;
  return Value::markup(html_escape(soft_str(v)));
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

Value f_int(Interpreter&, const Value& v, ArgReader& a) {
  Value fallback = a.get(0, "default", Value(int64_t{0}));
  int64_t base = to_int(a.get(1, "base"), 10);
  if (v.is_int() || v.is_bool() || v.is_float()) {
    if (v.is_float() && !std::isfinite(v.as_float())) return fallback;
    return Value(to_int(v, 0));
  }
  if (v.is_string()) {
    std::string s = v.as_string();
    size_t b = s.find_first_not_of(" \t\n\r\f\v"), e = s.find_last_not_of(" \t\n\r\f\v");
    if (b == std::string::npos) return fallback;
    s = s.substr(b, e - b + 1);
    std::string digits;
    for (char c : s)
      if (c != '_') digits += c;
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
    if (end && *end == '\0' && errno == 0 && !digits.empty()) return Value(static_cast<int64_t>(x));
    char* fend = nullptr;
    double d = std::strtod(s.c_str(), &fend);
    if (fend && *fend == '\0' && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  }
  return fallback;
}

Value f_float(Interpreter&, const Value& v, ArgReader& a) {
  Value fallback = a.get(0, "default", Value(0.0));
  if (v.is_number()) return Value(v.to_double());
  if (v.is_string()) {
    std::string s = v.as_string();
    size_t b = s.find_first_not_of(" \t\n\r\f\v"), e = s.find_last_not_of(" \t\n\r\f\v");
    if (b == std::string::npos) return fallback;
    s = s.substr(b, e - b + 1);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0') return Value(d);
  }
  return fallback;
}

Value f_abs(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) {
    int64_t i = v.is_bool() ? v.as_bool() : v.as_int();
    if (i == INT64_MIN) fail("OverflowError", "integer result does not fit in 64 bits");
    return Value(i < 0 ? -i : i);
  }
  fail("TypeError", "bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_round(Interpreter&, const Value& v, ArgReader& a) {
  if (!v.is_number()) fail("TypeError", "type " + v.type_name() + " doesn't define __round__ method");
  int64_t precision = to_int(a.get(0, "precision"), 0);
  std::string method = soft_str(a.get(1, "method", Value("common")));
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.to_double() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);  // Python's round(): half to even
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else fail("FilterArgumentError", "method must be common, ceil or floor");
  return Value(r / scale);
}

Value f_indent(Interpreter&, const Value& v, ArgReader& a) {
  Value width = a.get(0, "width", Value(int64_t{4}));
  bool first = a.get(1, "first", Value(false)).truthy();
  bool blank = a.get(2, "blank", Value(false)).truthy();
  std::string indention = width.is_string() ? width.as_string()
                                            : std::string(static_cast<size_t>(std::clamp<int64_t>(to_int(width, 4), 0, 10000)), ' ');
  std::vector<std::string> lines = split_lines(soft_str(v) + "\n");
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) out += "\n" + indention;
      out += lines[i];
    }
  } else if (!lines.empty()) {
    out = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      out += '\n';
      if (!lines[i].empty()) out += indention + lines[i];
    }
  }
  if (first) out = indention + out;
  return Value(std::move(out));
}

// Sort key that ignores case for strings unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(lower(v.as_string()));
  return v;
}

void sort_values(ValueList& items, bool reverse, const std::function<Value(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) keyed.emplace_back(key(item), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? compare_values(y.first, x.first, "<") < 0 : compare_values(x.first, y.first, "<") < 0;
  });
  for (size_t i = 0; i < items.size(); ++i) items[i] = keyed[i].second;
}

Value f_sort(Interpreter&, const Value& v, ArgReader& a) {
  bool reverse = a.get(0, "reverse", Value(false)).truthy();
  bool cs = a.get(1, "case_sensitive", Value(false)).truthy();
  Value attribute = a.get(2, "attribute", Value::none());
  ValueList items = iterate(v);
  sort_values(items, reverse, [&](const Value& x) {
    return sort_key(attribute.is_none() ? x : attribute_of(x, attribute), cs);
  });
  return Value::list(std::move(items));
}

Value f_dictsort(Interpreter&, const Value& v, ArgReader& a) {
  bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
  std::string by = soft_str(a.get(1, "by", Value("key")));
  bool reverse = a.get(2, "reverse", Value(false)).truthy();
  if (!v.is_dict()) fail("TypeError", "dictsort expects a mapping, not " + v.type_name());
  ValueList items;
  for (const auto& [k, x] : v.as_dict().items) items.push_back(Value::tuple({Value(k), x}));
  size_t pos = by == "value" ? 1 : 0;
  if (by != "key" && by != "value") fail("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
  sort_values(items, reverse, [&](const Value& x) { return sort_key(x.as_list()[pos], cs); });
  return Value::list(std::move(items));
}

Value f_unique(Interpreter&, const Value& v, ArgReader& a) {
  bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
  Value attribute = a.get(1, "attribute", Value::none());
  ValueList out, seen;
  for (const auto& item : iterate(v)) {
    Value key = sort_key(attribute.is_none() ? item : attribute_of(item, attribute), cs);
    bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, key); });
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::generator(std::move(out));
}

Value f_reverse(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_string()) return slice(v, std::nullopt, std::nullopt, -1);
  ValueList items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::generator(std::move(items));
}

Value f_items(Interpreter&, const Value& v, ArgReader&) {
  if (v.is_undefined()) return Value::generator({});
  if (!v.is_dict() || v.is_namespace()) fail("TypeError", "Can only get item pairs from a mapping.");
  ValueList out;
  for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::tuple({Value(k), x}));
  return Value::generator(std::move(out));
}

Value f_sum(Interpreter&, const Value& v, ArgReader& a) {
  Value attribute = a.get(0, "attribute", Value::none());
  Value total = a.get(1, "start", Value(int64_t{0}));
  for (const auto& item : iterate(v))
    total = binary_operator("+", total, attribute.is_none() ? item : attribute_of(item, attribute));
  return total;
}

Value min_max(const Value& v, ArgReader& a, bool want_max) {
  bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
  Value attribute = a.get(1, "attribute", Value::none());
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  size_t best = 0;
  auto key = [&](const Value& x) { return sort_key(attribute.is_none() ? x : attribute_of(x, attribute), cs); };
  for (size_t i = 1; i < items.size(); ++i) {
    int c = compare_values(key(items[i]), key(items[best]), "<");
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

Value f_min(Interpreter&, const Value& v, ArgReader& a) { return min_max(v, a, false); }
Value f_max(Interpreter&, const Value& v, ArgReader& a) { return min_max(v, a, true); }

Value f_wordcount(Interpreter&, const Value& v, ArgReader&) {
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : utf8::decode(soft_str(v))) {
    bool w = utf8::is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

Value f_batch(Interpreter&, const Value& v, ArgReader& a) {
  int64_t n = to_int(a.get(0, "linecount"), 0);
  if (n <= 0) fail("FilterArgumentError", "batch size must be positive");
  Value fill = a.get(1, "fill_with", Value::none());
  ValueList out, cur;
  for (const auto& item : iterate(v)) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == n) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (!fill.is_none())
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::generator(std::move(out));
}

Value f_format(Interpreter&, const Value& v, ArgReader& a) {
  if (!a.args.keyword.empty()) {
    Dict d;
    for (const auto& [k, x] : a.args.keyword) d.set(k, x);
    return Value(percent_format(soft_str(v), Value::dict(std::move(d))));
  }
  return Value(percent_format(soft_str(v), Value::tuple(a.args.positional)));
}

Value f_center(Interpreter&, const Value& v, ArgReader& a) {
  std::string s = soft_str(v);
  int64_t width = to_int(a.get(0, "width"), 80);
  int64_t len = static_cast<int64_t>(utf8::length(s));
  if (len >= width) return Value(s);
  int64_t pad = width - len;
  int64_t left = pad / 2 + (pad & width & 1);
  return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(pad - left), ' '));
}

Value f_attr(Interpreter&, const Value& v, ArgReader& a) { return get_attribute(v, soft_str(a.get(0, "name"))); }

Value f_count(Interpreter& in, const Value& v, ArgReader& a) { return f_length(in, v, a); }

const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"tojson", f_tojson},     {"length", f_length},         {"count", f_count},
      {"default", f_default},   {"d", f_default},             {"trim", f_trim},
      {"upper", f_upper},       {"lower", f_lower},           {"title", f_title},
      {"capitalize", f_capitalize}, {"replace", f_replace},   {"join", f_join},
      {"map", f_map},           {"select", f_select},         {"reject", f_reject},
      {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr}, {"first", f_first},
      {"last", f_last},         {"list", f_list},             {"string", f_string},
      {"safe", f_safe},         {"escape", f_escape},         {"e", f_escape},
      {"forceescape", f_escape}, {"int", f_int},              {"float", f_float},
      {"abs", f_abs},           {"round", f_round},           {"indent", f_indent},
      {"sort", f_sort},         {"dictsort", f_dictsort},     {"unique", f_unique},
      {"reverse", f_reverse},   {"items", f_items},           {"sum", f_sum},
      {"min", f_min},           {"max", f_max},               {"wordcount", f_wordcount},
      {"batch", f_batch},       {"format", f_format},         {"center", f_center},
      {"attr", f_attr},
  };
  return table;
}

// ---- tests ----

int64_t int_for_test(const Value& v, const char* test) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  fail("TypeError", std::string("test '") + test + "' needs an integer, not " + v.type_name());
}

bool t_defined(Interpreter&, const Value& v, ArgReader&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, ArgReader&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, ArgReader&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, ArgReader&) { return v.is_bool(); }
bool t_false(Interpreter&, const Value& v, ArgReader&) { return v.is_bool() && !v.as_bool(); }
bool t_true(Interpreter&, const Value& v, ArgReader&) { return v.is_bool() && v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, ArgReader&) { return v.is_int(); }
bool t_float(Interpreter&, const Value& v, ArgReader&) { return v.is_float(); }
bool t_number(Interpreter&, const Value& v, ArgReader&) { return v.is_number(); }
bool t_string(Interpreter&, const Value& v, ArgReader&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, ArgReader&) { return v.is_dict() && !v.is_namespace(); }
bool t_iterable(Interpreter&, const Value& v, ArgReader&) {
  return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.is_namespace());
}
bool t_sequence(Interpreter&, const Value& v, ArgReader&) {
  return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) ||
         (v.is_dict() && !v.is_namespace());
}
bool t_callable(Interpreter&, const Value& v, ArgReader&) { return v.is_callable(); }
bool t_sameas(Interpreter&, const Value& v, ArgReader& a) {
  Value other = a.get(0, "other");
  if (v.identity() || other.identity()) return v.identity() == other.identity();
  return v.kind() == other.kind() && values_equal(v, other) && !v.is_string() && !v.is_int() && !v.is_float();
}
bool t_escaped(Interpreter&, const Value&, ArgReader&) { return false; }
bool t_in(Interpreter&, const Value& v, ArgReader& a) { return contains(a.get(0, "seq"), v); }
bool t_even(Interpreter&, const Value& v, ArgReader&) { return int_for_test(v, "even") % 2 == 0; }
bool t_odd(Interpreter&, const Value& v, ArgReader&) { return int_for_test(v, "odd") % 2 != 0; }
bool t_divisibleby(Interpreter&, const Value& v, ArgReader& a) {
  Value r = binary_operator("%", v, a.get(0, "num"));
  return values_equal(r, Value(int64_t{0}));
}
bool t_eq(Interpreter&, const Value& v, ArgReader& a) { return values_equal(v, a.get(0, "other")); }
bool t_ne(Interpreter&, const Value& v, ArgReader& a) { return !values_equal(v, a.get(0, "other")); }
bool t_lt(Interpreter&, const Value& v, ArgReader& a) { return binary_operator("<", v, a.get(0, "other")).as_bool(); }
bool t_le(Interpreter&, const Value& v, ArgReader& a) { return binary_operator("<=", v, a.get(0, "other")).as_bool(); }
bool t_gt(Interpreter&, const Value& v, ArgReader& a) { return binary_operator(">", v, a.get(0, "other")).as_bool(); }
bool t_ge(Interpreter&, const Value& v, ArgReader& a) { return binary_operator(">=", v, a.get(0, "other")).as_bool(); }
bool t_lower(Interpreter&, const Value& v, ArgReader&) {
  std::string s = soft_str(v);
  return lower(s) == s && upper(s) != s;
}
bool t_upper(Interpreter&, const Value& v, ArgReader&) {
  std::string s = soft_str(v);
  return upper(s) == s && lower(s) != s;
}
bool t_filter(Interpreter&, const Value& v, ArgReader&) { return v.is_string() && has_filter(v.as_string()); }
bool t_test(Interpreter&, const Value& v, ArgReader&) { return v.is_string() && has_test(v.as_string()); }

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},
      {"boolean", t_boolean},   {"false", t_false},         {"true", t_true},
      {"integer", t_integer},   {"float", t_float},         {"number", t_number},
      {"string", t_string},     {"mapping", t_mapping},     {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable},   {"sameas", t_sameas},
      {"escaped", t_escaped},   {"in", t_in},               {"even", t_even},
      {"odd", t_odd},           {"divisibleby", t_divisibleby}, {"eq", t_eq},
      {"equalto", t_eq},        {"==", t_eq},               {"ne", t_ne},
      {"!=", t_ne},             {"lt", t_lt},               {"lessthan", t_lt},
      {"<", t_lt},              {"le", t_le},               {"<=", t_le},
      {"gt", t_gt},             {"greaterthan", t_gt},      {">", t_gt},
      {"ge", t_ge},             {">=", t_ge},               {"lower", t_lower},
      {"upper", t_upper},       {"filter", t_filter},       {"test", t_test},
  };
  return table;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().count(name) > 0; }
bool has_test(std::string_view name) { return tests().count(name) > 0; }

Value apply_filter(Interpreter& interp, std::string_view name, const Value& value, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("TemplateAssertionError", "No filter named '" + std::string(name) + "'.");
  ArgReader reader{args, std::string(name)};
  return it->second(interp, value, reader);
}

bool apply_test(Interpreter& interp, std::string_view name, const Value& value, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail("TemplateAssertionError", "No test named '" + std::string(name) + "'.");
  ArgReader reader{args, std::string(name)};
  return it->second(interp, value, reader);
}

}  // namespace pagoda::jinja
