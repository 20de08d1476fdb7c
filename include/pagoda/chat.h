// Chat messages -> prompt text, with the model's chat template (tokenizer_config.json or
// chat_template.jinja), as transformers' apply_chat_template and vLLM's chat entry points do.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pagoda/chat_template.h"

namespace pagoda {

class Tokenizer;

struct ChatOptions {
  bool add_generation_prompt = true;
  // A list of tool specs the template may render (null: none).
  nlohmann::ordered_json tools;
  // Other template variables (vLLM's chat_template_kwargs, e.g. {"enable_thinking": false}).
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  // A template source that replaces the model's (vLLM's --chat-template).
  std::optional<std::string> chat_template;
};

// Renders conversations with one tokenizer's templates; parses each template once. Thread-safe.
class ChatFormatter {
 public:
  explicit ChatFormatter(std::shared_ptr<const Tokenizer> tokenizer);

  // The prompt text for `messages` ([{"role": ..., "content": ...}, ...]). The template is
  // options.chat_template, else the tokenizer's "tool_use" template when tools are given and it
  // has one, else its "default" template; a tokenizer without one is a pagoda::Error saying so.
  // The text already holds the template's special tokens: encode it without adding more.
  std::string render(const nlohmann::ordered_json& messages, const ChatOptions& options = {}) const;

  // True when the tokenizer has a chat template of its own.
  bool has_template() const;

 private:
  const ChatTemplate& parsed(const std::string& name, const std::string& source) const;

  std::shared_ptr<const Tokenizer> tokenizer_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::unique_ptr<ChatTemplate>> templates_;  // by source
};

}  // namespace pagoda
