// The values a Jinja template computes with, modelled on the Python objects jinja2 sees when
// transformers renders a chat template: None, bool, int, float, str, list/tuple, dict (insertion
// ordered), callables (macros, builtins, bound methods), jinja2's Undefined and namespace().
// Lists, dicts and namespaces are shared by reference, as Python objects are, so that
// `{% set ns.x = 1 %}` is seen by every holder of `ns`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagoda::jinja {

class Value;
class Interpreter;

using ValueList = std::vector<Value>;

// A dict keeps Python's insertion order. Keys are usually strings (JSON objects), but dict
// literals may use numbers ({0: 0, 512: 128}); lookups compare keys with Python ==.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  const Value* find(const Value& key) const;
  void set(Value key, Value value);
};

// Positional and keyword arguments of a call.
struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct Callable {
  std::string name;  // for error messages: "macro 'm'", "str.split", ...
  NativeFunction fn;
};

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Callable };

class Value {
 public:
  Value() = default;  // Undefined
  static Value none();
  static Value undefined(std::string message = {});
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double f);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(ValueList items = {});
  static Value tuple(ValueList items);
  // What jinja2's map/select/items/... return: a Python generator. It iterates like a list, but is
  // always truthy, has no len() and is not JSON serializable, as in Python.
  static Value generator(ValueList items);
  static Value dict(Dict d = {});
  static Value namespace_object(Dict d = {});
  // jinja2's Markup (from `safe` and `escape`): a str whose `+` HTML-escapes a plain str operand.
  static Value markup(std::string s);
  static Value callable(std::string name, NativeFunction fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_markup() const { return kind_ == Kind::String && markup_; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_tuple() const { return kind_ == Kind::List && tuple_; }
  bool is_generator() const { return kind_ == Kind::List && generator_; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Dict && namespace_; }
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_float() const { return f_; }
  // Int, Float or Bool as double.
  double to_double() const;
  const std::string& as_string() const { return *s_; }
  ValueList& as_list() const { return *list_; }
  Dict& as_dict() const { return *dict_; }
  const Callable& as_callable() const { return *callable_; }
  // What jinja2 says when this Undefined is used in a way that fails ("'x' is undefined").
  const std::string& undefined_message() const;
  // Identity of shared containers (Python `is`).
  const void* identity() const;

  // Python truthiness.
  bool truthy() const;
  // Python str(): what {{ value }} prints.
  std::string str() const;
  // Python repr(), as printed inside lists and dicts.
  std::string repr() const;
  // The Python type name used in error messages: "str", "int", "NoneType", "dict", ...
  std::string type_name() const;
  nlohmann::ordered_json to_json() const;

 private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  bool tuple_ = false;
  bool namespace_ = false;
  bool generator_ = false;
  bool markup_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::shared_ptr<const std::string> s_;  // String, or the Undefined message
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Callable> callable_;
};

// Python ==.
bool values_equal(const Value& a, const Value& b);
// Python ordering for the operator `op` ("<", "<=", ...): returns <0, 0, >0; raises TypeError as
// Python does when the types cannot be ordered.
int compare_values(const Value& a, const Value& b, const char* op);

// Python repr() of a str.
std::string python_repr_string(std::string_view s);
// Python repr() of a float ("1.0", "0.30000000000000004", "1e-05", "inf").
std::string python_float_repr(double f);

}  // namespace pagoda::jinja
