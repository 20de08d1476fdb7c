#include "cli/chat_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "pagoda/engine.h"
#include "pagoda/error.h"

namespace pagoda::cli {

CLI::App* ChatCommandOptions::add_to(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("chat", "chat with a model on the terminal (its chat template)");
  engine.add_to(*cmd);
  sampling.add_to(*cmd);
  cmd->add_option("--system", system, "a system message that starts the conversation");
  cmd->add_option("--chat-template", chat_template_file,
                  "a Jinja template file to use instead of the model's");
  cmd->add_option("--chat-template-kwargs", template_kwargs,
                  "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
  return cmd;
}

int run_chat_command(ChatCommandOptions& o) {
  const EngineArgs args = o.engine.resolve();
  if (serve_as_worker(args)) return 0;  // ranks > 0 under mpirun
  ChatOptions chat;
  if (!o.chat_template_file.empty()) {
    std::ifstream f(o.chat_template_file);
    PAGODA_CHECK(f.good(), NotFound,
                 fmt::format("cannot read --chat-template {}", o.chat_template_file),
                 "pass the path of a Jinja template file");
    std::stringstream text;
    text << f.rdbuf();
    chat.chat_template = text.str();
  }
  if (!o.template_kwargs.empty()) {
    try {
      chat.template_kwargs = nlohmann::ordered_json::parse(o.template_kwargs);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("--chat-template-kwargs is not JSON: {}", e.what()),
                  "pass a JSON object, e.g. '{\"enable_thinking\": false}'");
    }
    PAGODA_CHECK(chat.template_kwargs.is_object(), InvalidArgument,
                 "--chat-template-kwargs is not a JSON object",
                 "pass e.g. '{\"enable_thinking\": false}'");
  }
  LLM llm(args);
  SamplingParams defaults = llm.engine().default_sampling_params();
  defaults.max_tokens = std::nullopt;  // a reply runs until EOS (or the context is full)
  const SamplingParams params = o.sampling.resolve(defaults);
  const bool interactive = isatty(STDIN_FILENO);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  if (interactive)
    fmt::print("pagoda chat: /reset clears the conversation, /exit (or Ctrl-D) ends.\n");
  std::string line;
  while (true) {
    if (interactive) {
      fmt::print("> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      messages = nlohmann::ordered_json::array();
      if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    const auto results = llm.chat({messages}, {params}, chat, [](const RequestOutput& delta) {
      for (const auto& c : delta.outputs) fmt::print("{}", c.text);
      std::fflush(stdout);
    });
    fmt::print("\n");
    messages.push_back({{"role", "assistant"}, {"content", results.at(0).outputs.at(0).text}});
  }
  return 0;
}

}  // namespace pagoda::cli
