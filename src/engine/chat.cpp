#include "pagoda/chat.h"

#include <fmt/format.h>

#include "pagoda/error.h"
#include "pagoda/tokenizer.h"

namespace pagoda {

ChatFormatter::ChatFormatter(std::shared_ptr<const Tokenizer> tokenizer)
    : tokenizer_(std::move(tokenizer)) {
  PAGODA_CHECK(tokenizer_ != nullptr, InvalidArgument, "chat needs a tokenizer, and there is none",
               "start the engine without skip_tokenizer_init");
}

bool ChatFormatter::has_template() const {
  return !tokenizer_->config().chat_templates.empty();
}

const ChatTemplate& ChatFormatter::parsed(const std::string& name,
                                          const std::string& source) const {
  std::lock_guard lock(mutex_);
  auto it = templates_.find(source);
  if (it == templates_.end())
    it = templates_.emplace(source, std::make_unique<ChatTemplate>(source, name)).first;
  return *it->second;
}

std::string ChatFormatter::render(const nlohmann::ordered_json& messages,
                                  const ChatOptions& options) const {
  PAGODA_CHECK(messages.is_array() && !messages.empty(), InvalidArgument,
               "the chat messages are not a non-empty list",
               "pass [{\"role\": \"user\", \"content\": \"...\"}, ...]");
  for (size_t i = 0; i < messages.size(); ++i)
    PAGODA_CHECK(
        messages[i].is_object() && messages[i].contains("role") && messages[i]["role"].is_string(),
        InvalidArgument, fmt::format("chat message {} has no string 'role'", i),
        "give every message a role (system, user, assistant or tool) and content");
  const auto& templates = tokenizer_->config().chat_templates;
  std::string name = "chat_template", source;
  if (options.chat_template) {
    source = *options.chat_template;
  } else {
    const bool tools = !options.tools.is_null() && !options.tools.empty();
    auto it = tools ? templates.find("tool_use") : templates.end();
    if (it == templates.end()) it = templates.find("default");
    PAGODA_CHECK(
        it != templates.end(), NotFound,
        fmt::format("the tokenizer ({}) has no chat template{}", tokenizer_->source(),
                    templates.empty() ? ""
                                      : fmt::format(" named 'default' (it has {})",
                                                    [&] {
                                                      std::string names;
                                                      for (const auto& [n, _] : templates)
                                                        names += (names.empty() ? "" : ", ") + n;
                                                      return names;
                                                    }())),
        "pass a template with --chat-template, or use a model whose tokenizer_config.json "
        "has a chat_template");
    name = it->first == "default" ? "chat_template" : "chat_template." + it->first;
    source = it->second;
  }
  ChatTemplateInputs inputs;
  inputs.messages = messages;
  inputs.tools = options.tools;
  inputs.add_generation_prompt = options.add_generation_prompt;
  inputs.bos_token = tokenizer_->config().bos_token.value_or("");
  inputs.eos_token = tokenizer_->config().eos_token.value_or("");
  inputs.extra = options.template_kwargs;
  return parsed(name, source).render(inputs);
}

}  // namespace pagoda
