// Renders a parsed template. One Interpreter per render call: it owns the scopes (frames) and the
// output of that call, so a Template can be rendered from many threads at once.
#pragma once

#include <ctime>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "jinja/ast.h"
#include "jinja/value.h"

namespace pagoda::jinja {

// A scope: variables set here shadow the parent's. for-loop iterations, macro calls, call-block
// bodies and {% with %} get their own frame, as in jinja2; if-blocks do not.
struct Frame {
  Frame* parent = nullptr;
  std::unordered_map<std::string, Value> vars;
};

class Interpreter {
 public:
  // `clock` feeds strftime_now() (local time, as Python's datetime.now()).
  Interpreter(const Template& tmpl, std::function<std::time_t()> clock);

  // Renders with `globals` as the template variables. Throws RenderError; position() then says
  // where it happened.
  std::string render(const Dict& globals);

  // Calls a callable value (macro, builtin, bound method).
  Value call(const Value& callee, CallArgs& args);

  // Where evaluation was when an error was thrown.
  Position position() const { return pos_; }

 private:
  enum class Flow { Normal, Break, Continue };

  Frame* new_frame(Frame* parent);
  Value lookup(Frame* frame, const std::string& name) const;

  Flow exec_body(const Body& body, Frame* frame, std::string& out);
  Flow exec(const Stmt& s, Frame* frame, std::string& out);
  Flow exec_for(const Stmt& s, Frame* frame, std::string& out);
  void exec_set(const Stmt& s, Frame* frame);
  void assign(const Stmt& s, Frame* frame, Value value);
  Value make_macro(const Stmt& s, Frame* frame);

  Value eval(const Expr& e, Frame* frame);
  Value eval_binary(const Expr& e, Frame* frame);
  Value eval_filter(const Expr& e, Frame* frame, const Value* block_input);
  CallArgs eval_args(const Expr& e, Frame* frame);

  const Template& tmpl_;
  std::function<std::time_t()> clock_;
  std::deque<Frame> frames_;
  Position pos_;
  int call_depth_ = 0;
};

// Attribute access `object.name` and subscription `object[key]` with jinja2's rules (dict keys by
// attribute, Python methods, Undefined for what is missing).
Value get_attribute(const Value& object, const std::string& name);
Value get_item(const Value& object, const Value& key);
// Iteration as a for loop sees it (dict -> keys, str -> characters, Undefined -> nothing).
ValueList iterate(const Value& v);

}  // namespace pagoda::jinja
