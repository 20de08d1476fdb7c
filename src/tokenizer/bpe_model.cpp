// Byte-pair encoding (tokenizers/src/models/bpe): split a word into characters (vocabulary ids,
// byte-fallback tokens or unk), then repeatedly apply the lowest-ranked merge, leftmost first.
// Merges live in an open-addressing table keyed by the id pair; results per word are cached.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <shared_mutex>

#include "pagoda/error.h"
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {
namespace {

constexpr size_t kCacheCapacity = 65536;     // words
constexpr size_t kMaxCachedWordBytes = 256;  // as tokenizers' cache: long words are rarely repeated

class MergeTable {
 public:
  struct Result {
    int32_t rank;
    int32_t new_id;
  };
  void build(const std::vector<std::pair<uint64_t, Result>>& entries) {
    size_t cap = 16;
    while (cap < entries.size() * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, Result{0, 0});
    mask_ = cap - 1;
    for (const auto& [key, value] : entries) {
      size_t i = hash(key) & mask_;
      while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
      keys_[i] = key;
      values_[i] =
          value;  // a repeated merge takes the later rank, as tokenizers' HashMap insert does
    }
  }
  const Result* find(int32_t a, int32_t b) const {
    if (keys_.empty()) return nullptr;
    const uint64_t key = pack(a, b);
    size_t i = hash(key) & mask_;
    while (true) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  std::vector<uint64_t> keys_;
  std::vector<Result> values_;
  size_t mask_ = 0;
};

class BpeModel final : public Model {
 public:
  BpeModel(std::vector<std::pair<std::string, int32_t>> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& source)
      : options_(std::move(options)) {
    for (auto& [token, id] : vocab) {
      PAGODA_CHECK(id >= 0, InvalidFormat,
                   fmt::format("{}: model.vocab['{}'] has negative id {}", source, token, id),
                   "fix the vocabulary");
      vocab_.add(std::move(token), id);
    }
    std::vector<std::pair<uint64_t, MergeTable::Result>> entries;
    entries.reserve(merges.size());
    const size_t prefix_len = options_.continuing_subword_prefix.size();
    for (size_t i = 0; i < merges.size(); ++i) {
      const auto& [a, b] = merges[i];
      auto missing = [&](const std::string& t) {
        throw_error(
            ErrorCode::InvalidFormat,
            fmt::format("{}: model.merges[{}] ('{} {}') uses token '{}' that is not in model.vocab",
                        source, i, a, b, t),
            "the vocabulary and merges do not belong together; re-download the tokenizer");
      };
      const auto ia = vocab_.find(a), ib = vocab_.find(b);
      if (!ia) missing(a);
      if (!ib) missing(b);
      const std::string merged =
          a + (b.size() >= prefix_len ? b.substr(prefix_len) : std::string());
      const auto im = vocab_.find(merged);
      if (!im) missing(merged);
      entries.push_back({MergeTable::pack(*ia, *ib), {static_cast<int32_t>(i), *im}});
    }
    merges_.build(entries);
    if (options_.unk_token) unk_id_ = vocab_.find(*options_.unk_token);
    // Code points below 0x800 (all of byte-level BPE's alphabet) are looked up in an array.
    fast_chars_ = prefix_len == 0 && options_.end_of_word_suffix.empty();
    char_ids_.fill(-1);
    if (fast_chars_) {
      for (char32_t c = 0; c < char_ids_.size(); ++c) {
        std::string s;
        append_utf8(s, c);
        if (auto id = vocab_.find(s)) char_ids_[c] = *id;
      }
    }
    if (options_.byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        auto id = vocab_.find(fmt::format("<0x{:02X}>", b));
        byte_ids_[b] = id ? *id : -1;
      }
    }
  }

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    // The cache holds this function's results, so it may be consulted before ignore_merges.
    const bool cacheable = word.size() < kMaxCachedWordBytes;
    if (cacheable) {
      std::shared_lock lock(cache_mutex_);
      auto it = cache_.find(word);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const size_t first = out.size();
    std::optional<int32_t> whole;
    if (options_.ignore_merges) whole = vocab_.find(word);
    if (whole)
      out.push_back(*whole);
    else
      merge_word(word, out);
    if (cacheable) {
      std::unique_lock lock(cache_mutex_);
      if (cache_.size() < kCacheCapacity)
        cache_.emplace(
            std::string(word),
            std::vector<int32_t>(out.begin() + static_cast<ptrdiff_t>(first), out.end()));
    }
  }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    // std::push_heap builds a max-heap: "less" means lower priority (higher rank, then later pos).
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  void merge_word(std::string_view word, std::vector<int32_t>& out) const {
    thread_local std::vector<Symbol> syms;
    thread_local std::vector<Candidate> heap;
    thread_local std::string scratch;
    syms.clear();
    heap.clear();
    auto add = [&](int32_t id) {
      syms.push_back({id, static_cast<int32_t>(syms.size()) - 1, -1, true});
    };
    std::optional<int32_t> pending_unk;  // a fused unk waits here until a known symbol follows
    size_t i = 0;
    while (i < word.size()) {
      const size_t start = i;
      const char32_t c = next_code_point(word, i);
      const bool is_first = start == 0, is_last = i == word.size();
      std::optional<int32_t> id;
      std::string_view piece = word.substr(start, i - start);
      if (fast_chars_) {
        if (c < char_ids_.size()) {
          if (char_ids_[c] >= 0) id = char_ids_[c];
        } else {
          id = vocab_.find(piece);
        }
      } else {
        scratch.clear();
        if (!is_first) scratch += options_.continuing_subword_prefix;
        scratch.append(piece);
        if (is_last) scratch += options_.end_of_word_suffix;
        piece = scratch;
        id = vocab_.find(piece);
      }
      if (id) {
        if (pending_unk) add(*std::exchange(pending_unk, std::nullopt));
        add(*id);
        continue;
      }
      if (options_.byte_fallback) {
        bool all = true;
        for (char b : piece) all &= byte_ids_[static_cast<unsigned char>(b)] >= 0;
        if (all) {
          // tokenizers adds byte tokens without flushing a pending fused unk first.
          for (char b : piece) add(byte_ids_[static_cast<unsigned char>(b)]);
          continue;
        }
      }
      if (options_.unk_token) {
        PAGODA_CHECK(
            unk_id_.has_value(), InvalidFormat,
            fmt::format("BPE unk_token '{}' is not in the vocabulary", *options_.unk_token),
            "add the unk token to model.vocab or remove model.unk_token");
        if (pending_unk && !options_.fuse_unk) add(*pending_unk);
        pending_unk = unk_id_;
      }
    }
    if (pending_unk) add(*pending_unk);
    for (size_t k = 0; k + 1 < syms.size(); ++k) syms[k].next = static_cast<int32_t>(k + 1);

    for (size_t k = 0; k + 1 < syms.size(); ++k) {
      if (const auto* m = merges_.find(syms[k].id, syms[k + 1].id))
        heap.push_back({m->rank, static_cast<int32_t>(k), m->new_id});
    }
    std::make_heap(heap.begin(), heap.end());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      const Candidate top = heap.back();
      heap.pop_back();
      Symbol& cur = syms[static_cast<size_t>(top.pos)];
      if (!cur.alive || cur.next < 0) continue;
      Symbol& right = syms[static_cast<size_t>(cur.next)];
      const auto* m = merges_.find(cur.id, right.id);
      if (!m || m->new_id != top.new_id) continue;  // stale entry
      cur.id = top.new_id;
      right.alive = false;
      cur.next = right.next;
      if (cur.next >= 0) syms[static_cast<size_t>(cur.next)].prev = top.pos;
      if (cur.prev >= 0) {
        if (const auto* pm = merges_.find(syms[static_cast<size_t>(cur.prev)].id, cur.id)) {
          heap.push_back({pm->rank, cur.prev, pm->new_id});
          std::push_heap(heap.begin(), heap.end());
        }
      }
      if (cur.next >= 0) {
        if (const auto* nm = merges_.find(cur.id, syms[static_cast<size_t>(cur.next)].id)) {
          heap.push_back({nm->rank, top.pos, nm->new_id});
          std::push_heap(heap.begin(), heap.end());
        }
      }
    }
    for (const Symbol& s : syms)
      if (s.alive) out.push_back(s.id);
  }

  BpeOptions options_;
  MergeTable merges_;
  std::optional<int32_t> unk_id_;
  bool fast_chars_ = false;
  std::array<int32_t, 0x800> char_ids_{};
  std::array<int32_t, 256> byte_ids_{};
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace

std::unique_ptr<Model> make_bpe(std::vector<std::pair<std::string, int32_t>> vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                BpeOptions options, const std::string& source) {
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), source);
}

}  // namespace pagoda::tok
