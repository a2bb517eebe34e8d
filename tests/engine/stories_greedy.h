// Greedy decoding as run.c does it, for the stories260K golden tests on every backend: feed
// the prompt in one batch, then one token per step; a token is picked after each of the
// positions 0 .. total-1, stopping early if BOS is produced.
#pragma once
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"

inline const std::string kStoriesModel =
    std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.gguf";

// testdata/real/stories260K.expected.json: the golden logits and texts.
inline nlohmann::json stories_expected() {
  std::ifstream in(std::string(OLLAMA_SHARED_DIR) + "/testdata/real/stories260K.expected.json");
  return nlohmann::json::parse(in);
}

inline int stories_argmax(const float* x, int64_t n) {
  return static_cast<int>(std::max_element(x, x + n) - x);  // first maximum = lowest id
}

inline std::vector<int32_t> stories_greedy(const engine::Model& m, const engine::ContextOptions& o,
                                           const std::vector<int32_t>& prompt, int total) {
  auto ctx = m.new_context(o);
  engine::Batch b;
  for (size_t i = 0; i < prompt.size(); i++)
    b.add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  std::vector<int32_t> out;
  int pos = static_cast<int>(prompt.size());
  ctx->decode(b);
  while (true) {
    const int next = stories_argmax(ctx->logits(0), m.n_vocab());
    if (next == 1) break;
    out.push_back(next);
    if (pos == total) break;
    b.clear();
    b.add(next, pos++, 0, true);
    ctx->decode(b);
  }
  return out;
}
