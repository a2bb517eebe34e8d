// Mixture-of-experts FFN block: a router picks n_expert_used experts per token, each expert is
// a gated FFN stored as one slice of 3-D tensors, and the outputs are summed with the router's
// weights. Tokens are grouped by expert so that each expert runs one matmul over all the
// tokens routed to it (prefill) and decode reads only the selected experts' weights.
#pragma once
#include <cstdint>

#include "engine/nn/step.h"
#include "engine/nn/tensor.h"

namespace engine::nn {

struct MoeWeights {
  const Matrix* router = nullptr;  // [n_embd, n_expert]
  const Vector* router_b = nullptr;
  const ExpertMatrix* gate = nullptr;  // [n_embd, n_ff_exp, n_expert]
  const ExpertMatrix* up = nullptr;
  const ExpertMatrix* down = nullptr;  // [n_ff_exp, n_embd, n_expert]
  const Vector* gate_b = nullptr;      // [n_ff_exp, n_expert] (optional)
  const Vector* up_b = nullptr;
  const Vector* down_b = nullptr;  // [n_embd, n_expert] (optional)
};

enum class Gating {
  // gpt-oss: the top-k raw logits, weights = softmax over the selected logits only.
  kTopKSoftmax,
  // qwen3moe / mixtral style: softmax over all experts, then the top-k probabilities
  // (renormalized to sum 1 when `norm_topk`).
  kSoftmaxTopK,
};

enum class ExpertAct {
  kSwiglu,  // silu(g) * u
  // gpt-oss: a = min(g, limit), b = clamp(u, -limit, limit), a * sigmoid(alpha a) * (b + 1)
  kSwigluOai,
};

struct MoeParams {
  int64_t n_expert = 0, n_used = 0;
  Gating gating = Gating::kSoftmaxTopK;
  bool norm_topk = false;
  ExpertAct act = ExpertAct::kSwiglu;
  float alpha = 1.702f, limit = 7.0f;
};

// Routing of n_tokens rows of router logits ([n_tokens, n_expert]): the selected experts in
// descending logit order (ties: lower id first) and their weights. kSoftmaxTopK turns the
// logits into probabilities in place.
void moe_route(float* logits, int n_tokens, const MoeParams& p, int32_t* sel, float* w);

// The (token, weight) pairs of n_tokens routings grouped by expert (a counting sort, tokens in
// order within an expert): expert e's entries are tokens/tw[start[e] .. start[e + 1]); fill
// (n_expert) is scratch.
void moe_group(const int32_t* sel, const float* w, int n_tokens, const MoeParams& p,
               int32_t* start, int32_t* fill, int32_t* tokens, float* tw);

// s.buf->proj = moe(s.buf->xn) for every token of the step.
void moe_ffn(Step& s, const MoeWeights& w, const MoeParams& p);

// out[i] = act(g[i], u[i]) for n values (g may be out).
void expert_act(const float* g, const float* u, float* out, int64_t n, const MoeParams& p);

}  // namespace engine::nn
