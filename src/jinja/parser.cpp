#include "jinja/parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/lexer.h"

namespace pagoda::jinja {
namespace {

// Deep nesting of expressions or blocks would overflow the stack; no real template comes close.
constexpr int kMaxDepth = 400;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Template parse() {
    Template t;
    t.body = parse_statements({});
    if (cur().type != TokenType::Eof) {
      // parse_statements stops at an end tag nobody opened.
      throw error("unexpected '" + cur().value + "': no open block ends here", cur());
    }
    return t;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek(size_t n = 1) const {
    return tokens_[std::min(pos_ + n, tokens_.size() - 1)];
  }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_op(std::string_view op) const {
    return cur().type == TokenType::Operator && cur().value == op;
  }
  bool is_name(std::string_view name) const {
    return cur().type == TokenType::Name && cur().value == name;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::Eof: return "end of template";
      case TokenType::Text: return "template text";
      case TokenType::VarBegin: return "'{{'";
      case TokenType::VarEnd: return "'}}'";
      case TokenType::BlockBegin: return "'{%'";
      case TokenType::BlockEnd: return "'%}'";
      case TokenType::String: return "string literal";
      default: return "'" + t.value + "'";
    }
  }
  SyntaxError error(const std::string& message, const Token& at) const {
    return SyntaxError(message, at.line, at.column);
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op))
      throw error("expected '" + std::string(op) + "' but found " + describe(cur()), cur());
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) throw error("expected a name but found " + describe(cur()), cur());
    std::string n = cur().value;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd)
      throw error("expected '%}' but found " + describe(cur()), cur());
    advance();
  }
  Position here() const { return Position{cur().line, cur().column}; }

  // Left-associative chains (a + b + c, x.y.z, v | f | g) are parsed in loops, but the AST and its
  // evaluation recurse once per link, so each link counts as a level too.
  struct ChainGuard {
    explicit ChainGuard(Parser* p) : p(p) {}
    void link() {
      ++links;
      if (++p->depth_ > kMaxDepth) throw p->error("template nests too deeply", p->cur());
    }
    ~ChainGuard() { p->depth_ -= links; }
    Parser* p;
    int links = 0;
  };

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxDepth) throw p->error("template nests too deeply", p->cur());
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  // ---- statements ----
  // Parses until EOF or a `{% name` whose name is in `ends`; leaves the stream on that name.
  Body parse_statements(const std::vector<std::string>& ends) {
    DepthGuard guard(this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::Eof) {
        if (!ends.empty())
          throw error("unexpected end of template: expected '{% " + ends.back() + " %}'", t);
        return body;
      }
      if (t.type == TokenType::Text) {
        auto s = make_stmt(StmtKind::Text);
        s->text = t.value;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VarBegin) {
        auto s = make_stmt(StmtKind::Output);
        advance();
        s->expr = parse_tuple(true);
        if (cur().type != TokenType::VarEnd)
          throw error("expected '}}' but found " + describe(cur()), cur());
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const Token& name = peek();
        if (name.type == TokenType::Name &&
            std::find(ends.begin(), ends.end(), name.value) != ends.end()) {
          advance();  // leave the stream on the end name
          return body;
        }
        advance();
        body.push_back(parse_statement());
      } else {
        throw error("unexpected " + describe(t), t);
      }
    }
  }

  StmtPtr make_stmt(StmtKind kind) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->pos = here();
    return s;
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.type != TokenType::Name) throw error("expected a tag name after '{%'", t);
    const std::string tag = t.value;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "call") return parse_call_block();
    if (tag == "filter") return parse_filter_block();
    if (tag == "generation") return parse_scope("endgeneration");
    if (tag == "with") return parse_with();
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) throw error("'" + tag + "' outside of a for loop", t);
      auto s = make_stmt(tag == "break" ? StmtKind::Break : StmtKind::Continue);
      advance();
      expect_block_end();
      return s;
    }
    if (tag.rfind("end", 0) == 0 || tag == "elif" || tag == "else")
      throw error("unexpected '" + tag + "': no open block ends or continues here", t);
    throw error("unknown tag '" + tag + "'", t);
  }

  StmtPtr parse_if() {
    auto s = make_stmt(StmtKind::If);
    advance();  // if
    while (true) {
      s->conditions.push_back(parse_tuple(false));
      expect_block_end();
      s->bodies.push_back(parse_statements({"elif", "else", "endif"}));
      std::string end = cur().value;
      advance();
      if (end == "elif") continue;
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_statements({"endif"});
        advance();
      }
      expect_block_end();
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    do {
      if (paren && is_op(")")) break;
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for() {
    auto s = make_stmt(StmtKind::For);
    advance();  // for
    s->targets = parse_targets();
    if (!skip_name("in")) throw error("expected 'in' in for loop but found " + describe(cur()), cur());
    s->expr = parse_tuple(false, /*for_iter=*/true);
    if (skip_name("if")) s->condition = parse_expression(true);
    if (is_name("recursive")) throw error("recursive for loops are not supported", cur());
    expect_block_end();
    ++loop_depth_;
    s->body = parse_statements({"endfor", "else"});
    --loop_depth_;
    if (cur().value == "else") {
      advance();
      expect_block_end();
      s->else_body = parse_statements({"endfor"});
    }
    advance();  // endfor
    expect_block_end();
    return s;
  }

  StmtPtr parse_set() {
    auto s = make_stmt(StmtKind::Set);
    advance();  // set
    const Token& first = cur();
    if (first.type == TokenType::Name && peek().type == TokenType::Operator && peek().value == ".") {
      s->targets.push_back(expect_name());
      advance();  // .
      s->target_attr = expect_name();
    } else {
      s->targets = parse_targets();
    }
    if (skip_op("=")) {
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (s->targets.size() != 1 || !s->target_attr.empty())
      throw error("a block set assigns exactly one name", first);
    if (is_op("|")) s->block_filter = parse_filter_chain(nullptr);
    expect_block_end();
    s->body = parse_statements({"endset"});
    advance();
    expect_block_end();
    return s;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression(true);
      params.push_back(std::move(p));
    }
    expect_op(")");
    return params;
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(StmtKind::Macro);
    advance();  // macro
    s->text = expect_name();
    s->params = parse_params();
    expect_block_end();
    int saved_loop = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements({"endmacro"});
    loop_depth_ = saved_loop;
    advance();
    if (cur().type == TokenType::Name) advance();  // `{% endmacro name %}`
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = make_stmt(StmtKind::CallBlock);
    advance();  // call
    if (is_op("(")) s->params = parse_params();
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) throw error("expected a call after 'call'", cur());
    expect_block_end();
    s->body = parse_statements({"endcall"});
    advance();
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = make_stmt(StmtKind::FilterBlock);
    // `{% filter upper | trim %}`: the filter chain starts without a leading `|`.
    advance();  // filter
    s->expr = parse_filter_chain(nullptr, /*leading_pipe=*/false);
    expect_block_end();
    s->body = parse_statements({"endfilter"});
    advance();
    expect_block_end();
    return s;
  }

  StmtPtr parse_scope(const std::string& end) {
    auto s = make_stmt(StmtKind::Scope);
    advance();
    expect_block_end();
    s->body = parse_statements({end});
    advance();
    expect_block_end();
    return s;
  }

  StmtPtr parse_with() {
    auto s = make_stmt(StmtKind::Scope);
    advance();  // with
    while (cur().type != TokenType::BlockEnd) {
      if (!s->params.empty()) expect_op(",");
      MacroParam p;
      p.name = expect_name();
      expect_op("=");
      p.default_value = parse_expression(true);
      s->params.push_back(std::move(p));
    }
    expect_block_end();
    s->body = parse_statements({"endwith"});
    advance();
    expect_block_end();
    return s;
  }

  // ---- expressions ----
  ExprPtr make_expr(ExprKind kind, Position pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  bool at_tuple_end(bool for_iter) const {
    return cur().type == TokenType::VarEnd || cur().type == TokenType::BlockEnd ||
           cur().type == TokenType::Eof || is_op(")") || (for_iter && is_name("if"));
  }

  // Comma-separated expressions; a tuple when a comma appears.
  ExprPtr parse_tuple(bool with_condexpr, bool for_iter = false) {
    Position pos = here();
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        comma = true;
        if (at_tuple_end(for_iter)) break;
      }
      items.push_back(parse_expression(with_condexpr));
      if (!is_op(",")) break;
    }
    if (!comma && items.size() == 1) return std::move(items[0]);
    auto t = make_expr(ExprKind::TupleLit, pos);
    t->items = std::move(items);
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    Position pos = here();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      advance();
      auto c = make_expr(ExprKind::Conditional, pos);
      c->other = parse_or();
      c->object = std::move(expr);
      if (skip_name("else")) c->third = parse_condexpr();
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, Position pos) {
    auto b = make_expr(ExprKind::Binary, pos);
    b->name = std::move(op);
    b->object = std::move(left);
    b->other = std::move(right);
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    ChainGuard chain(this);
    while (is_name("or")) {
      chain.link();
      Position pos = here();
      advance();
      left = binary("or", std::move(left), parse_and(), pos);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    ChainGuard chain(this);
    while (is_name("and")) {
      chain.link();
      Position pos = here();
      advance();
      left = binary("and", std::move(left), parse_not(), pos);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Position pos = here();
      advance();
      DepthGuard guard(this);
      auto u = make_expr(ExprKind::Unary, pos);
      u->name = "not";
      u->object = parse_not();
      return u;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    ChainGuard chain(this);
    while (true) {
      chain.link();
      Position pos = here();
      std::string op;
      if (cur().type == TokenType::Operator &&
          (cur().value == "==" || cur().value == "!=" || cur().value == "<" ||
           cur().value == "<=" || cur().value == ">" || cur().value == ">=")) {
        op = cur().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().value == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        return left;
      }
      // Python chains comparisons (a < b < c); jinja2 too, but templates do not use it, so
      // chaining evaluates left to right pairwise, which matches for the two-operand case.
      left = binary(op, std::move(left), parse_math1(), pos);
    }
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    ChainGuard chain(this);
    while (is_op("+") || is_op("-")) {
      chain.link();
      Position pos = here();
      std::string op = cur().value;
      advance();
      left = binary(op, std::move(left), parse_concat(), pos);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    ChainGuard chain(this);
    while (is_op("~")) {
      chain.link();
      Position pos = here();
      advance();
      left = binary("~", std::move(left), parse_math2(), pos);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    ChainGuard chain(this);
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      chain.link();
      Position pos = here();
      std::string op = cur().value;
      advance();
      left = binary(op, std::move(left), parse_pow(), pos);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    ChainGuard chain(this);
    while (is_op("**")) {
      chain.link();
      Position pos = here();
      advance();
      left = binary("**", std::move(left), parse_unary(true), pos);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(this);
    Position pos = here();
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto u = make_expr(ExprKind::Unary, pos);
      u->name = cur().value;
      advance();
      u->object = parse_unary(false);
      node = std::move(u);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    Position pos = here();
    switch (t.type) {
      case TokenType::Name: {
        auto e = make_expr(ExprKind::Literal, pos);
        if (t.value == "true" || t.value == "True") e->value = Value(true);
        else if (t.value == "false" || t.value == "False") e->value = Value(false);
        else if (t.value == "none" || t.value == "None") e->value = Value::none();
        else {
          e->kind = ExprKind::Name;
          e->name = t.value;
        }
        advance();
        return e;
      }
      case TokenType::String: {
        std::string s;
        while (cur().type == TokenType::String) {
          s += cur().value;
          advance();
        }
        auto e = make_expr(ExprKind::Literal, pos);
        e->value = Value(std::move(s));
        return e;
      }
      case TokenType::Int: {
        auto e = make_expr(ExprKind::Literal, pos);
        int64_t v = 0;
        auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        if (res.ec != std::errc()) throw error("integer literal " + t.value + " is out of range", t);
        e->value = Value(v);
        advance();
        return e;
      }
      case TokenType::Float: {
        auto e = make_expr(ExprKind::Literal, pos);
        e->value = Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return e;
      }
      case TokenType::Operator:
        if (t.value == "(") {
          advance();
          if (skip_op(")")) {
            auto e = make_expr(ExprKind::TupleLit, pos);
            return e;
          }
          ExprPtr inner = parse_tuple(true);
          if (inner->kind == ExprKind::TupleLit) inner->pos = pos;
          expect_op(")");
          return inner;
        }
        if (t.value == "[") {
          advance();
          auto e = make_expr(ExprKind::ListLit, pos);
          while (!is_op("]")) {
            if (!e->items.empty()) {
              expect_op(",");
              if (is_op("]")) break;
            }
            e->items.push_back(parse_expression(true));
          }
          expect_op("]");
          return e;
        }
        if (t.value == "{") {
          advance();
          auto e = make_expr(ExprKind::DictLit, pos);
          while (!is_op("}")) {
            if (!e->items.empty()) {
              expect_op(",");
              if (is_op("}")) break;
            }
            e->keys.push_back(parse_expression(true));
            expect_op(":");
            e->items.push_back(parse_expression(true));
          }
          expect_op("}");
          return e;
        }
        break;
      default:
        break;
    }
    throw error("unexpected " + describe(t) + " in expression", t);
  }

  ExprPtr parse_postfix(ExprPtr node) {
    ChainGuard chain(this);
    while (true) {
      chain.link();
      if (is_op(".") || is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    ChainGuard chain(this);
    while (true) {
      chain.link();
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    Position pos = here();
    if (skip_op(".")) {
      if (cur().type == TokenType::Name) {
        auto e = make_expr(ExprKind::GetAttr, pos);
        e->name = cur().value;
        e->object = std::move(node);
        advance();
        return e;
      }
      if (cur().type == TokenType::Int) {
        auto e = make_expr(ExprKind::GetItem, pos);
        e->object = std::move(node);
        e->other = parse_primary();
        return e;
      }
      throw error("expected an attribute name after '.' but found " + describe(cur()), cur());
    }
    expect_op("[");
    auto e = make_expr(ExprKind::GetItem, pos);
    e->object = std::move(node);
    std::vector<ExprPtr> indices;
    do {
      if (is_op("]")) break;
      indices.push_back(parse_subscribed());
    } while (skip_op(","));
    expect_op("]");
    if (indices.empty()) throw error("empty subscript '[]'", cur());
    if (indices.size() == 1) {
      e->other = std::move(indices[0]);
    } else {
      auto t = make_expr(ExprKind::TupleLit, pos);
      t->items = std::move(indices);
      e->other = std::move(t);
    }
    return e;
  }

  ExprPtr parse_subscribed() {
    Position pos = here();
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression(true);
      if (!is_op(":")) return start;
    }
    auto s = make_expr(ExprKind::Slice, pos);
    s->keys.resize(3);
    s->keys[0] = std::move(start);
    advance();  // ':'
    if (!is_op("]") && !is_op(",") && !is_op(":")) s->keys[1] = parse_expression(true);
    if (skip_op(":")) {
      if (!is_op("]") && !is_op(",")) s->keys[2] = parse_expression(true);
    }
    return s;
  }

  void parse_call_args(Expr* e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) throw error("*args and **kwargs in calls are not supported", cur());
      if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().value == "=") {
        std::string key = cur().value;
        advance();
        advance();
        e->kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!e->kwargs.empty()) throw error("positional argument follows keyword argument", cur());
        e->items.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make_expr(ExprKind::Call, here());
    e->object = std::move(node);
    parse_call_args(e.get());
    return e;
  }

  // `| name(args) | name ...`; with leading_pipe false the first filter has no `|` ({% filter %}).
  ExprPtr parse_filter_chain(ExprPtr node, bool leading_pipe = true) {
    bool first = true;
    ChainGuard chain(this);
    while ((first && !leading_pipe) || is_op("|")) {
      chain.link();
      if (!(first && !leading_pipe)) advance();  // |
      first = false;
      auto e = make_expr(ExprKind::Filter, here());
      e->name = expect_name();
      while (skip_op(".")) {
        e->name += '.';
        e->name += expect_name();
      }
      if (is_op("(")) parse_call_args(e.get());
      e->object = std::move(node);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    auto e = make_expr(ExprKind::Test, here());
    advance();  // is
    e->negated = skip_name("not");
    e->name = expect_name();
    while (skip_op(".")) e->name += "." + expect_name();
    e->object = std::move(node);
    if (is_op("(")) {
      parse_call_args(e.get());
    } else {
      const Token& t = cur();
      bool arg_start = t.type == TokenType::Name || t.type == TokenType::String ||
                       t.type == TokenType::Int || t.type == TokenType::Float ||
                       (t.type == TokenType::Operator && (t.value == "[" || t.value == "{"));
      if (arg_start && !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if")) {
        if (is_name("is")) throw error("you cannot chain multiple tests with 'is'", t);
        e->items.push_back(parse_postfix(parse_primary()));
      }
    }
    return e;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

// jinja2 rejects unknown filters and tests when compiling, except where the compiler is in a
// "soft" frame (if branches and conditional expressions); there they fail when evaluated.
void check_names(const Expr* e, bool soft);

void check_names_body(const Body& body, bool soft);

void check_names(const Expr* e, bool soft) {
  if (!e) return;
  if (e->kind == ExprKind::Conditional) soft = true;
  if (!soft && e->kind == ExprKind::Filter && !has_filter(e->name))
    throw SyntaxError("no filter named '" + e->name + "'", e->pos.line, e->pos.column);
  if (!soft && e->kind == ExprKind::Test && !has_test(e->name))
    throw SyntaxError("no test named '" + e->name + "'", e->pos.line, e->pos.column);
  check_names(e->object.get(), soft);
  check_names(e->other.get(), soft);
  check_names(e->third.get(), soft);
  for (const auto& x : e->items) check_names(x.get(), soft);
  for (const auto& x : e->keys) check_names(x.get(), soft);
  for (const auto& [k, x] : e->kwargs) check_names(x.get(), soft);
}

void check_names_body(const Body& body, bool soft) {
  for (const auto& s : body) {
    switch (s->kind) {
      case StmtKind::If:
        for (const auto& c : s->conditions) check_names(c.get(), true);
        for (const auto& b : s->bodies) check_names_body(b, true);
        check_names_body(s->else_body, true);
        break;
      case StmtKind::For:
        check_names(s->expr.get(), soft);
        check_names(s->condition.get(), false);
        check_names_body(s->body, false);
        check_names_body(s->else_body, false);
        break;
      default:
        check_names(s->expr.get(), soft);
        check_names(s->block_filter.get(), soft);
        for (const auto& p : s->params) check_names(p.default_value.get(), soft);
        check_names_body(s->body, false);
        break;
    }
  }
}

}  // namespace

Template parse_template(std::string_view source) {
  Template t = Parser(tokenize(source)).parse();
  check_names_body(t.body, false);
  return t;
}

}  // namespace pagoda::jinja
