// Post-processors (tokenizers/src/processors): add the special tokens around a single encoded
// sequence (pairs are not needed by the engine).
#pragma once

#include <memory>
#include <vector>

#include "tokenizer/json_util.h"

namespace pagoda::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites the ids of one sequence (called only when special tokens are wanted).
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

std::unique_ptr<PostProcessor> make_post_processor(const JsonAt& at);

}  // namespace pagoda::tok
