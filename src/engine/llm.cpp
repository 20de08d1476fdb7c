#include <fmt/format.h>

#include <map>

#include "pagoda/engine.h"
#include "pagoda/error.h"

namespace pagoda {

void accumulate_output(RequestOutput& total, const RequestOutput& delta) {
  if (total.request_id.empty()) total.request_id = delta.request_id;
  if (!delta.prompt_token_ids.empty()) {
    total.prompt_token_ids = delta.prompt_token_ids;
    total.prompt = delta.prompt;
  }
  if (!delta.prompt_logprobs.empty()) total.prompt_logprobs = delta.prompt_logprobs;
  for (const CompletionOutput& d : delta.outputs) {
    auto it = std::find_if(total.outputs.begin(), total.outputs.end(),
                           [&](const CompletionOutput& c) { return c.index == d.index; });
    if (it == total.outputs.end()) {
      total.outputs.push_back(CompletionOutput{});
      it = total.outputs.end() - 1;
      it->index = d.index;
    }
    it->text += d.text;
    it->token_ids.insert(it->token_ids.end(), d.token_ids.begin(), d.token_ids.end());
    it->logprobs.insert(it->logprobs.end(), d.logprobs.begin(), d.logprobs.end());
    it->cumulative_logprob = d.cumulative_logprob;
    it->finish_reason = d.finish_reason;
    it->stop_token = d.stop_token;
    it->stop_string = d.stop_string;
  }
  std::sort(total.outputs.begin(), total.outputs.end(),
            [](const CompletionOutput& a, const CompletionOutput& b) { return a.index < b.index; });
  total.finished = delta.finished;
  total.metrics = delta.metrics;
}

LLM::LLM(const EngineArgs& args) : engine_(std::make_unique<EngineCore>(args)) {}
LLM::~LLM() = default;

std::vector<RequestOutput> LLM::generate(
    const std::vector<Prompt>& prompts, const std::vector<SamplingParams>& params,
    const std::function<void(const RequestOutput& delta)>& on_output) {
  PAGODA_CHECK(params.size() <= 1 || params.size() == prompts.size(), InvalidArgument,
               fmt::format("generate got {} prompts and {} sampling parameters; expected one set "
                           "for all prompts or one per prompt",
                           prompts.size(), params.size()),
               "pass a single SamplingParams, or one per prompt");
  std::map<std::string, size_t> index_of;
  std::vector<std::string> ids;
  try {
    for (size_t i = 0; i < prompts.size(); ++i) {
      EngineRequest r;
      r.request_id = fmt::format("llm-{}", next_id_++);
      r.prompt = prompts[i];
      r.params =
          params.empty() ? engine_->default_sampling_params() : params[params.size() == 1 ? 0 : i];
      index_of[r.request_id] = i;
      ids.push_back(r.request_id);
      engine_->add_request(std::move(r));
    }
  } catch (...) {
    // A bad prompt rejects the whole batch: take back the ones already queued.
    for (const auto& id : ids) engine_->abort_request(id);
    while (engine_->has_unfinished_requests()) engine_->step();
    throw;
  }
  std::vector<RequestOutput> results(prompts.size());
  while (engine_->has_unfinished_requests()) {
    for (const RequestOutput& delta : engine_->step()) {
      if (on_output) on_output(delta);
      auto it = index_of.find(delta.request_id);
      if (it != index_of.end()) accumulate_output(results[it->second], delta);
    }
  }
  return results;
}

std::vector<RequestOutput> LLM::chat(
    const std::vector<nlohmann::ordered_json>& conversations,
    const std::vector<SamplingParams>& params, const ChatOptions& options,
    const std::function<void(const RequestOutput& delta)>& on_output) {
  if (!chat_formatter_) chat_formatter_ = std::make_unique<ChatFormatter>(engine_->tokenizer());
  std::vector<Prompt> prompts;
  for (const auto& messages : conversations)
    prompts.push_back(Prompt::from_text(chat_formatter_->render(messages, options), false));
  return generate(prompts, params, on_output);
}

}  // namespace pagoda
