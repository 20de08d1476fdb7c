// A model's generation_config.json: the sampling defaults its authors recommend and its special
// tokens. The file is optional; without it every value is absent and the engine's own defaults
// apply (vLLM's --generation-config auto).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

struct GenerationConfig {
  // Sampling defaults, each nullopt when the file does not set it (or sets it to null). vLLM
  // applies repetition_penalty, temperature, top_k, top_p, min_p and max_new_tokens (as
  // max_tokens) as request defaults. Note: vLLM reads them through transformers'
  // GenerationConfig.to_diff_dict(), which drops values equal to transformers' own defaults
  // (e.g. top_k 50, temperature 1.0); they are kept here as written, and the engine decides.
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
  std::optional<bool> do_sample;

  // eos_token_id (an integer or a list), as the file writes it; see all_eos_token_ids().
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> pad_token_id;

  // The file read, or "" when there was none.
  std::string source;
  bool found() const { return !source.empty(); }

  // config.json's EOS ids followed by this file's, without duplicates: generation stops at any.
  std::vector<int64_t> all_eos_token_ids(const std::vector<int64_t>& config_eos_token_ids) const;

  // Reads `dir`/generation_config.json; an absent file gives the empty config. A malformed file
  // (bad JSON, a wrong type, an out-of-range value) is a pagoda::Error naming the file and key.
  static GenerationConfig from_model_dir(const std::filesystem::path& dir);
  // Reads a file that must exist.
  static GenerationConfig from_file(const std::filesystem::path& path);
  static GenerationConfig from_string(std::string_view json_text,
                                      std::string source = "<generation config string>");
};

}  // namespace pagoda
