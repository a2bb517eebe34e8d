// Shared by /api/embed, /api/embeddings and /v1/embeddings: model resolution, truncation to the
// context (§3.3), one batched runner pass, normalization and `dimensions`, float formatting.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/context.h"

namespace server {

struct EmbedJob {
  std::string model;  // as the client wrote it
  std::vector<std::string> inputs;
  bool truncate = true;
  int dimensions = 0;  // > 0 and < the model's width: keep that many, then renormalize
  bool normalize = true;
  std::optional<int64_t> keep_alive_ns;
  nlohmann::json options = nlohmann::json::object();
};

struct EmbedOutput {
  std::vector<std::vector<float>> embeddings;
  int prompt_eval_count = 0;
  int64_t total_ns = 0, load_ns = 0;
};

// Loads the model (404 `model "<name>" not found, try pulling it first`), tokenizes every input
// (cut to min(num_ctx, training context) when truncate, else 400 `the input length exceeds
// the context length`) and embeds them in one pass. No inputs: loads the model only.
// Vectors with NaN/Inf -> 500 `embedding contains NaN or Inf values`.
EmbedOutput run_embed(Context& ctx, const EmbedJob& job);

struct RerankJob {
  std::string model;
  std::string query;
  std::vector<std::string> documents;
  bool truncate = true;
  std::optional<int64_t> keep_alive_ns;
  nlohmann::json options = nlohmann::json::object();
};

struct RerankOutput {
  std::vector<float> scores;  // one per document, in the documents' order
  int tokens = 0;             // of every (query, document) pair
};

// Scores every (query, document) pair with a reranker (an encoder with rank pooling: its
// first label's logit, unnormalized, as llama-server returns it) in one batched pass. 400 for
// a model that is not a reranker; pairs longer than the context are cut (document first) or
// refused as run_embed's inputs are.
RerankOutput run_rerank(Context& ctx, const RerankJob& job);

// L2-normalizes v in place (a zero vector stays zero).
void l2_normalize(std::vector<float>& v);

// A float32 array as JSON with the shortest text that reads back to the same float32 (as Go
// encodes []float32).
std::string floats_json(const std::vector<float>& v);

}  // namespace server
