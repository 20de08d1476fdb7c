// One case per construct, filter, test and Python method chat templates use, with the output
// jinja2 (configured as transformers configures it) gives for the same template and variables.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "pagoda/chat_template.h"

namespace {

struct Case {
  const char* name;
  const char* source;
  const char* expected;
};

// The template variables every case sees (passed as `extra`).
const char* kContext = R"JT({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": [1, 2.5, null, true]}}}]}], "d": {"z": 1, "a": 2, "items": "key named items"}, "s": "  Hello World  ", "n": 7, "f": 2.5, "l": [3, 1, 2], "u": "héllo wörld", "e": "", "none_v": null})JT";

const Case kCases[] = {
    {"ws_trim_blocks",
     R"JT({% if true %}
A
{% endif %}
B)JT",
     R"JT(A
B)JT"},
    {"ws_lstrip_blocks",
     R"JT(x
    {% if true %}
    y
    {% endif %}
z)JT",
     R"JT(x
    y
z)JT"},
    {"ws_minus",
     R"JT(a   {{- 'b' -}}   c {%- if true -%}  d  {%- endif -%} e)JT",
     R"JT(abcde)JT"},
    {"ws_plus",
     R"JT(a
  {%+ if true %}b{% endif +%}
c)JT",
     R"JT(a
  b
c)JT"},
    {"ws_variable_not_lstripped",
     R"JT(a
  {{ 'b' }}
  c)JT",
     R"JT(a
  b
  c)JT"},
    {"comment",
     R"JT(a {# note #} b
{# line #}
c)JT",
     R"JT(a  b
c)JT"},
    {"raw",
     R"JT({% raw %}{{ not evaluated }}{% endraw %})JT",
     R"JT({{ not evaluated }})JT"},
    {"trailing_newline_dropped",
     R"JT(x
)JT",
     R"JT(x)JT"},
    {"arith",
     R"JT({{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }})JT",
     R"JT(7 9 3.5 3 -4 1 2 1024 0.5)JT"},
    {"floats",
     R"JT({{ 0.1 + 0.2 }} {{ 1e3 }} {{ 1.0 }} {{ 1e-5 }} {{ 1e16 }} {{ 3 * 1.5 }} {{ f }})JT",
     R"JT(0.30000000000000004 1000.0 1.0 1e-05 1e+16 4.5 2.5)JT"},
    {"concat",
     R"JT({{ 'a' ~ 1 ~ none ~ true }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 2 }})JT",
     R"JT(a1NoneTrue ab [1, 2] abab)JT"},
    {"compare",
     R"JT({{ 1 < 2 }} {{ 2 <= 1 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }})JT",
     R"JT(True False True True True True True)JT"},
    {"in",
     R"JT({{ 'a' in 'cat' }} {{ 2 in l }} {{ 'z' in d }} {{ 'q' not in d }} {{ 'x' in undefined_var }})JT",
     R"JT(True True True True False)JT"},
    {"logic_values",
     R"JT({{ 0 or 'x' }} {{ 1 and 'y' }} {{ none or [] }} {{ not 0 }} {{ not 'a' }})JT",
     R"JT(x y [] True False)JT"},
    {"ternary",
     R"JT({{ 'y' if n > 5 else 'n' }} {{ 'y' if n > 50 else 'n' }}[{{ 'y' if false }}])JT",
     R"JT(y n[])JT"},
    {"literals",
     R"JT({{ [1, 'a', none, true, (1,), (1, 2), {'k': 'v'}] }} {{ {'a': 1, 2: 'b'} }} {{ () }})JT",
     R"JT([1, 'a', None, True, (1,), (1, 2), {'k': 'v'}] {'a': 1, 2: 'b'} ())JT"},
    {"string_escapes",
     R"JT({{ 'a\nb\t\'c\' \u00e9 \x41' }} {{ "d\"q" }})JT",
     R"JT(a
b	'c' é A d"q)JT"},
    {"repr_strings",
     R"JT({{ ['it\'s', 'say "hi"', 'both \' "', 'nl\n'] }})JT",
     R"JT(["it's", 'say "hi"', 'both \' "', 'nl\n'])JT"},
    {"attr_and_item",
     R"JT({{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].tool_calls[0].function.name }} {{ d.z }} {{ d['items'] }})JT",
     R"JT(user Hi f 1 key named items)JT"},
    {"slicing",
     R"JT({{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ 'hello'[1:3] }} {{ u[1:4] }} {{ l[::2] }})JT",
     R"JT([1, 2] [3, 1] [2, 1, 3] el éll [3, 2])JT"},
    {"unary",
     R"JT({{ -n }} {{ -f }} {{ +n }} {{ -(1 + 2) }})JT",
     R"JT(-7 -2.5 7 -3)JT"},
    {"undefined_prints_empty",
     R"JT([{{ nothing }}][{{ d.missing }}][{{ none_v }}][{{ none_v.x }}])JT",
     R"JT([][][None][])JT"},
    {"undefined_tests",
     R"JT({{ nothing is defined }} {{ nothing is undefined }} {{ d.missing is defined }} {{ nothing | length }} {{ nothing | default('dflt') }})JT",
     R"JT(False True False 0 dflt)JT"},
    {"undefined_iteration",
     R"JT([{% for x in nothing %}{{ x }}{% endfor %}])JT",
     R"JT([])JT"},
    {"if_elif_else",
     R"JT({% for i in [1, 2, 3] %}{% if i == 1 %}one{% elif i == 2 %}two{% else %}other{% endif %},{% endfor %})JT",
     R"JT(one,two,other,)JT"},
    {"for_loop_vars",
     R"JT({% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %})JT",
     R"JT(1032TrueFalse3b;2121FalseFalse3ac;3210FalseTrue3b;)JT"},
    {"for_else",
     R"JT({% for x in [] %}{{ x }}{% else %}empty{% endfor %})JT",
     R"JT(empty)JT"},
    {"for_filter",
     R"JT({% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% endfor %})JT",
     R"JT(3222)JT"},
    {"for_dict",
     R"JT({% for k in d %}{{ k }},{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %})JT",
     R"JT(z,a,items, z=1;a=2;items=key named items;)JT"},
    {"for_string",
     R"JT({% for c in 'héllo' %}{{ c }}.{% endfor %})JT",
     R"JT(h.é.l.l.o.)JT"},
    {"break_continue",
     R"JT({% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %})JT",
     R"JT(0134)JT"},
    {"loop_cycle",
     R"JT({% for i in range(4) %}{{ loop.cycle('a', 'b') }}{% endfor %})JT",
     R"JT(abab)JT"},
    {"loop_scoping",
     R"JT({% set x = 1 %}{% for i in range(2) %}{% set x = 5 %}{{ x }}{% endfor %}{{ x }})JT",
     R"JT(551)JT"},
    {"nested_loops",
     R"JT({% for i in range(2) %}{% for j in range(2) %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}{% endfor %})JT",
     R"JT(001 012 101 112 )JT"},
    {"set_tuple",
     R"JT({% set a, b = 1, 2 %}{{ a }}{{ b }})JT",
     R"JT(12)JT"},
    {"set_block",
     R"JT({% set x %}  inner {{ n }}  {% endset %}[{{ x }}]{% set y | upper %}up{% endset %}{{ y }})JT",
     R"JT([  inner 7  ]UP)JT"},
    {"namespace",
     R"JT({% set ns = namespace(count=0, found=false) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }} {{ ns.found }})JT",
     R"JT(3 False)JT"},
    {"macro",
     R"JT({% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }})JT",
     R"JT(Hi A! Hi B? Hi C.)JT"},
    {"macro_varargs_kwargs",
     R"JT({% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }})JT",
     R"JT(1(2, 3){'x': 4})JT"},
    {"macro_recursion",
     R"JT({% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }})JT",
     R"JT(120)JT"},
    {"macro_sees_globals",
     R"JT({% macro m() %}{{ n }}{% endmacro %}{{ m() }})JT",
     R"JT(7)JT"},
    {"call_block",
     R"JT({% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %})JT",
     R"JT(<b>bold 7</b>)JT"},
    {"filter_block",
     R"JT({% filter upper %}shout {{ n }}{% endfilter %})JT",
     R"JT(SHOUT 7)JT"},
    {"generation_block",
     R"JT({% generation %}assistant text {{ n }}{% endgeneration %}!)JT",
     R"JT(assistant text 7!)JT"},
    {"with_block",
     R"JT({% with a = 1, b = n %}{{ a + b }}{% endwith %})JT",
     R"JT(8)JT"},
    {"tests_types",
     R"JT({{ 'a' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ 1 is integer }}{{ 1.5 is float }}{{ true is boolean }}{{ d is mapping }}{{ l is sequence }}{{ 'x' is iterable }}{{ 1 is iterable }}{{ none_v is none }})JT",
     R"JT(TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueFalseTrue)JT"},
    {"tests_values",
     R"JT({{ true is true }}{{ 0 is false }}{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}{{ 1 is eq 1 }}{{ 1 is ne 1 }}{{ 1 is lt 2 }}{{ 2 is ge 3 }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ 2 is in l }}{{ n is not none }})JT",
     R"JT(TrueFalseTrueTrueTrueFalseTrueFalseTrueFalseTrueTrueTrueTrue)JT"},
    {"f_tojson",
     R"JT({{ messages[1].tool_calls[0].function.arguments | tojson }} {{ u | tojson }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }})JT",
     R"JT({"b": 1, "a": [1, 2.5, null, true]} "héllo wörld" {"a": 2, "b": 1})JT"},
    {"f_tojson_indent",
     R"JT({{ {'a': [1, {'b': none}], 'c': {}} | tojson(indent=2) }}|{{ [1, 2] | tojson(separators=(',', ':')) }}|{{ 'é\n"' | tojson(ensure_ascii=true) }})JT",
     R"JT({
  "a": [
    1,
    {
      "b": null
    }
  ],
  "c": {}
}|[1,2]|"\u00e9\n\"")JT"},
    {"f_length",
     R"JT({{ l | length }} {{ d | count }} {{ u | length }} {{ '' | length }})JT",
     R"JT(3 3 11 0)JT"},
    {"f_trim_case",
     R"JT([{{ s | trim }}] {{ s | upper }} {{ 'hELLO wORLD-x' | title }} {{ 'hELLO wORLD' | capitalize }} {{ 'ÀB' | lower }})JT",
     R"JT([Hello World]   HELLO WORLD   Hello World-X Hello world àb)JT"},
    {"f_default",
     R"JT({{ nothing | default('a') }} {{ e | default('b') }} {{ e | default('c', true) }} {{ none_v | d('x') }} {{ n | default(0) }})JT",
     R"JT(a  c None 7)JT"},
    {"f_replace_join",
     R"JT({{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ l | join(', ') }} {{ messages | join('|', attribute='role') }})JT",
     R"JT(a+b+c bba 3, 1, 2 user|assistant)JT"},
    {"f_map_select",
     R"JT({{ messages | map(attribute='role') | list }} {{ ['1', '2'] | map('int') | sum }} {{ l | select('odd') | list }} {{ l | reject('odd') | list }} {{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | first }} {{ messages | rejectattr('tool_calls') | list | length }} {{ messages | selectattr('tool_calls', 'defined') | list | length }})JT",
     R"JT(['user', 'assistant'] 3 [3, 1] [2] Hi 1 1)JT"},
    {"f_first_last_list",
     R"JT({{ l | first }} {{ l | last }} {{ 'abc' | list }} {{ d | list }} {{ range(3) | list }} {{ range(1, 10, 3) | list }})JT",
     R"JT(3 2 ['a', 'b', 'c'] ['z', 'a', 'items'] [0, 1, 2] [1, 4, 7])JT"},
    {"f_numbers",
     R"JT({{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ '2.5' | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 1.2 | round(0, 'ceil') }})JT",
     R"JT(42 4 0 5 2.5 3 2.57 2.0 4.0 2.0)JT"},
    {"f_string_safe",
     R"JT({{ 5 | string }}{{ [1] | string }} {{ '<a>' | safe }} {{ '<a href="x">' | escape }} {{ 'x' | safe + '<' }})JT",
     R"JT(5[1] <a> &lt;a href=&#34;x&#34;&gt; x&lt;)JT"},
    {"f_indent",
     R"JT({{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent('> ', blank=true) }})JT",
     R"JT(a
    b

    c|  a
  b|a
> 
> b)JT"},
    {"f_sort_unique",
     R"JT({{ l | sort }} {{ l | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [1, 2, 1, 3] | unique | list }} {{ messages | sort(attribute='role', reverse=true) | map(attribute='role') | join }})JT",
     R"JT([1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] ['A', 'b', 'c'] [1, 2, 3] userassistant)JT"},
    {"f_dictsort_items",
     R"JT({{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ {'b': 2, 'a': 3, 'c': 1} | dictsort(by='value') }} {{ d | items | list }})JT",
     R"JT([('a', 2), ('items', 'key named items'), ('z', 1)] [('z', 1), ('items', 'key named items'), ('a', 2)] [('c', 1), ('b', 2), ('a', 3)] [('z', 1), ('a', 2), ('items', 'key named items')])JT"},
    {"f_reverse_misc",
     R"JT({{ 'abc' | reverse }} {{ l | reverse | list }} {{ 'a b  c' | wordcount }} {{ l | batch(2) | list }} {{ '%s=%d' | format('x', 3) }} {{ l | min }} {{ l | max }} {{ l | sum }})JT",
     R"JT(cba [2, 1, 3] 3 [[3, 1], [2]] x=3 1 3 6)JT"},
    {"m_strip_split",
     R"JT([{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxaxx'.strip('x') }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'l1\nl2\r\nl3'.splitlines() }})JT",
     R"JT([Hello World][Hello World  ][  Hello World][a] ['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c'] ['l1', 'l2', 'l3'])JT"},
    {"m_affix_case",
     R"JT({{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} {{ 'Hi'.upper() }} {{ 'Hi'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }})JT",
     R"JT(True True HI hi Hello World Hello)JT"},
    {"m_find_replace",
     R"JT({{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'héllo'.find('l') }} {{ 'aaa'.replace('a', 'b', 1) }} {{ 'a-b'.count('-') }} {{ ', '.join(['x', 'y']) }})JT",
     R"JT(2 3 -1 2 baa 1 x, y)JT"},
    {"m_format",
     R"JT({{ '{}-{}'.format(1, 'a') }} {{ '{0}{0}'.format('x') }} {{ '{name}!'.format(name='N') }} {{ '{:>5}|{:<4}|{:^5}|{:.2f}|{:03d}'.format('a', 'b', 'c', 3.14159, 7) }} {{ '%s and %r' % ('x', 'y') }} {{ '%05.1f%%' % 2.25 }})JT",
     R"JT(1-a xx N!     a|b   |  c  |3.14|007 x and 'y' 002.2%)JT"},
    {"m_dict",
     R"JT({{ d.get('z') }} {{ d.get('q') }} {{ d.get('q', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ 'z' in d.keys() }})JT",
     R"JT(1 None dflt ['z', 'a', 'items'] [1, 2, 'key named items'] [('z', 1), ('a', 2), ('items', 'key named items')] True)JT"},
    {"m_list",
     R"JT({{ l.index(1) }} {{ l.count(3) }} {{ [1, 2].copy() }})JT",
     R"JT(1 1 [1, 2])JT"},
    {"m_unsafe_is_undefined",
     R"JT({{ l.append is defined }} {{ d.pop is defined }} {{ d.update is defined }})JT",
     R"JT(False False False)JT"},
    {"g_range_dict_ns",
     R"JT({{ range(3) | list }} {{ range(2, 5) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1, b='x') }} {{ namespace(a=1).a }})JT",
     R"JT([0, 1, 2] [2, 3, 4] [5, 3, 1] {'a': 1, 'b': 'x'} 1)JT"},
    {"g_strftime",
     R"JT({{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %d') }})JT",
     R"JT(2024-07-26 14:05:09 Friday July 26)JT"},
    {"generator_truthy",
     R"JT({% if [] | select('odd') %}truthy{% endif %} {{ l | map('string') | join('') }})JT",
     R"JT(truthy 312)JT"},
    {"trailing_nl_in_block",
     R"JT({% for m in messages %}
{{ m.role }}
{% endfor %}
)JT",
     R"JT(user
assistant
)JT"},
};

class JinjaConstructTest : public ::testing::TestWithParam<Case> {};

TEST_P(JinjaConstructTest, RendersLikeJinja2) {
  const Case& c = GetParam();
  // strftime_now reads this clock in local time: 2024-07-26 14:05:09 UTC.
  setenv("TZ", "UTC", 1);
  tzset();
  pagoda::ChatTemplate tmpl(c.source, c.name);
  tmpl.set_clock([] { return std::time_t{1722002709}; });
  pagoda::ChatTemplateInputs in;
  in.extra = nlohmann::ordered_json::parse(kContext);
  in.messages = in.extra.at("messages");
  EXPECT_EQ(tmpl.render(in), c.expected) << c.source;
}

INSTANTIATE_TEST_SUITE_P(Constructs, JinjaConstructTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
