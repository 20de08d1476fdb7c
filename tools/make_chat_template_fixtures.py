#!/usr/bin/env python3
"""Renders real chat templates with Python jinja2, configured as transformers' apply_chat_template
configures it, and writes tests/fixtures/chat_templates/expected.json for Pagoda's C++ parity test.

    python3 tools/make_chat_template_fixtures.py            # needs jinja2 >= 3.1 and the test data

Templates come from ${PAGODA_TEST_DATA:-~/.cache/pagoda/test-data} (scripts/fetch-test-data.sh):
llama.cpp/models/templates/*.jinja and the chat_template of tokenizer-llama3/ and tokenizer-qwen3/.
They are not committed; expected.json holds, per template and conversation, the rendered string or
the error jinja2 raised, plus the conversations themselves so the C++ test renders the same inputs.

The environment mirrors transformers.utils.chat_template_utils._compile_jinja_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension
and a {% generation %} block that renders its body, tojson = json.dumps(ensure_ascii=False, ...),
raise_exception raising TemplateError and strftime_now formatting a fixed clock (FIXED_TIME, UTC).
"""
import datetime
import json
import os
import pathlib
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

# 2024-07-26 14:05:09 UTC; the C++ test sets the same clock and TZ=UTC.
FIXED_TIME = 1722002709


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %} renders its body (transformers tracks indices)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        now = datetime.datetime.fromtimestamp(FIXED_TIME, tz=datetime.timezone.utc)
        return now.replace(tzinfo=None).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                         "description": "Temperature unit"},
                "days": {"type": "integer", "description": "Forecast days"},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_results": {"type": "number", "description": "At most this many"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["query"],
        },
    },
}


def conversations():
    """(name, inputs) pairs; inputs are exactly what the C++ ChatTemplateInputs carries."""
    user = {"role": "user", "content": "Hello, how are you?"}
    system = {"role": "system", "content": "You are a helpful assistant."}
    multi = [
        system,
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 = 4."},
        {"role": "user", "content": "And times 3?\nShow the steps."},
    ]
    tool_turns = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "a1b2c3d4e", "type": "function",
                         "function": {"name": "get_weather",
                                      "arguments": {"city": "Paris", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "a1b2c3d4e", "name": "get_weather",
         "content": "{\"temperature\": 22, \"condition\": \"sunny\"}"},
        {"role": "assistant", "content": "It is 22 °C and sunny in Paris."},
        {"role": "user", "content": "Thanks! Search for \"café\" recipes."},
    ]
    parts = [
        {"role": "user", "content": [{"type": "text", "text": "Describe this, please."},
                                     {"type": "text", "text": "Be brief."}]},
    ]
    unicode_turns = [
        {"role": "system", "content": "Réponds en français. 日本語も可。"},
        {"role": "user", "content": "  Ça va? <b>\"quoted\"</b> & 'single' \\ tab\there  "},
        {"role": "assistant", "content": "Oui 🙂"},
        {"role": "user", "content": "Encore."},
    ]
    thinking = [
        {"role": "user", "content": "Solve x + 1 = 3."},
        {"role": "assistant", "content": "x = 2.", "reasoning_content": "Subtract 1 from both sides."},
        {"role": "user", "content": "Now x + 2 = 3."},
    ]

    def conv(messages, tools=None, agp=True, extra=None):
        return {"messages": messages, "tools": tools, "add_generation_prompt": agp,
                "extra": extra or {}}

    return [
        ("single_user", conv([user])),
        ("single_user_no_prompt", conv([user], agp=False)),
        ("system_multi_turn", conv(multi)),
        ("system_multi_turn_closed",
         conv(multi + [{"role": "assistant", "content": "4 * 3 = 12."}], agp=False)),
        ("tools_with_calls", conv(tool_turns, tools=[WEATHER_TOOL, SEARCH_TOOL])),
        ("tools_with_calls_no_prompt", conv(tool_turns[:4], tools=[WEATHER_TOOL], agp=False)),
        ("tools_only", conv([system, user], tools=[WEATHER_TOOL])),
        ("content_parts", conv(parts)),
        ("unicode_and_quotes", conv(unicode_turns)),
        ("thinking_disabled", conv(thinking, extra={"enable_thinking": False})),
        ("thinking_enabled", conv(thinking, extra={"enable_thinking": True})),
    ]


def token_text(token):
    if isinstance(token, dict):  # AddedToken serialised form
        return token.get("content", "")
    return token or ""


def templates(data):
    out = {}
    for path in sorted((data / "llama.cpp" / "models" / "templates").glob("*.jinja")):
        out[path.name] = {"source_file": f"llama.cpp/models/templates/{path.name}",
                          "source": path.read_text(encoding="utf-8"),
                          "bos_token": "<s>", "eos_token": "</s>"}
    for name in ("tokenizer-llama3", "tokenizer-qwen3"):
        config = json.loads((data / name / "tokenizer_config.json").read_text(encoding="utf-8"))
        out[name] = {"source_file": f"{name}/tokenizer_config.json",
                     "source": config["chat_template"],
                     "bos_token": token_text(config.get("bos_token")),
                     "eos_token": token_text(config.get("eos_token"))}
    return out


def render_all(env, source, bos, eos, convs):
    results = {}
    try:
        template = env.from_string(source)
    except jinja2.exceptions.TemplateError as e:
        return {name: {"error": f"{type(e).__name__}: {e}"} for name, _ in convs}
    for name, inputs in convs:
        kwargs = dict(inputs["extra"])
        kwargs.update(messages=inputs["messages"], tools=inputs["tools"],
                      add_generation_prompt=inputs["add_generation_prompt"],
                      bos_token=bos, eos_token=eos)
        try:
            results[name] = {"output": template.render(**kwargs)}
        except Exception as e:  # jinja2 and Python errors alike: the C++ side must raise too
            results[name] = {"error": f"{type(e).__name__}: {e}"}
    return results


def main():
    data = pathlib.Path(os.environ.get("PAGODA_TEST_DATA",
                                       pathlib.Path.home() / ".cache/pagoda/test-data"))
    if not (data / "llama.cpp" / "models" / "templates").is_dir():
        sys.exit(f"no templates under {data}; run scripts/fetch-test-data.sh first")
    env = make_environment()
    convs = conversations()
    expected = {"fixed_time": FIXED_TIME,
                "conversations": {name: inputs for name, inputs in convs},
                "templates": {}}
    for name, t in templates(data).items():
        expected["templates"][name] = {
            "source_file": t["source_file"], "bos_token": t["bos_token"],
            "eos_token": t["eos_token"],
            "results": render_all(env, t["source"], t["bos_token"], t["eos_token"], convs)}
    out = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/chat_templates"
    out.mkdir(parents=True, exist_ok=True)
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")
    ok = sum(1 for t in expected["templates"].values() for r in t["results"].values()
             if "output" in r)
    total = sum(len(t["results"]) for t in expected["templates"].values())
    print(f"{len(expected['templates'])} templates, {ok}/{total} renderings succeeded")


if __name__ == "__main__":
    main()
