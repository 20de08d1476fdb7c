#include "engine/sequence.h"

#include "pagoda/tokenizer.h"

namespace pagoda::engine {

Sequence::Sequence(std::shared_ptr<RequestState> request, int64_t index, std::string id)
    : request_(std::move(request)),
      index_(index),
      id_(std::move(id)),
      token_ids_(request_->prompt_token_ids),
      num_prompt_tokens_(static_cast<int64_t>(request_->prompt_token_ids.size())) {
  output.index = index;
  // The index-th sample of a seeded request draws from seed + index, so that n > 1 samples differ
  // and each is reproducible.
  if (request_->params.seed)
    generator_.emplace(*request_->params.seed + static_cast<uint64_t>(index));
}

Sequence::~Sequence() = default;

}  // namespace pagoda::engine
