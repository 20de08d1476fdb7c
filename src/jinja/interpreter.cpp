#include <fmt/format.h>
#include "jinja/interpreter.h"

#include <algorithm>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/operators.h"
#include "jinja/utf8.h"

namespace pagoda::jinja {
namespace {

// Macro recursion deeper than this is a runaway template (Python stops at about 1000 frames).
constexpr int kMaxCallDepth = 200;

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  return v.type_name() + " object";
}

Value missing_attribute(const Value& object, const std::string& name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type_repr(object), name));
}

}  // namespace

Value get_attribute(const Value& object, const std::string& name) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_namespace()) {
    if (const Value* v = object.as_dict().find(name)) return *v;
    return missing_attribute(object, name);
  }
  if (object.is_dict() || object.is_string() || object.is_list()) {
    Value method = python_method(object, name);
    if (!method.is_undefined() || !method.undefined_message().empty()) return method;
    if (object.is_dict())
      if (const Value* v = object.as_dict().find(name)) return *v;
  }
  return missing_attribute(object, name);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict() && !object.is_namespace()) {
    if (const Value* v = object.as_dict().find(key)) return *v;
  } else if (object.is_list() && !object.is_generator() && (key.is_int() || key.is_bool())) {
    int64_t i = key.is_bool() ? key.as_bool() : key.as_int();
    int64_t n = static_cast<int64_t>(object.as_list().size());
    if (i < 0) i += n;
    if (i >= 0 && i < n) return object.as_list()[static_cast<size_t>(i)];
    return Value::undefined(object_type_repr(object) + " has no element " + key.str());
  } else if (object.is_string() && (key.is_int() || key.is_bool())) {
    int64_t i = key.is_bool() ? key.as_bool() : key.as_int();
    std::vector<char32_t> cps = utf8::decode(object.as_string());
    int64_t n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i >= 0 && i < n) {
      std::string out;
      utf8::append(out, cps[static_cast<size_t>(i)]);
      return Value(std::move(out));
    }
    return Value::undefined(object_type_repr(object) + " has no element " + key.str());
  }
  // jinja2 falls back to attribute lookup for string keys (`d['items']` is the method).
  if (key.is_string()) return get_attribute(object, key.as_string());
  return Value::undefined(object_type_repr(object) + " has no element " + key.repr());
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
      return {};
    case Kind::List:
      return v.as_list();
    case Kind::Dict: {
      if (v.is_namespace()) break;
      ValueList keys;
      for (const auto& [k, _] : v.as_dict().items) keys.emplace_back(k);
      return keys;
    }
    case Kind::String: {
      ValueList chars;
      for (char32_t c : utf8::decode(v.as_string())) {
        std::string s;
        utf8::append(s, c);
        chars.emplace_back(std::move(s));
      }
      return chars;
    }
    default:
      break;
  }
  fail("TypeError", fmt::format("'{}' object is not iterable", v.type_name()));
}

Interpreter::Interpreter(const Template& tmpl, std::function<std::time_t()> clock)
    : tmpl_(tmpl), clock_(std::move(clock)) {}

Frame* Interpreter::new_frame(Frame* parent) {
  frames_.emplace_back();
  frames_.back().parent = parent;
  return &frames_.back();
}

Value Interpreter::lookup(Frame* frame, const std::string& name) const {
  for (Frame* f = frame; f; f = f->parent) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return it->second;
  }
  return Value::undefined("'" + name + "' is undefined");
}

std::string Interpreter::render(const Dict& globals) {
  Frame* root = new_frame(nullptr);
  for (const auto& [k, v] : globals.items) root->vars[k.str()] = v;
  // Template-level variables live in a frame of their own so that they shadow globals.
  Frame* top = new_frame(root);
  std::string out;
  exec_body(tmpl_.body, top, out);
  return out;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, Frame* frame, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, frame, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, Frame* frame, std::string& out) {
  pos_ = s.pos;
  switch (s.kind) {
    case StmtKind::Text:
      out += s.text;
      return Flow::Normal;
    case StmtKind::Output:
      out += eval(*s.expr, frame).str();
      return Flow::Normal;
    case StmtKind::If:
      for (size_t i = 0; i < s.conditions.size(); ++i) {
        if (eval(*s.conditions[i], frame).truthy()) return exec_body(s.bodies[i], frame, out);
      }
      return exec_body(s.else_body, frame, out);
    case StmtKind::For:
      return exec_for(s, frame, out);
    case StmtKind::Set:
      exec_set(s, frame);
      return Flow::Normal;
    case StmtKind::Macro:
      frame->vars[s.text] = make_macro(s, frame);
      return Flow::Normal;
    case StmtKind::CallBlock: {
      const Stmt* stmt = &s;
      Value caller = Value::callable("caller", [this, stmt, frame](Interpreter&, CallArgs& args) {
        Frame* f = new_frame(frame);
        for (size_t i = 0; i < stmt->params.size(); ++i) {
          const MacroParam& p = stmt->params[i];
          if (i < args.positional.size()) f->vars[p.name] = args.positional[i];
          else if (p.default_value) f->vars[p.name] = eval(*p.default_value, f);
          else f->vars[p.name] = Value::undefined("parameter '" + p.name + "' was not provided");
        }
        std::string body;
        exec_body(stmt->body, f, body);
        return Value(std::move(body));
      });
      const Expr& call = *s.expr;
      Value callee = eval(*call.object, frame);
      CallArgs args = eval_args(call, frame);
      args.keyword.emplace_back("caller", caller);
      pos_ = call.pos;
      out += this->call(callee, args).str();
      return Flow::Normal;
    }
    case StmtKind::FilterBlock: {
      std::string body;
      Flow f = exec_body(s.body, new_frame(frame), body);
      Value input(std::move(body));
      out += eval_filter(*s.expr, frame, &input).str();
      return f;
    }
    case StmtKind::Scope: {
      Frame* inner = new_frame(frame);
      for (const auto& p : s.params) inner->vars[p.name] = eval(*p.default_value, frame);
      return exec_body(s.body, inner, out);
    }
    case StmtKind::Break:
      return Flow::Break;
    case StmtKind::Continue:
      return Flow::Continue;
  }
  return Flow::Normal;
}

void Interpreter::assign(const Stmt& s, Frame* frame, Value value) {
  if (!s.target_attr.empty()) {
    Value ns = lookup(frame, s.targets[0]);
    if (!ns.is_namespace())
      fail("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    ns.as_dict().set(s.target_attr, std::move(value));
    return;
  }
  if (s.targets.size() == 1) {
    frame->vars[s.targets[0]] = std::move(value);
    return;
  }
  ValueList items = iterate(value);
  if (items.size() != s.targets.size())
    fail("ValueError", items.size() < s.targets.size()
                           ? "not enough values to unpack (expected " +
                                 std::to_string(s.targets.size()) + ", got " +
                                 std::to_string(items.size()) + ")"
                           : "too many values to unpack (expected " +
                                 std::to_string(s.targets.size()) + ")");
  for (size_t i = 0; i < items.size(); ++i) frame->vars[s.targets[i]] = items[i];
}

void Interpreter::exec_set(const Stmt& s, Frame* frame) {
  if (s.expr) {
    assign(s, frame, eval(*s.expr, frame));
    return;
  }
  std::string body;
  exec_body(s.body, new_frame(frame), body);
  Value value(std::move(body));
  if (s.block_filter) value = eval_filter(*s.block_filter, frame, &value);
  assign(s, frame, std::move(value));
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, Frame* frame, std::string& out) {
  ValueList items = iterate(eval(*s.expr, frame));
  auto bind = [&](Frame* f, const Value& item) {
    if (s.targets.size() == 1) {
      f->vars[s.targets[0]] = item;
      return;
    }
    ValueList parts = iterate(item);
    if (parts.size() != s.targets.size())
      fail("ValueError", parts.size() < s.targets.size()
                             ? "not enough values to unpack (expected " +
                                   std::to_string(s.targets.size()) + ", got " +
                                   std::to_string(parts.size()) + ")"
                             : "too many values to unpack (expected " +
                                   std::to_string(s.targets.size()) + ")");
    for (size_t i = 0; i < parts.size(); ++i) f->vars[s.targets[i]] = parts[i];
  };
  if (s.condition) {
    ValueList kept;
    for (const auto& item : items) {
      Frame* f = new_frame(frame);
      bind(f, item);
      if (eval(*s.condition, f).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(s.else_body, new_frame(frame), out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    Frame* f = new_frame(frame);
    bind(f, items[static_cast<size_t>(i)]);
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(int64_t{1}));
    loop.set("depth0", Value(int64_t{0}));
    loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)]
                               : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)]
                                   : Value::undefined("there is no next item"));
    loop.set("cycle", Value::callable("loop.cycle", [i](Interpreter&, CallArgs& args) {
               if (args.positional.empty()) fail("TypeError", "no items for cycling given");
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    f->vars["loop"] = Value::namespace_object(std::move(loop));
    Flow flow = exec_body(s.body, f, out);
    if (flow == Flow::Break) break;
  }
  return Flow::Normal;
}

Value Interpreter::make_macro(const Stmt& s, Frame* frame) {
  const Stmt* stmt = &s;
  return Value::callable("macro '" + s.text + "'", [stmt, frame](Interpreter& self, CallArgs& args) {
    Frame* f = self.new_frame(frame);
    const auto& params = stmt->params;
    size_t n = params.size();
    ValueList extra;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < n) f->vars[params[i].name] = args.positional[i];
      else extra.push_back(args.positional[i]);
    }
    Dict extra_kwargs;
    for (auto& [k, v] : args.keyword) {
      bool is_param = std::any_of(params.begin(), params.end(),
                                  [&](const MacroParam& p) { return p.name == k; });
      if (is_param || k == "caller") f->vars[k] = v;
      else extra_kwargs.set(k, v);
    }
    for (const auto& p : params) {
      if (f->vars.count(p.name)) continue;
      if (p.default_value) f->vars[p.name] = self.eval(*p.default_value, f);
      else f->vars[p.name] = Value::undefined("parameter '" + p.name + "' was not provided");
    }
    f->vars["varargs"] = Value::tuple(std::move(extra));
    f->vars["kwargs"] = Value::dict(std::move(extra_kwargs));
    std::string out;
    Position saved = self.pos_;
    self.exec_body(stmt->body, f, out);
    self.pos_ = saved;
    return Value(std::move(out));
  });
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_callable()) fail("TypeError", fmt::format("'{}' object is not callable", callee.type_name()));
  if (++call_depth_ > kMaxCallDepth) {
    call_depth_ = 0;
    fail("RecursionError", "maximum recursion depth exceeded while calling " + callee.as_callable().name);
  }
  Value result = callee.as_callable().fn(*this, args);
  --call_depth_;
  return result;
}

CallArgs Interpreter::eval_args(const Expr& e, Frame* frame) {
  CallArgs args;
  for (const auto& a : e.items) args.positional.push_back(eval(*a, frame));
  for (const auto& [k, a] : e.kwargs) args.keyword.emplace_back(k, eval(*a, frame));
  return args;
}

Value Interpreter::eval_filter(const Expr& e, Frame* frame, const Value* block_input) {
  Value input = e.object ? (e.object->kind == ExprKind::Filter
                                ? eval_filter(*e.object, frame, block_input)
                                : eval(*e.object, frame))
                         : *block_input;
  CallArgs args = eval_args(e, frame);
  pos_ = e.pos;
  return apply_filter(*this, e.name, input, args);
}

Value Interpreter::eval_binary(const Expr& e, Frame* frame) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.object, frame);
    return l.truthy() ? eval(*e.other, frame) : l;
  }
  if (op == "or") {
    Value l = eval(*e.object, frame);
    return l.truthy() ? l : eval(*e.other, frame);
  }
  Value l = eval(*e.object, frame);
  Value r = eval(*e.other, frame);
  pos_ = e.pos;
  return binary_operator(op, l, r);
}

Value Interpreter::eval(const Expr& e, Frame* frame) {
  pos_ = e.pos;
  switch (e.kind) {
    case ExprKind::Literal:
      return e.value;
    case ExprKind::Name:
      return lookup(frame, e.name);
    case ExprKind::ListLit:
    case ExprKind::TupleLit: {
      ValueList items;
      for (const auto& i : e.items) items.push_back(eval(*i, frame));
      return e.kind == ExprKind::TupleLit ? Value::tuple(std::move(items))
                                          : Value::list(std::move(items));
    }
    case ExprKind::DictLit: {
      Dict d;
      for (size_t i = 0; i < e.keys.size(); ++i) {
        Value k = eval(*e.keys[i], frame);
        d.set(std::move(k), eval(*e.items[i], frame));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::GetAttr: {
      Value obj = eval(*e.object, frame);
      pos_ = e.pos;
      return get_attribute(obj, e.name);
    }
    case ExprKind::GetItem: {
      Value obj = eval(*e.object, frame);
      if (e.other->kind == ExprKind::Slice) {
        const Expr& s = *e.other;
        auto bound = [&](const ExprPtr& x) -> std::optional<int64_t> {
          if (!x) return std::nullopt;
          Value v = eval(*x, frame);
          if (v.is_none()) return std::nullopt;
          if (v.is_int()) return v.as_int();
          if (v.is_bool()) return v.as_bool() ? 1 : 0;
          fail("TypeError", "slice indices must be integers or None");
        };
        auto start = bound(s.keys[0]);
        auto stop = bound(s.keys[1]);
        auto step = bound(s.keys[2]);
        pos_ = e.pos;
        if (obj.is_undefined()) fail_undefined(obj);
        if (!obj.is_string() && (!obj.is_list() || obj.is_generator()))
          fail("TypeError", "'" + obj.type_name() + "' object is not subscriptable");
        return slice(obj, start, stop, step);
      }
      Value key = eval(*e.other, frame);
      pos_ = e.pos;
      return get_item(obj, key);
    }
    case ExprKind::Slice:
      fail("TemplateSyntaxError", "slice outside of a subscript");
    case ExprKind::Call: {
      Value callee = eval(*e.object, frame);
      CallArgs args = eval_args(e, frame);
      pos_ = e.pos;
      return call(callee, args);
    }
    case ExprKind::Filter:
      return eval_filter(e, frame, nullptr);
    case ExprKind::Test: {
      Value v = eval(*e.object, frame);
      CallArgs args = eval_args(e, frame);
      pos_ = e.pos;
      bool r = apply_test(*this, e.name, v, args);
      return Value(e.negated ? !r : r);
    }
    case ExprKind::Unary: {
      Value v = eval(*e.object, frame);
      pos_ = e.pos;
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number())
        fail("TypeError", "bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
      if (e.name == "+") return v.is_bool() ? Value(int64_t{v.as_bool()}) : v;
      if (v.is_float()) return Value(-v.as_float());
      int64_t i = v.is_bool() ? v.as_bool() : v.as_int();
      if (i == INT64_MIN) fail("OverflowError", "integer result does not fit in 64 bits");
      return Value(-i);
    }
    case ExprKind::Binary:
      return eval_binary(e, frame);
    case ExprKind::Conditional:
      if (eval(*e.other, frame).truthy()) return eval(*e.object, frame);
      if (e.third) return eval(*e.third, frame);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
  }
  return Value();
}

}  // namespace pagoda::jinja
