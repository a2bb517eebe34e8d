// Embeddings from a decoder (generation) model: the final hidden state of the last token after
// the output norm, as llama.cpp returns it for a model without pooling (Ollama's /api/embed).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace engine {

// Runs the model's forward over `tokens` (one sequence at positions 0..n-1) in a private KV
// cache and scratch, on `pool` (not the model's own pool, so a runner may be decoding at the
// same time). Returns [n_embd]. Throws util::Error (400) for an empty sequence or a bad id.
std::vector<float> decoder_last_hidden(const Model& model, const std::vector<int32_t>& tokens,
                                       util::ThreadPool& pool, int n_batch = 512);

}  // namespace engine
