#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace pagoda::tok {

// A byte trie mapping keys to int32 values (Unigram pieces, added tokens).
class ByteTrie {
 public:
  void insert(std::string_view key, int32_t value) {
    uint32_t node = 0;
    for (char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      uint32_t next = child(node, c);
      if (next == 0) {
        next = static_cast<uint32_t>(nodes_.size());
        Node fresh;
        fresh.label = c;
        if (node == 0) {
          root_[c] = next;
        } else {
          fresh.next_sibling = nodes_[node].first_child;
          nodes_[node].first_child = next;
        }
        nodes_.push_back(fresh);
      }
      node = next;
    }
    nodes_[node].value = value;
  }
  // Calls f(length, value) for every key that prefixes `s`, shortest first.
  template <typename F>
  void prefixes(std::string_view s, F&& f) const {
    uint32_t node = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const uint32_t next = child(node, static_cast<unsigned char>(s[i]));
      if (next == 0) return;
      node = next;
      if (nodes_[node].value >= 0) f(i + 1, nodes_[node].value);
    }
  }
  // The longest key that prefixes `s`: its length (0 when none) and value.
  size_t longest_prefix(std::string_view s, int32_t& value) const {
    size_t best = 0;
    prefixes(s, [&](size_t len, int32_t v) {
      best = len;
      value = v;
    });
    return best;
  }
  // Whether some key starts with byte `c`.
  bool starts_with(unsigned char c) const { return root_[c] != 0; }

 private:
  // The root's children are an array (it has the most); the other nodes keep a sibling list, so
  // a trie of a 250k-piece vocabulary is one flat array of 16-byte nodes.
  uint32_t child(uint32_t node, unsigned char c) const {
    if (node == 0) return root_[c];
    for (uint32_t k = nodes_[node].first_child; k != 0; k = nodes_[k].next_sibling)
      if (nodes_[k].label == c) return k;
    return 0;
  }
  struct Node {
    uint32_t first_child = 0;
    uint32_t next_sibling = 0;
    int32_t value = -1;
    unsigned char label = 0;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
  std::array<uint32_t, 256> root_{};
};

}  // namespace pagoda::tok
