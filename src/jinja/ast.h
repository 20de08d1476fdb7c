// The parsed form of a template: expression and statement nodes. Nodes are immutable after
// parsing, so one parsed template renders concurrently from many threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace pagoda::jinja {

struct Position {
  int line = 1;
  int column = 1;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,    // value
  Name,       // name
  ListLit,    // items
  TupleLit,   // items
  DictLit,    // keys / items (parallel)
  GetAttr,    // object.name
  GetItem,    // object[index]
  Slice,      // [start:stop:step] inside GetItem (null parts allowed)
  Call,       // object(args..., kwargs...)
  Filter,     // object | name(args) ; object is null in {% filter %} blocks
  Test,       // object is [not] name(args)
  Unary,      // op object: "not", "-", "+"
  Binary,     // op: and or + - * / // % ** ~ == != < <= > >= in "not in"
  Conditional,  // then if cond else otherwise (otherwise may be null)
};

struct Expr {
  ExprKind kind;
  Position pos;
  Value value;                   // Literal
  std::string name;              // Name, GetAttr, Filter, Test, operator of Unary/Binary
  ExprPtr object;                // GetAttr/GetItem/Call/Filter/Test/Unary operand, Binary left
  ExprPtr other;                 // Binary right, GetItem index, Conditional test
  ExprPtr third;                 // Conditional otherwise
  std::vector<ExprPtr> items;    // list/tuple items, dict values, call/filter/test positional args
  std::vector<ExprPtr> keys;     // dict keys; Slice: start, stop, step
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // Call/Filter/Test keyword args
  bool negated = false;          // Test: `is not`
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Text,        // text
  Output,      // {{ expr }}
  If,          // conditions[i] -> bodies[i]; else_body
  For,         // targets in expr [if cond] body else else_body
  Set,         // target(s) = expr, or {% set target %}body{% endset %} (expr null)
  Macro,       // {% macro name(params) %}body
  CallBlock,   // {% call(params) expr %}body
  FilterBlock, // {% filter expr %}body ; expr is a Filter chain whose innermost object is null
  Scope,       // body in its own scope: {% generation %} (rendered as is) and {% with %}
  Break,
  Continue,
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null when required
};

struct Stmt {
  StmtKind kind;
  Position pos;
  std::string text;                  // Text; Macro name
  ExprPtr expr;                      // Output, For iterable, Set value, CallBlock call, FilterBlock
  ExprPtr condition;                 // For `if` filter
  std::vector<ExprPtr> conditions;   // If
  std::vector<Body> bodies;          // If
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // For/Set names (several: tuple unpacking)
  std::string target_attr;           // Set: `set ns.attr = ...` (targets[0] is ns)
  std::vector<MacroParam> params;    // Macro, CallBlock caller params; With assignments
  ExprPtr block_filter;              // Set block: `{% set x | filter %}`
};

struct Template {
  Body body;
};

}  // namespace pagoda::jinja
