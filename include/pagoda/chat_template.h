// Renders Hugging Face chat templates (the Jinja2 `chat_template` of tokenizer_config.json or
// chat_template.jinja) to the same bytes transformers' apply_chat_template produces: jinja2's
// ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loopcontrols, transformers'
// tojson, raise_exception and strftime_now, and {% generation %} blocks rendered as plain text.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace pagoda {

namespace jinja {
struct Template;
}

// JSON values are nlohmann::ordered_json because templates iterate dicts (tool parameter
// properties, tool call arguments) in insertion order, as Python does; nlohmann::json would sort
// the keys and change the rendered prompt. A nlohmann::json converts implicitly (keys sorted).
struct ChatTemplateInputs {
  // [{"role": ..., "content": string or [{"type": "text", "text": ...}, ...], "tool_calls": ...}]
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null (the template sees None) or a list of tool specs
  bool add_generation_prompt = false;
  std::string bos_token, eos_token;
  // Other template variables (enable_thinking, documents, ...); they override nothing above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // Parses once. A syntax error throws pagoda::Error naming `name`, the line and the column.
  explicit ChatTemplate(std::string source, std::string name = "chat_template");
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders the conversation. Errors the template raises (raise_exception, undefined attributes,
  // type errors) throw pagoda::Error with the template's message, line and column. Thread-safe.
  std::string render(const ChatTemplateInputs& inputs) const;

  // The clock strftime_now() reads (local time, like Python's datetime.now()); for tests.
  void set_clock(std::function<std::time_t()> clock);

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string name_;
  std::unique_ptr<jinja::Template> template_;
  std::function<std::time_t()> clock_;
};

}  // namespace pagoda
