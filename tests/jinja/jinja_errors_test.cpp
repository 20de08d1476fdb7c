// Errors: syntax errors at parse time and runtime errors while rendering are pagoda::Error naming
// the template, the line and column, and the problem as jinja2 words it; bad input never crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "pagoda/chat_template.h"
#include "pagoda/error.h"

namespace {

// The message of the pagoda::Error that `fn` throws, or "" (and a test failure) when none.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pagoda::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a pagoda::Error";
  return "";
}

std::string syntax_error(const std::string& source) {
  return error_of([&] { pagoda::ChatTemplate t(source, "my_template"); });
}

std::string render_error(const std::string& source, nlohmann::ordered_json extra = nullptr) {
  pagoda::ChatTemplate t(source, "my_template");
  pagoda::ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  if (!extra.is_null()) in.extra = extra;
  return error_of([&] { t.render(in); });
}

using ::testing::HasSubstr;

TEST(JinjaSyntaxErrors, NameTemplateLineColumnAndProblem) {
  std::string e = syntax_error("line one\n{% if x %}\nunclosed");
  EXPECT_THAT(e, HasSubstr("chat template 'my_template' has a syntax error"));
  EXPECT_THAT(e, HasSubstr("expected '{% endif %}'"));

  e = syntax_error("ok\n  {{ 1 + }}");
  EXPECT_THAT(e, HasSubstr("line 2, column 10"));
  EXPECT_THAT(e, HasSubstr("unexpected '}}'"));
}

TEST(JinjaSyntaxErrors, CoverTagsStringsAndNames) {
  EXPECT_THAT(syntax_error("{{ 'abc }}"), HasSubstr("unterminated string literal"));
  EXPECT_THAT(syntax_error("{{ x "), HasSubstr("missing end of print tag"));
  EXPECT_THAT(syntax_error("{% if x "), HasSubstr("missing end of block tag"));
  EXPECT_THAT(syntax_error("{# comment"), HasSubstr("missing end of comment tag"));
  EXPECT_THAT(syntax_error("{% endfor %}"), HasSubstr("unexpected 'endfor'"));
  EXPECT_THAT(syntax_error("{% include 'x' %}"), HasSubstr("unknown tag 'include'"));
  EXPECT_THAT(syntax_error("{% break %}"), HasSubstr("'break' outside of a for loop"));
  EXPECT_THAT(syntax_error("{{ x | no_such_filter }}"), HasSubstr("no filter named 'no_such_filter'"));
  EXPECT_THAT(syntax_error("{{ x is no_such_test }}"), HasSubstr("no test named 'no_such_test'"));
  EXPECT_THAT(syntax_error("{{ x $ y }}"), HasSubstr("unexpected character '$'"));
  EXPECT_THAT(syntax_error("{% for x in y recursive %}{% endfor %}"), HasSubstr("recursive"));
}

TEST(JinjaSyntaxErrors, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_THAT(syntax_error("{{ " + deep + " }}"), HasSubstr("nests too deeply"));
  // Unbalanced brackets hide the closing '}}' (jinja2 lexes it as two braces).
  EXPECT_THAT(syntax_error("{{ (((1 }}"), HasSubstr("missing end of print tag"));
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_THAT(syntax_error("{{ " + chain + " }}"), HasSubstr("nests too deeply"));
  std::string blocks;
  for (int i = 0; i < 1000; ++i) blocks += "{% if true %}";
  EXPECT_THAT(syntax_error(blocks), HasSubstr("nests too deeply"));
}

TEST(JinjaSyntaxErrors, UnknownFilterInsideIfFailsOnlyWhenEvaluated) {
  // jinja2 defers the check inside if-branches: the template parses and renders when the branch
  // is not taken (DeepSeek templates rely on it).
  pagoda::ChatTemplate t("{% if false %}{{ x | from_json }}{% endif %}ok", "t");
  EXPECT_EQ(t.render({}), "ok");
  EXPECT_THAT(render_error("{% if true %}{{ 'x' | from_json }}{% endif %}"),
              HasSubstr("No filter named 'from_json'"));
}

TEST(JinjaRuntimeErrors, RaiseExceptionCarriesTheTemplatesMessageAndPosition) {
  std::string e = render_error("abc\n  {{ raise_exception('Roles must alternate') }}");
  EXPECT_THAT(e, HasSubstr("chat template 'my_template' failed at line 2, column"));
  EXPECT_THAT(e, HasSubstr("TemplateError: Roles must alternate"));
  pagoda::ChatTemplate t("{{ raise_exception('bad role') }}", "t");
  try {
    t.render({});
    FAIL() << "expected an error";
  } catch (const pagoda::Error& err) {
    EXPECT_EQ(err.code(), pagoda::ErrorCode::InvalidArgument);
    EXPECT_FALSE(err.fix().empty());
  }
}

TEST(JinjaRuntimeErrors, UndefinedAttributesFailAsInJinja2) {
  EXPECT_THAT(render_error("{{ nothing.attr }}"), HasSubstr("UndefinedError: 'nothing' is undefined"));
  EXPECT_THAT(render_error("{{ messages[0].missing.attr }}"),
              HasSubstr("'dict object' has no attribute 'missing'"));
  EXPECT_THAT(render_error("{{ nothing + 1 }}"), HasSubstr("'nothing' is undefined"));
  EXPECT_THAT(render_error("{{ nothing() }}"), HasSubstr("'nothing' is undefined"));
}

TEST(JinjaRuntimeErrors, PythonTypeErrors) {
  EXPECT_THAT(render_error("{{ 'a' + 1 }}"), HasSubstr("can only concatenate str (not \"int\") to str"));
  EXPECT_THAT(render_error("{{ 1 < 'a' }}"),
              HasSubstr("'<' not supported between instances of 'int' and 'str'"));
  EXPECT_THAT(render_error("{% for x in none %}{% endfor %}"), HasSubstr("'NoneType' object is not iterable"));
  EXPECT_THAT(render_error("{{ 1 / 0 }}"), HasSubstr("ZeroDivisionError"));
  EXPECT_THAT(render_error("{{ 5 | length }}"), HasSubstr("object of type 'int' has no len()"));
  EXPECT_THAT(render_error("{{ {'a': 1} | map('upper') | tojson }}"),
              HasSubstr("Object of type generator is not JSON serializable"));
  EXPECT_THAT(render_error("{{ 9223372036854775807 + 1 }}"), HasSubstr("OverflowError"));
  EXPECT_THAT(render_error("{{ 'x'.split('') }}"), HasSubstr("empty separator"));
}

TEST(JinjaRuntimeErrors, SandboxRefusesMutatingMethods) {
  // ImmutableSandboxedEnvironment: list.append / dict.update exist but are unsafe to call.
  EXPECT_THAT(render_error("{% set l = [] %}{{ l.append(1) }}"),
              HasSubstr("SecurityError: access to attribute 'append' of 'list' object is unsafe."));
  EXPECT_THAT(render_error("{% set d = {} %}{{ d.update({'a': 1}) }}"),
              HasSubstr("access to attribute 'update' of 'dict' object is unsafe."));
  EXPECT_THAT(render_error("{% set x = 1 %}{% set x.attr = 2 %}"),
              HasSubstr("cannot assign attribute on non-namespace object"));
}

TEST(JinjaRuntimeErrors, RunawayTemplatesStop) {
  EXPECT_THAT(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
              HasSubstr("maximum recursion depth exceeded"));
  EXPECT_THAT(render_error("{{ range(1000000) | length }}"), HasSubstr("Range too big"));
}

TEST(ChatTemplateApi, VariablesAndDefaults) {
  pagoda::ChatTemplate t(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
      "{{ tools is none }}{% if add_generation_prompt %}>{% endif %}{{ eos_token }}{{ flag }}",
      "api");
  pagoda::ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.add_generation_prompt = true;
  in.extra["flag"] = 42;
  EXPECT_EQ(t.render(in), "<s>[user:hi]True></s>42");
  in.tools = nlohmann::ordered_json::array();
  in.add_generation_prompt = false;
  EXPECT_EQ(t.render(in), "<s>[user:hi]False</s>42");
  EXPECT_EQ(t.name(), "api");
}

TEST(ChatTemplateApi, RendersConcurrently) {
  pagoda::ChatTemplate t(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "{{ m.content | upper }}{% endfor %}{{ ns.n }}",
      "threads");
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      pagoda::ChatTemplateInputs in;
      for (int k = 0; k <= i; ++k) in.messages.push_back({{"role", "user"}, {"content", "x"}});
      for (int rep = 0; rep < 50; ++rep) results[static_cast<size_t>(i)] = t.render(in);
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(results[static_cast<size_t>(i)], std::string(static_cast<size_t>(i) + 1, 'X') + std::to_string(i + 1));
}

TEST(ChatTemplateApi, MalformedInputNeverCrashes) {
  // Arbitrary bytes and truncated templates either parse or throw pagoda::Error.
  const std::string pieces[] = {"{{", "}}", "{%", "%}", "{#", "#}", "if", "for", "x", "in", "'",
                                "\"", "(", ")", "[", "]", "|", ".", "-", "\xff", "\n", " ", "endif",
                                "endfor", "set", "=", "1", ",", "{", "}", ":", "macro", "not"};
  uint32_t seed = 12345;
  for (int i = 0; i < 3000; ++i) {
    std::string src;
    int n = 1 + static_cast<int>(seed % 12);
    for (int k = 0; k < n; ++k) {
      seed = seed * 1664525u + 1013904223u;
      src += pieces[(seed >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
    }
    try {
      pagoda::ChatTemplate t(src, "fuzz");
      t.render({});
    } catch (const pagoda::Error&) {
    }
  }
  SUCCEED();
}

}  // namespace
