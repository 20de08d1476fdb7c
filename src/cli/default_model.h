// The model Pagoda runs when a command is given none: the small Llama trained on the King James
// Bible that ships in models/kjv-llama (see its README for how it was made).
#pragma once

#include <string>

namespace pagoda::cli {

// The name of the shipped model's directory under models/.
inline constexpr const char* kDefaultModelName = "kjv-llama";

// The directory of the default model: $PAGODA_DEFAULT_MODEL if set, else the installed copy
// (<prefix>/share/pagoda/models/kjv-llama, found beside the running binary), else the source
// tree's models/kjv-llama. Throws pagoda::Error naming the places looked in when none exists.
std::string default_model_dir();

// `model` if given, else default_model_dir() (announced on stderr, so the user knows what runs).
std::string model_or_default(const std::string& model);

}  // namespace pagoda::cli
