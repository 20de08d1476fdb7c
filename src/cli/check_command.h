// `pagoda check MODEL_DIR`.
#pragma once

#include <string>

namespace pagoda::cli {

// Prints the report; returns 0 when the checkpoint matches the implementation, 1 otherwise.
int run_check_command(const std::string& model_dir);

}  // namespace pagoda::cli
