// Single-thread encode throughput of a tokenizer.json:
//   tokenizer_bench <tokenizer.json> [text file]
// Without a text file, the tokenizer parity corpus (tests/fixtures/tokenizers/corpus.json) is
// joined and repeated to about 8 MB. Prints tokens/s and MB/s of encode for a first pass (word
// cache cold) and a second one (cache warm, as in a long-running server).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "pagoda/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <tokenizer.json> [text file]\n", argv[0]);
    return 2;
  }
  std::string text;
  if (argc >= 3) {
    std::ifstream in(argv[2], std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(std::string(PAGODA_SOURCE_DIR) + "/tests/fixtures/tokenizers/corpus.json");
    const auto corpus = nlohmann::json::parse(in);
    std::string joined;
    for (const auto& s : corpus) joined += s.get<std::string>() + "\n";
    while (text.size() < 8u << 20) text += joined;
  }
  try {
    const auto tok = pagoda::Tokenizer::from_file(argv[1]);
    // Encode line by line (documents of realistic size), as a server would.
    std::vector<std::string_view> docs;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      end = end == std::string::npos ? text.size() : end + 1;
      docs.emplace_back(text.data() + start, end - start);
      start = end;
    }
    size_t tokens = 0;
    for (int pass = 0; pass < 2; ++pass) {
      tokens = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::string_view d : docs) tokens += tok->encode(d, false).size();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf(
          "%s (%s word cache): %.2f MB, %zu tokens in %.3f s: %.2f M tokens/s, %.2f MB/s (1 "
          "thread)\n",
          argv[1], pass == 0 ? "cold" : "warm", text.size() / 1e6, tokens, s, tokens / s / 1e6,
          text.size() / s / 1e6);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
