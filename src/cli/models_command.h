// `pagoda models`: the registered architectures and their capabilities.
#pragma once

#include "pagoda/model_registry.h"

namespace pagoda::cli {

// Prints one line per architecture; answers from the registry alone (nothing is loaded or built).
int run_models_command(const ModelRegistry& registry);

}  // namespace pagoda::cli
