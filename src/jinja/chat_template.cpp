#include "pagoda/chat_template.h"

#include "jinja/ast.h"
#include "jinja/builtins.h"
#include "jinja/errors.h"
#include "jinja/interpreter.h"
#include "jinja/lexer.h"
#include "jinja/parser.h"
#include "pagoda/error.h"

namespace pagoda {

ChatTemplate::ChatTemplate(std::string source, std::string name)
    : source_(std::move(source)), name_(std::move(name)) {
  try {
    template_ = std::make_unique<jinja::Template>(jinja::parse_template(jinja::normalize_source(source_)));
  } catch (const jinja::SyntaxError& e) {
    throw_error(ErrorCode::InvalidFormat,
                "chat template '" + name_ + "' has a syntax error at line " +
                    std::to_string(e.line()) + ", column " + std::to_string(e.column()) + ": " +
                    e.what(),
                "fix the template (it must be valid Jinja2 as transformers renders it), or pass "
                "another chat template");
  }
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

void ChatTemplate::set_clock(std::function<std::time_t()> clock) { clock_ = std::move(clock); }

std::string ChatTemplate::render(const ChatTemplateInputs& inputs) const {
  using jinja::Value;
  jinja::Dict globals;
  jinja::add_global_functions(globals, clock_);
  if (inputs.extra.is_object()) {
    for (auto it = inputs.extra.begin(); it != inputs.extra.end(); ++it)
      globals.set(it.key(), Value::from_json(it.value()));
  } else {
    PAGODA_CHECK(inputs.extra.is_null(), InvalidArgument,
                 "ChatTemplateInputs::extra for chat template '" + name_ +
                     "' must be a JSON object of template variables, got " + inputs.extra.type_name(),
                 "pass extra variables as an object, e.g. {\"enable_thinking\": false}");
  }
  globals.set("messages", Value::from_json(inputs.messages));
  globals.set("tools", Value::from_json(inputs.tools));
  globals.set("add_generation_prompt", Value(inputs.add_generation_prompt));
  globals.set("bos_token", Value(inputs.bos_token));
  globals.set("eos_token", Value(inputs.eos_token));

  jinja::Interpreter interpreter(*template_, clock_);
  try {
    return interpreter.render(globals);
  } catch (const jinja::RenderError& e) {
    jinja::Position p = interpreter.position();
    bool raised = e.type() == "TemplateError";
    throw_error(raised ? ErrorCode::InvalidArgument : ErrorCode::InvalidFormat,
                "chat template '" + name_ + "' failed at line " + std::to_string(p.line) +
                    ", column " + std::to_string(p.column) + ": " + e.type() + ": " + e.what(),
                raised ? "the template rejects this conversation; change the messages, tools or "
                         "options it complains about"
                       : "the template cannot render this conversation (it expects other input "
                         "types or fields); check the messages against the template, or fix it");
  }
}

}  // namespace pagoda
