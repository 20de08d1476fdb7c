// Python's json.dumps, byte for byte, as transformers' tojson filter calls it.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {
namespace {

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (char32_t c : utf8::decode(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char buf[16];
        if (c < 0x20 || (ensure_ascii && c > 0x7e)) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
          } else {
            std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          utf8::append(out, c);
        }
      }
    }
  }
  out += '"';
}

struct Dumper {
  bool indenting = false;
  std::string indent;
  std::string item_sep;
  std::string key_sep;
  bool sort_keys = false;
  bool ensure_ascii = false;
  int depth = 0;

  void newline(std::string& out, int level) const {
    out += '\n';
    for (int i = 0; i < level; ++i) out += indent;
  }

  void dump(std::string& out, const Value& v, int level) {
    if (++depth > 500) fail("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
    switch (v.kind()) {
      case Kind::None:
        out += "null";
        break;
      case Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        break;
      case Kind::Int:
        out += std::to_string(v.as_int());
        break;
      case Kind::Float: {
        double f = v.as_float();
        if (std::isnan(f)) out += "NaN";
        else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
        else out += python_float_repr(f);
        break;
      }
      case Kind::String:
        dump_string(out, v.as_string(), ensure_ascii);
        break;
      case Kind::List: {
        if (v.is_generator()) fail("TypeError", "Object of type generator is not JSON serializable");
        const auto& items = v.as_list();
        if (items.empty()) {
          out += "[]";
          break;
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indenting) newline(out, level + 1);
          dump(out, items[i], level + 1);
        }
        if (indenting) newline(out, level);
        out += ']';
        break;
      }
      case Kind::Dict: {
        if (v.is_namespace())
          fail("TypeError", "Object of type Namespace is not JSON serializable");
        // json.dumps turns keys into strings: numbers by repr, True -> "true", None -> "null".
        std::vector<std::pair<std::string, const Value*>> items;
        for (const auto& [k, x] : v.as_dict().items) {
          std::string key;
          if (k.is_string()) key = k.as_string();
          else if (k.is_bool()) key = k.as_bool() ? "true" : "false";
          else if (k.is_none()) key = "null";
          else if (k.is_int() || k.is_float()) key = k.str();
          else fail("TypeError", "keys must be str, int, float, bool or None, not " + k.type_name());
          items.emplace_back(std::move(key), &x);
        }
        if (sort_keys)
          std::stable_sort(items.begin(), items.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
        if (items.empty()) {
          out += "{}";
          break;
        }
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indenting) newline(out, level + 1);
          dump_string(out, items[i].first, ensure_ascii);
          out += key_sep;
          dump(out, *items[i].second, level + 1);
        }
        if (indenting) newline(out, level);
        out += '}';
        break;
      }
      default:
        fail("TypeError", "Object of type " + v.type_name() + " is not JSON serializable");
    }
    --depth;
  }
};

}  // namespace

std::string json_dumps(const Value& value, const Value& indent, const Value& separators,
                       bool sort_keys, bool ensure_ascii) {
  Dumper d;
  d.sort_keys = sort_keys;
  d.ensure_ascii = ensure_ascii;
  if (indent.is_int() || indent.is_bool()) {
    d.indenting = true;
    int64_t n = indent.is_bool() ? indent.as_bool() : indent.as_int();
    d.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(n, 1000))), ' ');
  } else if (indent.is_string()) {
    d.indenting = true;
    d.indent = indent.as_string();
  } else if (!indent.is_none() && !indent.is_undefined()) {
    fail("TypeError", "tojson indent must be an int or a string, not " + indent.type_name());
  }
  d.item_sep = d.indenting ? "," : ", ";
  d.key_sep = ": ";
  if (separators.is_list()) {
    const auto& s = separators.as_list();
    if (s.size() != 2 || !s[0].is_string() || !s[1].is_string())
      fail("ValueError", "tojson separators must be a pair of strings (item_separator, key_separator)");
    d.item_sep = s[0].as_string();
    d.key_sep = s[1].as_string();
  } else if (!separators.is_none() && !separators.is_undefined()) {
    fail("TypeError", "tojson separators must be a pair of strings, not " + separators.type_name());
  }
  std::string out;
  d.dump(out, value, 0);
  return out;
}

}  // namespace pagoda::jinja
