// `pagoda check MODEL_DIR`: does this checkpoint fit the implementation its config names?
// Resolves the architecture, builds the model's parameters (tp = 1, memory reserved but never
// written), and runs every weight loader in validate-only mode, collecting every problem instead of
// stopping at the first. No weight is copied anywhere.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pagoda/model.h"

namespace pagoda {

struct CheckReport {
  std::string architecture;  // the resolved one; empty when resolution failed
  ModelCapabilities capabilities;
  std::vector<std::string> summary;  // "hidden_size 4096", ... for the readable report
  size_t num_parameters = 0;
  size_t num_checkpoint_tensors = 0;
  std::vector<std::string> missing;     // parameters no tensor fills, with shapes
  std::vector<std::string> unexpected;  // tensors no parameter takes, with shapes
  std::vector<std::string> mismatched;  // loader errors: wrong shapes, bad shards
  std::vector<std::string> errors;      // config, resolution or file problems (fatal ones)
  // config.json keys neither the config derivation nor the model read (informational: often
  // training-only settings, but a key the implementation should honour shows up here too).
  std::vector<std::string> unused_config_keys;

  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty() && errors.empty(); }
};

// Never throws for a problem with the model directory: every problem lands in the report.
CheckReport check_checkpoint(const std::filesystem::path& model_dir);

// The report as text, one finding a line.
std::string format_check_report(const CheckReport& report);

}  // namespace pagoda
