#include "server/protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace pagoda::server {
namespace {

using nlohmann::json;

// Typed, range-checked access to the optional fields of a request object. A field that is
// absent or null is "not given", as OpenAI's clients send null for unset options.
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {}

  const json* get(const char* name) const {
    auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<double> number(const char* name, double lo, double hi) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number())
      throw unprocessable(fmt::format("'{}' must be a number, not {}", name, v->type_name()), name);
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi))
      throw bad_request(fmt::format("'{}' is {}; expected a number in [{}, {}]", name, x, lo, hi),
                        name);
    return x;
  }

  std::optional<int64_t> integer(const char* name, int64_t lo, int64_t hi) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) {
      // 3.0 is accepted as 3, as Python's int coercion in vLLM would; 3.5 is not.
      if (v->is_number_float() && std::isfinite(v->get<double>()) &&
          std::floor(v->get<double>()) == v->get<double>() &&
          std::fabs(v->get<double>()) < 9e15)
        return check_range(name, static_cast<int64_t>(v->get<double>()), lo, hi);
      throw unprocessable(fmt::format("'{}' must be an integer, not {}", name, describe(*v)),
                          name);
    }
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
      throw bad_request(fmt::format("'{}' is {}; expected at most {}", name, v->dump(), hi), name);
    return check_range(name, v->get<int64_t>(), lo, hi);
  }

  std::optional<bool> boolean(const char* name) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean())
      throw unprocessable(fmt::format("'{}' must be true or false, not {}", name, describe(*v)),
                          name);
    return v->get<bool>();
  }

  std::optional<std::string> string(const char* name) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_string())
      throw unprocessable(fmt::format("'{}' must be a string, not {}", name, describe(*v)), name);
    return v->get<std::string>();
  }

  static std::string describe(const json& v) {
    if (v.is_number_float()) return "the number " + v.dump();
    return v.type_name();
  }

 private:
  static int64_t check_range(const char* name, int64_t x, int64_t lo, int64_t hi) {
    if (x < lo || x > hi)
      throw bad_request(
          hi == std::numeric_limits<int64_t>::max()
              ? fmt::format("'{}' is {}; expected at least {}", name, x, lo)
              : fmt::format("'{}' is {}; expected an integer in [{}, {}]", name, x, lo, hi),
          name);
    return x;
  }

  const json& object_;
};

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

std::vector<std::string> parse_stop(const Fields& f, const RequestLimits& limits) {
  const json* v = f.get("stop");
  if (!v) return {};
  std::vector<std::string> stop;
  if (v->is_string()) {
    stop.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const auto& s : *v) {
      if (!s.is_string())
        throw unprocessable("'stop' must be a string or a list of strings", "stop");
      stop.push_back(s.get<std::string>());
    }
  } else {
    throw unprocessable(fmt::format("'stop' must be a string or a list of strings, not {}",
                                    v->type_name()),
                        "stop");
  }
  if (static_cast<int64_t>(stop.size()) > limits.max_stop_strings)
    throw bad_request(fmt::format("'stop' has {} strings; at most {} are allowed", stop.size(),
                                  limits.max_stop_strings),
                      "stop");
  for (const auto& s : stop)
    if (s.empty()) throw bad_request("'stop' holds an empty string; remove it", "stop");
  return stop;
}

std::map<int64_t, double> parse_logit_bias(const Fields& f, const RequestLimits& limits) {
  const json* v = f.get("logit_bias");
  if (!v) return {};
  if (!v->is_object())
    throw unprocessable("'logit_bias' must be an object mapping token ids to biases",
                        "logit_bias");
  std::map<int64_t, double> bias;
  for (const auto& [key, value] : v->items()) {
    int64_t id = -1;
    size_t used = 0;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || key.empty())
      throw bad_request(fmt::format("logit_bias key '{}' is not a token id", key), "logit_bias");
    if (id < 0 || (limits.vocab_size > 0 && id >= limits.vocab_size))
      throw bad_request(fmt::format("logit_bias token id {} is outside the vocabulary [0, {})",
                                    id, limits.vocab_size),
                        "logit_bias");
    if (!value.is_number())
      throw unprocessable(fmt::format("logit_bias value for token {} must be a number", key),
                          "logit_bias");
    // OpenAI's documented range; vLLM clamps to it too.
    bias[id] = std::clamp(value.get<double>(), -100.0, 100.0);
  }
  return bias;
}

std::vector<int64_t> parse_stop_token_ids(const Fields& f, const RequestLimits& limits) {
  const json* v = f.get("stop_token_ids");
  if (!v) return {};
  if (!v->is_array()) throw unprocessable("'stop_token_ids' must be a list of integers",
                                          "stop_token_ids");
  std::vector<int64_t> ids;
  for (const auto& x : *v) {
    if (!x.is_number_integer())
      throw unprocessable("'stop_token_ids' must be a list of integers", "stop_token_ids");
    const int64_t id = x.get<int64_t>();
    if (id < 0 || (limits.vocab_size > 0 && id >= limits.vocab_size))
      throw bad_request(fmt::format("stop_token_ids holds {}, outside the vocabulary [0, {})", id,
                                    limits.vocab_size),
                        "stop_token_ids");
    ids.push_back(id);
  }
  return ids;
}

// The fields both endpoints share, onto `r`.
void parse_common(const json& body, const SamplingParams& defaults, const RequestLimits& limits,
                  GenerationRequest& r) {
  const Fields f(body);
  r.model = f.string("model").value_or("");
  r.cache_salt = f.string("cache_salt").value_or("");
  SamplingParams& p = r.params;
  p = defaults;
  p.n = f.integer("n", 1, limits.max_n).value_or(1);
  if (auto v = f.number("temperature", 0, 1e6)) p.temperature = *v;
  if (auto v = f.number("top_p", 0, 1)) {
    if (*v <= 0) throw bad_request("'top_p' must be in (0, 1]; 0 selects nothing", "top_p");
    p.top_p = *v;
  }
  if (auto v = f.integer("top_k", -1, kMaxInt)) p.top_k = *v;
  if (auto v = f.number("min_p", 0, 1)) p.min_p = *v;
  if (auto v = f.number("presence_penalty", -2, 2)) p.presence_penalty = *v;
  if (auto v = f.number("frequency_penalty", -2, 2)) p.frequency_penalty = *v;
  if (auto v = f.number("repetition_penalty", 1e-6, 1e6)) p.repetition_penalty = *v;
  if (auto v = f.integer("seed", std::numeric_limits<int64_t>::min(), kMaxInt))
    p.seed = static_cast<uint64_t>(*v);
  if (auto v = f.integer("min_tokens", 0, kMaxInt)) p.min_tokens = *v;
  if (auto v = f.boolean("ignore_eos")) p.ignore_eos = *v;
  if (auto v = f.boolean("include_stop_str_in_output")) p.include_stop_str_in_output = *v;
  if (auto v = f.boolean("skip_special_tokens")) p.skip_special_tokens = *v;
  if (auto v = f.boolean("spaces_between_special_tokens")) p.spaces_between_special_tokens = *v;
  p.stop = parse_stop(f, limits);
  p.stop_token_ids = parse_stop_token_ids(f, limits);
  p.logit_bias = parse_logit_bias(f, limits);
  r.stream = f.boolean("stream").value_or(false);
  if (const json* so = f.get("stream_options")) {
    if (!so->is_object())
      throw unprocessable("'stream_options' must be an object", "stream_options");
    if (!r.stream)
      throw bad_request("'stream_options' is only allowed when 'stream' is true",
                        "stream_options");
    const Fields sf(*so);
    r.include_usage = sf.boolean("include_usage").value_or(false);
    r.continuous_usage = sf.boolean("continuous_usage_stats").value_or(false);
  }
  if (const json* v = f.get("best_of"); v && !(v->is_number_integer() && v->get<int64_t>() == p.n))
    throw bad_request("'best_of' is not supported; use 'n'", "best_of", "unsupported");
}

std::vector<int32_t> token_list(const json& v, const char* param, int64_t vocab_size) {
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (const auto& x : v) {
    if (!x.is_number_integer())
      throw unprocessable(fmt::format("'{}' token lists must hold integers", param), param);
    const int64_t id = x.get<int64_t>();
    if (id < 0 || (vocab_size > 0 && id >= vocab_size))
      throw bad_request(
          fmt::format("'{}' holds token id {}, outside the vocabulary [0, {})", param, id,
                      vocab_size),
          param);
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

std::vector<PromptInput> parse_prompts(const json& body, int64_t vocab_size) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null())
    throw unprocessable("'prompt' is required", "prompt", "missing_field");
  const json& v = *it;
  std::vector<PromptInput> prompts;
  const auto bad_shape = [] {
    return unprocessable(
        "'prompt' must be a string, a list of strings, a list of token ids or a list of token-id "
        "lists",
        "prompt");
  };
  if (v.is_string()) {
    prompts.push_back({v.get<std::string>(), {}});
  } else if (v.is_array()) {
    if (v.empty()) throw bad_request("'prompt' is an empty list", "prompt");
    if (v[0].is_number()) {
      prompts.push_back({std::nullopt, token_list(v, "prompt", vocab_size)});
    } else {
      for (const auto& p : v) {
        if (p.is_string())
          prompts.push_back({p.get<std::string>(), {}});
        else if (p.is_array() && !p.empty())
          prompts.push_back({std::nullopt, token_list(p, "prompt", vocab_size)});
        else if (p.is_array())
          throw bad_request("'prompt' holds an empty token list", "prompt");
        else
          throw bad_shape();
      }
    }
  } else {
    throw bad_shape();
  }
  for (const auto& p : prompts)
    if (p.text && p.text->empty()) throw bad_request("'prompt' is an empty string", "prompt");
  return prompts;
}

// Text of a message's content: a string, or a list of {"type": "text", "text": ...} parts.
void check_message_content(const json& message, size_t index) {
  const std::string param = fmt::format("messages[{}].content", index);
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    // An assistant message may carry only tool calls.
    if (message.value("role", "") == "assistant" && message.contains("tool_calls")) return;
    throw unprocessable(fmt::format("{} is required", param), param, "missing_field");
  }
  if (it->is_string()) return;
  if (!it->is_array())
    throw unprocessable(fmt::format("{} must be a string or a list of content parts", param),
                        param);
  for (const auto& part : *it) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      throw unprocessable(fmt::format("{} parts must be objects with a 'type'", param), param);
    const std::string type = part["type"].get<std::string>();
    if (type != "text")
      throw bad_request(
          fmt::format("{} has a '{}' part; this model takes text only", param, type), param,
          "unsupported");
    if (!part.contains("text") || !part["text"].is_string())
      throw unprocessable(fmt::format("{} text parts need a string 'text'", param), param);
  }
}

}  // namespace

nlohmann::json parse_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse errors, and numbers out of double's range
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(),
                   "invalid_json");
  }
  if (!j.is_object())
    throw unprocessable(fmt::format("the request body must be a JSON object, not {}",
                                    j.type_name()));
  return j;
}

CompletionRequest parse_completion_request(const json& body, const SamplingParams& defaults,
                                           const RequestLimits& limits) {
  CompletionRequest r;
  parse_common(body, defaults, limits, r);
  const Fields f(body);
  r.prompts = parse_prompts(body, limits.vocab_size);
  // OpenAI's and vLLM's default for completions is 16 tokens.
  r.max_tokens = f.integer("max_tokens", 0, kMaxInt).value_or(16);
  r.echo = f.boolean("echo").value_or(false);
  if (auto lp = f.integer("logprobs", 0, limits.max_logprobs)) r.logprobs = *lp;
  if (f.get("suffix"))
    throw bad_request("'suffix' is not supported", "suffix", "unsupported");
  if (*r.max_tokens == 0 && !r.echo)
    throw bad_request("'max_tokens' is 0; ask for at least 1 token (or set echo)", "max_tokens");
  return r;
}

ChatRequest parse_chat_request(const json& body, const SamplingParams& defaults,
                               const RequestLimits& limits) {
  ChatRequest r;
  parse_common(body, defaults, limits, r);
  const Fields f(body);
  auto it = body.find("messages");
  if (it == body.end() || it->is_null())
    throw unprocessable("'messages' is required", "messages", "missing_field");
  if (!it->is_array())
    throw unprocessable(fmt::format("'messages' must be a list, not {}", it->type_name()),
                        "messages");
  if (it->empty()) throw bad_request("'messages' is empty; send at least one message", "messages");
  static const std::vector<std::string> kRoles = {"system", "developer", "user", "assistant",
                                                  "tool"};
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    if (!m.is_object())
      throw unprocessable(fmt::format("messages[{}] must be an object", i),
                          fmt::format("messages[{}]", i));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      throw unprocessable(fmt::format("messages[{}].role is required and must be a string", i),
                          fmt::format("messages[{}].role", i), "missing_field");
    if (std::find(kRoles.begin(), kRoles.end(), role->get<std::string>()) == kRoles.end())
      throw bad_request(fmt::format("messages[{}].role is '{}'; expected system, developer, "
                                    "user, assistant or tool",
                                    i, role->get<std::string>()),
                        fmt::format("messages[{}].role", i));
    check_message_content(m, i);
  }
  r.messages = nlohmann::ordered_json::parse(it->dump());
  // max_completion_tokens is the newer name; either is accepted, the newer one wins.
  r.max_tokens = f.integer("max_tokens", 1, kMaxInt);
  if (auto v = f.integer("max_completion_tokens", 1, kMaxInt)) r.max_tokens = v;
  r.logprobs = f.boolean("logprobs").value_or(false);
  r.top_logprobs = f.integer("top_logprobs", 0, limits.max_logprobs).value_or(0);
  if (r.top_logprobs > 0 && !r.logprobs)
    throw bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
  r.chat.add_generation_prompt = f.boolean("add_generation_prompt").value_or(true);
  if (const json* tools = f.get("tools")) {
    if (!tools->is_array()) throw unprocessable("'tools' must be a list", "tools");
    r.chat.tools = nlohmann::ordered_json::parse(tools->dump());
  }
  if (const json* kw = f.get("chat_template_kwargs")) {
    if (!kw->is_object())
      throw unprocessable("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    r.chat.template_kwargs = nlohmann::ordered_json::parse(kw->dump());
  }
  return r;
}

}  // namespace pagoda::server
