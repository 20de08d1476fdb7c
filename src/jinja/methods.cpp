// Python methods of str, list and dict that templates call (`content.strip()`, `d.get('k')`), and
// Python's string formatting (`'%s' % x`, `'{}'.format(x)`).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/interpreter.h"
#include "jinja/operators.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {

Value ArgReader::get(size_t index, std::string_view name, Value fallback) const {
  for (const auto& [k, v] : args.keyword)
    if (k == name) return v;
  if (index < args.positional.size()) return args.positional[index];
  return fallback;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::vector<char32_t> cps = utf8::decode(s);
  std::string cur;
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
               c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      utf8::append(cur, c);
      continue;
    }
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    lines.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  return lines;
}

namespace {

std::string require_string(const Value& v, const std::string& what) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string())
    fail("TypeError", what + " must be str, not " + v.type_name());
  return v.as_string();
}

// Python str.strip(chars) family: side 1 = left, 2 = right, 3 = both.
std::string strip(const std::string& s, const Value& chars, int side) {
  std::vector<char32_t> cps = utf8::decode(s);
  std::vector<char32_t> set;
  bool whitespace = chars.is_undefined() || chars.is_none();
  if (!whitespace) set = utf8::decode(require_string(chars, "strip arg"));
  auto drop = [&](char32_t c) {
    return whitespace ? utf8::is_space(c) : std::find(set.begin(), set.end(), c) != set.end();
  };
  size_t b = 0, e = cps.size();
  if (side & 1)
    while (b < e && drop(cps[b])) ++b;
  if (side & 2)
    while (e > b && drop(cps[e - 1])) --e;
  return utf8::encode(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(b),
                                            cps.begin() + static_cast<std::ptrdiff_t>(e)));
}

ValueList split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  ValueList parts;
  if (sep.is_undefined() || sep.is_none()) {
    // Runs of whitespace separate; leading and trailing whitespace yields nothing.
    std::vector<char32_t> cps = utf8::decode(s);
    std::vector<std::string> words;
    if (!from_right) {
      size_t i = 0;
      while (i < cps.size()) {
        while (i < cps.size() && utf8::is_space(cps[i])) ++i;
        if (i >= cps.size()) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t e = cps.size();
          while (e > i && utf8::is_space(cps[e - 1])) --e;
          words.push_back(utf8::encode({cps.begin() + static_cast<std::ptrdiff_t>(i),
                                        cps.begin() + static_cast<std::ptrdiff_t>(e)}));
          break;
        }
        size_t j = i;
        while (j < cps.size() && !utf8::is_space(cps[j])) ++j;
        words.push_back(utf8::encode({cps.begin() + static_cast<std::ptrdiff_t>(i),
                                      cps.begin() + static_cast<std::ptrdiff_t>(j)}));
        i = j;
      }
    } else {
      size_t i = cps.size();
      while (i > 0) {
        while (i > 0 && utf8::is_space(cps[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t b = 0;
          while (b < i && utf8::is_space(cps[b])) ++b;
          words.push_back(utf8::encode({cps.begin() + static_cast<std::ptrdiff_t>(b),
                                        cps.begin() + static_cast<std::ptrdiff_t>(i)}));
          break;
        }
        size_t j = i;
        while (j > 0 && !utf8::is_space(cps[j - 1])) --j;
        words.push_back(utf8::encode({cps.begin() + static_cast<std::ptrdiff_t>(j),
                                      cps.begin() + static_cast<std::ptrdiff_t>(i)}));
        i = j;
      }
      std::reverse(words.begin(), words.end());
    }
    for (auto& w : words) parts.emplace_back(std::move(w));
    return parts;
  }
  std::string d = require_string(sep, "separator");
  if (d.empty()) fail("ValueError", "empty separator");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t start = 0;
    while (true) {
      if (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit) break;
      size_t at = s.find(d, start);
      if (at == std::string::npos) break;
      pieces.push_back(s.substr(start, at - start));
      start = at + d.size();
    }
    pieces.push_back(s.substr(start));
  } else {
    size_t end = s.size();
    while (true) {
      if (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit) break;
      if (end < d.size()) break;
      size_t at = s.rfind(d, end - d.size());
      if (at == std::string::npos) break;
      pieces.push_back(s.substr(at + d.size(), end - at - d.size()));
      end = at;
    }
    pieces.push_back(s.substr(0, end));
    std::reverse(pieces.begin(), pieces.end());
  }
  for (auto& p : pieces) parts.emplace_back(std::move(p));
  return parts;
}

std::string map_chars(const std::string& s, char32_t (*fn)(char32_t)) {
  std::vector<char32_t> cps = utf8::decode(s);
  for (auto& c : cps) c = fn(c);
  return utf8::encode(cps);
}

// Python str.title(): a letter after a non-letter is upper-cased, other letters lower-cased.
std::string python_title(const std::string& s) {
  std::vector<char32_t> cps = utf8::decode(s);
  bool prev_letter = false;
  for (auto& c : cps) {
    bool letter = utf8::is_alpha(c);
    c = letter ? (prev_letter ? utf8::to_lower(c) : utf8::to_upper(c)) : c;
    prev_letter = letter;
  }
  return utf8::encode(cps);
}

std::string python_capitalize(const std::string& s) {
  std::vector<char32_t> cps = utf8::decode(s);
  for (size_t i = 0; i < cps.size(); ++i) cps[i] = i == 0 ? utf8::to_upper(cps[i]) : utf8::to_lower(cps[i]);
  return utf8::encode(cps);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to,
                        int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between characters (and at both ends).
    std::vector<char32_t> cps = utf8::decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) utf8::append(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t at = s.find(from, pos);
    if (at == std::string::npos) break;
    out.append(s, pos, at - pos);
    out += to;
    pos = at + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

int64_t int_arg(const Value& v, int64_t fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  fail("TypeError", "'" + v.type_name() + "' object cannot be interpreted as an integer");
}

// Code point offset of a byte offset (find() returns Python indices).
int64_t cp_index(const std::string& s, size_t byte_pos) {
  return static_cast<int64_t>(utf8::length(std::string_view(s).substr(0, byte_pos)));
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    std::string x = require_string(a, prefix ? "startswith arg" : "endswith arg");
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) {
    for (const auto& a : affix.as_list())
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

// Python's format-spec mini language for one value: [[fill]align][sign][0][width][,][.prec][type].
std::string format_spec(const Value& v, const std::string& spec) {
  if (spec.empty()) return v.str();
  size_t i = 0;
  std::string fill = " ";
  char align = '\0';
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (spec.size() >= 2 && is_align(spec[1])) {
    fill = spec.substr(0, 1);
    align = spec[1];
    i = 2;
  } else if (!spec.empty() && is_align(spec[0])) {
    align = spec[0];
    i = 1;
  }
  char sign = '-';
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  if (i < spec.size() && spec[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  size_t width = 0;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])))
    width = width * 10 + static_cast<size_t>(spec[i++] - '0');
  int precision = -1;
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    precision = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])))
      precision = precision * 10 + (spec[i++] - '0');
  }
  char type = i < spec.size() ? spec[i] : '\0';
  std::string body;
  if (type == 'd' || ((v.is_int() || v.is_bool()) && type == '\0')) {
    if (!v.is_int() && !v.is_bool()) fail("ValueError", "Unknown format code 'd' for object of type '" + v.type_name() + "'");
    body = std::to_string(v.is_bool() ? int64_t{v.as_bool()} : v.as_int());
  } else if (type == 'f' || type == 'F' || type == 'e' || type == 'g' || type == '%' ||
             (v.is_float() && type == '\0' && precision >= 0)) {
    if (!v.is_number()) fail("ValueError", std::string("Unknown format code '") + type + "' for object of type '" + v.type_name() + "'");
    double d = v.to_double();
    if (type == '%') d *= 100;
    char buf[512];
    std::string f = "%." + std::to_string(precision < 0 ? 6 : std::min(precision, 100)) +
                    (type == '\0' ? "g" : std::string(1, type == '%' ? 'f' : type));
    std::snprintf(buf, sizeof(buf), f.c_str(), d);
    body = buf;
    if (type == '%') body += '%';
  } else if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
    int64_t n = int_arg(v, 0);
    bool neg = n < 0;
    uint64_t u = neg ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    int base = type == 'o' ? 8 : (type == 'b' ? 2 : 16);
    const char* digits = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
      body.insert(body.begin(), digits[u % static_cast<uint64_t>(base)]);
      u /= static_cast<uint64_t>(base);
    } while (u);
    if (neg) body.insert(body.begin(), '-');
  } else {
    body = v.str();
    if (precision >= 0) {
      std::vector<char32_t> cps = utf8::decode(body);
      if (cps.size() > static_cast<size_t>(precision)) cps.resize(static_cast<size_t>(precision));
      body = utf8::encode(cps);
    }
  }
  if (v.is_number() && sign != '-' && !body.empty() && body[0] != '-') body.insert(body.begin(), sign);
  size_t len = utf8::length(body);
  if (len >= width) return body;
  size_t pad = width - len;
  if (!align) align = v.is_number() && !v.is_string() ? '>' : '<';
  auto repeat = [&](size_t n) {
    std::string out;
    for (size_t k = 0; k < n; ++k) out += fill;
    return out;
  };
  if (align == '<') return body + repeat(pad);
  if (align == '>') return repeat(pad) + body;
  if (align == '^') return repeat(pad / 2) + body + repeat(pad - pad / 2);
  // '=': padding after the sign.
  if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' '))
    return body.substr(0, 1) + repeat(pad) + body.substr(1);
  return repeat(pad) + body;
}

std::string python_format(const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else fail("ValueError", "Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) fail("ValueError", "Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec, conversion;
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    size_t bang = field.find('!');
    if (bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field.resize(bang);
    }
    Value v;
    if (field.empty()) {
      if (auto_index >= args.positional.size())
        fail("IndexError", "Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      size_t idx = std::stoul(field);
      if (idx >= args.positional.size())
        fail("IndexError", "Replacement index " + field + " out of range for positional args tuple");
      v = args.positional[idx];
    } else {
      bool found = false;
      for (const auto& [k, val] : args.keyword)
        if (k == field) {
          v = val;
          found = true;
        }
      if (!found) fail("KeyError", "'" + field + "'");
    }
    if (conversion == "r") v = Value(v.repr());
    else if (conversion == "s") v = Value(v.str());
    out += format_spec(v, spec);
  }
  return out;
}

Value bound(const Value& self, const std::string& name, NativeFunction fn) {
  return Value::callable(self.type_name() + "." + name, std::move(fn));
}

bool is_unsafe_method(const Value& object, const std::string& name) {
  static const char* list_mutators[] = {"append", "clear", "extend", "insert", "pop", "remove",
                                        "reverse", "sort"};
  static const char* dict_mutators[] = {"clear", "pop", "popitem", "setdefault", "update"};
  if (object.is_list() && !object.is_tuple()) {
    for (const char* m : list_mutators)
      if (name == m) return true;
  }
  if (object.is_dict()) {
    for (const char* m : dict_mutators)
      if (name == m) return true;
  }
  return false;
}

Value string_method(const Value& self, const std::string& name) {
  const std::string s = self.as_string();
  auto method = [&](NativeFunction fn) { return bound(self, name, std::move(fn)); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    int side = name == "strip" ? 3 : (name == "lstrip" ? 1 : 2);
    return method([s, side](Interpreter&, CallArgs& a) {
      return Value(strip(s, ArgReader{a, "strip"}.get(0, "chars"), side));
    });
  }
  if (name == "split" || name == "rsplit") {
    bool right = name == "rsplit";
    return method([s, right](Interpreter&, CallArgs& a) {
      ArgReader r{a, "split"};
      return Value::list(split(s, r.get(0, "sep"), int_arg(r.get(1, "maxsplit"), -1), right));
    });
  }
  if (name == "splitlines") {
    return method([s](Interpreter&, CallArgs&) {
      ValueList out;
      for (auto& l : split_lines(s)) out.emplace_back(std::move(l));
      return Value::list(std::move(out));
    });
  }
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return method([s, prefix](Interpreter&, CallArgs& a) {
      Value affix = ArgReader{a, "startswith"}.get(0, "prefix");
      if (affix.is_undefined() && a.positional.empty())
        fail("TypeError", std::string(prefix ? "startswith" : "endswith") + "() takes at least 1 argument (0 given)");
      return Value(affix_match(s, affix, prefix));
    });
  }
  if (name == "upper") return method([s](Interpreter&, CallArgs&) { return Value(map_chars(s, utf8::to_upper)); });
  if (name == "lower" || name == "casefold")
    return method([s](Interpreter&, CallArgs&) { return Value(map_chars(s, utf8::to_lower)); });
  if (name == "title") return method([s](Interpreter&, CallArgs&) { return Value(python_title(s)); });
  if (name == "capitalize") return method([s](Interpreter&, CallArgs&) { return Value(python_capitalize(s)); });
  if (name == "replace") {
    return method([s](Interpreter&, CallArgs& a) {
      ArgReader r{a, "replace"};
      return Value(replace_all(s, require_string(r.get(0, "old"), "replace() argument 1"),
                               require_string(r.get(1, "new"), "replace() argument 2"),
                               int_arg(r.get(2, "count"), -1)));
    });
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    bool right = name[0] == 'r';
    bool raise = name.find("index") != std::string::npos;
    return method([s, right, raise](Interpreter&, CallArgs& a) {
      std::string sub = require_string(ArgReader{a, "find"}.get(0, "sub"), "find() argument");
      size_t at = right ? s.rfind(sub) : s.find(sub);
      if (at == std::string::npos) {
        if (raise) fail("ValueError", "substring not found");
        return Value(int64_t{-1});
      }
      return Value(cp_index(s, at));
    });
  }
  if (name == "count") {
    return method([s](Interpreter&, CallArgs& a) {
      std::string sub = require_string(ArgReader{a, "count"}.get(0, "sub"), "count() argument");
      if (sub.empty()) return Value(static_cast<int64_t>(utf8::length(s)) + 1);
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    });
  }
  if (name == "format") return method([s](Interpreter&, CallArgs& a) { return Value(python_format(s, a)); });
  if (name == "join") {
    return method([s](Interpreter&, CallArgs& a) {
      std::string out;
      ValueList items = iterate(ArgReader{a, "join"}.get(0, "iterable"));
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += s;
        out += require_string(items[i], "sequence item " + std::to_string(i));
      }
      return Value(std::move(out));
    });
  }
  if (name == "removeprefix" || name == "removesuffix") {
    bool prefix = name == "removeprefix";
    return method([s, prefix](Interpreter&, CallArgs& a) {
      std::string x = require_string(ArgReader{a, "removeprefix"}.get(0, "affix"), "argument");
      if (affix_match(s, Value(x), prefix))
        return Value(prefix ? s.substr(x.size()) : s.substr(0, s.size() - x.size()));
      return Value(s);
    });
  }
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal" || name == "isalpha" ||
      name == "isalnum" || name == "isspace" || name == "isupper" || name == "islower") {
    return method([s, name](Interpreter&, CallArgs&) {
      std::vector<char32_t> cps = utf8::decode(s);
      if (cps.empty()) return Value(false);
      bool cased = false;
      for (char32_t c : cps) {
        bool digit = c >= '0' && c <= '9';
        bool alpha = utf8::is_alpha(c);
        if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
          if (!digit) return Value(false);
        } else if (name == "isalpha") {
          if (!alpha) return Value(false);
        } else if (name == "isalnum") {
          if (!alpha && !digit) return Value(false);
        } else if (name == "isspace") {
          if (!utf8::is_space(c)) return Value(false);
        } else if (name == "isupper") {
          if (utf8::to_upper(c) != c) return Value(false);
          cased = cased || utf8::to_lower(c) != c;
        } else {
          if (utf8::to_lower(c) != c) return Value(false);
          cased = cased || utf8::to_upper(c) != c;
        }
      }
      return Value(name == "isupper" || name == "islower" ? cased : true);
    });
  }
  if (name == "zfill") {
    return method([s](Interpreter&, CallArgs& a) {
      int64_t width = int_arg(ArgReader{a, "zfill"}.get(0, "width"), 0);
      int64_t len = static_cast<int64_t>(utf8::length(s));
      if (len >= width) return Value(s);
      std::string zeros(static_cast<size_t>(width - len), '0');
      if (!s.empty() && (s[0] == '-' || s[0] == '+')) return Value(s.substr(0, 1) + zeros + s.substr(1));
      return Value(zeros + s);
    });
  }
  return Value();
}

}  // namespace

Value python_method(const Value& object, const std::string& name) {
  if (is_unsafe_method(object, name))
    return Value::undefined("access to attribute '" + name + "' of '" + object.type_name() +
                            "' object is unsafe.");
  if (object.is_string()) return string_method(object, name);
  if (object.is_dict() && !object.is_namespace()) {
    Value self = object;
    if (name == "items") {
      return bound(self, name, [self](Interpreter&, CallArgs&) {
        ValueList out;
        for (const auto& [k, v] : self.as_dict().items) out.push_back(Value::tuple({Value(k), v}));
        return Value::list(std::move(out));
      });
    }
    if (name == "keys") {
      return bound(self, name, [self](Interpreter&, CallArgs&) { return Value::list(iterate(self)); });
    }
    if (name == "values") {
      return bound(self, name, [self](Interpreter&, CallArgs&) {
        ValueList out;
        for (const auto& [k, v] : self.as_dict().items) out.push_back(v);
        return Value::list(std::move(out));
      });
    }
    if (name == "get") {
      return bound(self, name, [self](Interpreter&, CallArgs& a) {
        ArgReader r{a, "get"};
        Value key = r.get(0, "key");
        Value fallback = r.get(1, "default", Value::none());
        if (const Value* v = self.as_dict().find(key)) return *v;
        return fallback;
      });
    }
    if (name == "copy") {
      return bound(self, name, [self](Interpreter&, CallArgs&) { return Value::dict(self.as_dict()); });
    }
    return Value();
  }
  if (object.is_list()) {
    Value self = object;
    if (name == "index" || name == "count") {
      bool count = name == "count";
      return bound(self, name, [self, count](Interpreter&, CallArgs& a) {
        Value x = ArgReader{a, "index"}.get(0, "value");
        int64_t n = 0;
        const auto& items = self.as_list();
        for (size_t i = 0; i < items.size(); ++i) {
          if (!values_equal(items[i], x)) continue;
          if (!count) return Value(static_cast<int64_t>(i));
          ++n;
        }
        if (!count) fail("ValueError", x.repr() + " is not in list");
        return Value(n);
      });
    }
    if (name == "copy") {
      return bound(self, name, [self](Interpreter&, CallArgs&) { return Value::list(self.as_list()); });
    }
  }
  return Value();
}

std::string percent_format(const std::string& fmt, const Value& args) {
  ValueList positional;
  bool mapping = args.is_dict() && !args.is_namespace();
  if (args.is_tuple()) positional = args.as_list();
  else if (!mapping) positional.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail("ValueError", "incomplete format");
    Value v;
    bool have_value = false;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) fail("TypeError", "format requires a mapping");
      std::string key = fmt.substr(i + 1, close - i - 1);
      const Value* found = args.as_dict().find(key);
      if (!found) fail("KeyError", "'" + key + "'");
      v = *found;
      have_value = true;
      i = close + 1;
    }
    std::string spec;
    while (i < fmt.size() && std::string_view("-+ #0123456789.").find(fmt[i]) != std::string_view::npos)
      spec += fmt[i++];
    if (i >= fmt.size()) fail("ValueError", "incomplete format");
    char type = fmt[i];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (!have_value) {
      if (next >= positional.size()) fail("TypeError", "not enough arguments for format string");
      v = positional[next++];
    }
    // Translate printf flags into the format-spec language for the shared formatter.
    bool left = spec.find('-') != std::string::npos;
    std::string width, precision;
    size_t dot = spec.find('.');
    for (size_t k = 0; k < spec.size() && k < dot; ++k)
      if (std::isdigit(static_cast<unsigned char>(spec[k])) && !(spec[k] == '0' && width.empty()))
        width += spec[k];
    bool zero = spec.find('0') == 0 || (spec.find('0') != std::string::npos &&
                                        spec.find('0') < dot && width.empty());
    if (dot != std::string::npos) precision = spec.substr(dot + 1);
    std::string py = std::string(left ? "<" : "") + (zero && !left ? "0" : "") + width +
                     (precision.empty() && dot == std::string::npos ? "" : "." + (precision.empty() ? "0" : precision));
    switch (type) {
      case 's':
        out += format_spec(Value(v.str()), py);
        break;
      case 'r':
        out += format_spec(Value(v.repr()), py);
        break;
      case 'd':
      case 'i':
      case 'u': {
        if (!v.is_number()) fail("TypeError", "%" + std::string(1, type) + " format: a real number is required, not " + v.type_name());
        Value iv = v.is_float() ? Value(static_cast<int64_t>(std::trunc(v.as_float()))) : v;
        out += format_spec(iv, py.substr(0, py.find('.')) + "d");
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!v.is_number()) fail("TypeError", "must be real number, not " + v.type_name());
        out += format_spec(Value(v.to_double()), py + (dot == std::string::npos ? ".6" : "") + std::string(1, static_cast<char>(std::tolower(type))));
        break;
      case 'x':
      case 'X':
      case 'o':
        out += format_spec(v, py + std::string(1, type));
        break;
      case 'c':
        out += v.is_string() ? v.as_string() : std::string(1, static_cast<char>(int_arg(v, 0)));
        break;
      default:
        fail("ValueError", std::string("unsupported format character '") + type + "'");
    }
  }
  if (!mapping && next < positional.size())
    fail("TypeError", "not all arguments converted during string formatting");
  return out;
}

}  // namespace pagoda::jinja
