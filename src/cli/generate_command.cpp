#include "cli/generate_command.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "pagoda/engine.h"
#include "pagoda/error.h"

namespace pagoda::cli {
namespace {

std::vector<int32_t> parse_token_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    PAGODA_CHECK(!item.empty() && ec == std::errc() && ptr == item.data() + item.size() &&
                     value >= 0 && value <= INT32_MAX,
                 InvalidArgument,
                 fmt::format("--prompt-token-ids '{}': '{}' is not a token id", text, item),
                 "write comma-separated non-negative integers, e.g. --prompt-token-ids 1,2,3");
    ids.push_back(static_cast<int32_t>(value));
    start = end + 1;
  }
  return ids;
}

nlohmann::json logprobs_json(const PositionLogprobs& position) {
  nlohmann::json out = nlohmann::json::array();
  for (const Logprob& l : position)
    out.push_back({{"token", l.token}, {"logprob", l.logprob}, {"rank", l.rank}, {"text", l.text}});
  return out;
}

nlohmann::json output_json(const RequestOutput& r) {
  nlohmann::json outputs = nlohmann::json::array();
  for (const CompletionOutput& c : r.outputs) {
    nlohmann::json o = {{"index", c.index},
                        {"text", c.text},
                        {"token_ids", c.token_ids},
                        {"finish_reason", c.finish_reason}};
    if (c.stop_token)
      o["stop_reason"] = *c.stop_token;
    else if (c.stop_string)
      o["stop_reason"] = *c.stop_string;
    else
      o["stop_reason"] = nullptr;
    if (!c.logprobs.empty()) {
      nlohmann::json steps = nlohmann::json::array();
      for (const auto& position : c.logprobs) steps.push_back(logprobs_json(position));
      o["logprobs"] = steps;
      o["cumulative_logprob"] = c.cumulative_logprob.value_or(0.0);
    }
    outputs.push_back(o);
  }
  nlohmann::json j = {{"request_id", r.request_id},
                      {"prompt", r.prompt},
                      {"prompt_token_ids", r.prompt_token_ids},
                      {"outputs", outputs},
                      {"num_cached_tokens", r.metrics.num_cached_tokens}};
  if (!r.prompt_logprobs.empty()) {
    nlohmann::json steps = nlohmann::json::array();
    steps.push_back(nullptr);  // the first prompt token has no logprob (vLLM's convention)
    for (const auto& position : r.prompt_logprobs) steps.push_back(logprobs_json(position));
    j["prompt_logprobs"] = steps;
  }
  return j;
}

std::string ids_text(const std::vector<int32_t>& ids) {
  return fmt::format("[{}]", fmt::join(ids, ", "));
}

}  // namespace

CLI::App* GenerateOptions::add_to(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("generate", "generate text for prompts (offline, batched)");
  engine.add_to(*cmd);
  sampling.add_to(*cmd);
  cmd->add_option("-p,--prompt", prompts, "a text prompt (repeatable for a batch)");
  cmd->add_option("--prompt-token-ids", prompt_token_ids,
                  "a prompt as token ids, e.g. 1,2,3 (repeatable for a batch)");
  cmd->add_option("--output", output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--stream", stream, "print tokens as they are generated (default for one prompt)");
  cmd->add_flag("--no-stream", no_stream, "print each output when it is complete");
  return cmd;
}

int run_generate_command(GenerateOptions& options) {
  const EngineArgs args = options.engine.resolve();
  if (serve_as_worker(args)) return 0;  // ranks > 0 under mpirun
  PAGODA_CHECK(!options.prompts.empty() || !options.prompt_token_ids.empty(), InvalidArgument,
               "generate needs a prompt", "pass --prompt TEXT or --prompt-token-ids 1,2,3");
  std::vector<Prompt> prompts;
  for (const auto& p : options.prompts) prompts.push_back(Prompt::from_text(p));
  for (const auto& p : options.prompt_token_ids)
    prompts.push_back(Prompt::from_tokens(parse_token_ids(p)));

  LLM llm(args);
  const SamplingParams params = options.sampling.resolve(llm.engine().default_sampling_params());
  const bool has_tokenizer = llm.engine().tokenizer() != nullptr;
  const bool json = options.output == "json";
  const bool stream =
      !json && !options.no_stream && (options.stream || (prompts.size() == 1 && params.n == 1));

  const auto start = std::chrono::steady_clock::now();
  std::function<void(const RequestOutput&)> on_output;
  if (stream)
    on_output = [&](const RequestOutput& delta) {
      for (const CompletionOutput& c : delta.outputs) {
        if (has_tokenizer)
          fmt::print("{}", c.text);
        else
          for (int32_t t : c.token_ids) fmt::print("{} ", t);
      }
      std::fflush(stdout);
    };
  const std::vector<RequestOutput> results = llm.generate(prompts, {params}, on_output);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int64_t prompt_tokens = 0, generated = 0;
  for (const auto& r : results) {
    prompt_tokens += static_cast<int64_t>(r.prompt_token_ids.size());
    for (const auto& c : r.outputs) generated += static_cast<int64_t>(c.token_ids.size());
  }
  if (json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results) all.push_back(output_json(r));
    fmt::print("{}\n", all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (stream) {
    fmt::print("\n");
  } else {
    for (size_t i = 0; i < results.size(); ++i)
      for (const CompletionOutput& c : results[i].outputs) {
        fmt::print("--- prompt {} output {} ({}, {} tokens)\n", i, c.index, c.finish_reason,
                   c.token_ids.size());
        fmt::print("{}\n", has_tokenizer ? c.text : ids_text(c.token_ids));
      }
  }
  std::fflush(stdout);  // the summary goes to stderr after everything printed above
  fmt::print(stderr,
             "{} prompts, {} prompt tokens, {} generated tokens in {:.2f} s ({:.1f} tokens/s)\n",
             results.size(), prompt_tokens, generated, seconds,
             seconds > 0 ? static_cast<double>(generated) / seconds : 0.0);
  return 0;
}

}  // namespace pagoda::cli
