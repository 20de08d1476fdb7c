// A minimal Model for registry tests: compute_logits returns one value identifying the model.
#pragma once

#include "pagoda/model.h"

namespace pagoda::testing {

class MarkerModel : public Model {
 public:
  MarkerModel(const ModelInitContext& context, float marker) : prefix_(context.prefix), marker_(marker) {}
  Tensor embed_input_ids(const Tensor& ids) override { return Tensor::zeros({ids.size(0), 1}, DType::F32); }
  Tensor forward(const Tensor& ids, const Tensor&, ForwardContext&) override { return embed_input_ids(ids); }
  Tensor compute_logits(const Tensor&) override {
    Tensor t = Tensor::empty({1}, DType::F32);
    t.mutable_data_as<float>()[0] = marker_;
    return t;
  }
  std::set<std::string> load_weights(WeightIterator&) override { return {}; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  float marker_;
};

inline float marker_of(Model& model) { return model.compute_logits(Tensor()).data_as<float>()[0]; }

}  // namespace pagoda::testing
