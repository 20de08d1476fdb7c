#include "tokenizer/post_processors.h"

#include <fmt/format.h>

#include <map>

#include "pagoda/error.h"

namespace pagoda::tok {
namespace {

// Prefix ids + sequence + suffix ids: what TemplateProcessing, BertProcessing and
// RobertaProcessing all amount to for one sequence.
class WrapProcessor final : public PostProcessor {
 public:
  WrapProcessor(std::vector<int32_t> before, std::vector<int32_t> after, bool sequence_present)
      : before_(std::move(before)), after_(std::move(after)), sequence_present_(sequence_present) {}
  void process(std::vector<int32_t>& ids) const override {
    if (!sequence_present_) ids.clear();
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
  bool sequence_present_;
};

class NoopProcessor final : public PostProcessor {
 public:
  void process(std::vector<int32_t>&) const override {}
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& p : parts_) p->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

int32_t read_id(const JsonAt& at) {
  const int64_t id = at.integer();
  if (id < 0 || id > INT32_MAX) at.fail("a token id");
  return static_cast<int32_t>(id);
}

// The "single" template: a list of {"SpecialToken": {"id": name}} / {"Sequence": {"id": "A"}}.
std::unique_ptr<PostProcessor> make_template(const JsonAt& at) {
  std::map<std::string, std::vector<int32_t>> specials;
  const JsonAt st = at.child("special_tokens");
  if (!st.value.is_null()) {
    for (const auto& [name, value] : st.object()) {
      const JsonAt entry = st.child(name);
      std::vector<int32_t> ids;
      const JsonAt list = entry.child("ids");
      for (size_t i = 0; i < list.array().size(); ++i) ids.push_back(read_id(list.at(i)));
      specials[name] = std::move(ids);
    }
  }
  const JsonAt single = at.child("single");
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (size_t i = 0; i < single.array().size(); ++i) {
    const JsonAt piece = single.at(i);
    if (piece.has("Sequence")) {
      seen_sequence = true;
    } else if (piece.has("SpecialToken")) {
      const std::string name = piece.child("SpecialToken").child("id").str();
      auto it = specials.find(name);
      PAGODA_CHECK(
          it != specials.end(), InvalidFormat,
          fmt::format(
              "{}: key '{}' names special token '{}' that post_processor.special_tokens lacks",
              at.source, piece.path, name),
          "add the token to special_tokens or fix the template");
      auto& dst = seen_sequence ? after : before;
      dst.insert(dst.end(), it->second.begin(), it->second.end());
    } else {
      piece.fail("{\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return std::make_unique<WrapProcessor>(std::move(before), std::move(after), seen_sequence);
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const JsonAt& at) {
  if (at.value.is_null()) return nullptr;
  const std::string type = at.type();
  if (type == "TemplateProcessing") return make_template(at);
  if (type == "ByteLevel") return std::make_unique<NoopProcessor>();  // only trims offsets
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const JsonAt cls = at.child("cls"), sep = at.child("sep");
    if (!cls.value.is_array() || cls.value.size() != 2) cls.fail("a pair [token, id]");
    if (!sep.value.is_array() || sep.value.size() != 2) sep.fail("a pair [token, id]");
    return std::make_unique<WrapProcessor>(std::vector<int32_t>{read_id(cls.at(1))},
                                           std::vector<int32_t>{read_id(sep.at(1))}, true);
  }
  if (type == "Sequence") {
    const JsonAt list = at.child("processors");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list.array().size(); ++i) {
      auto p = make_post_processor(list.at(i));
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  unknown_type(at.child("type"), "post-processor", type);
}

}  // namespace pagoda::tok
