// Shared transformer blocks over batched activations [n_tokens][width]: embedding lookup,
// norms, projections, RoPE, attention against the KV cache, gated FFN, output head.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "engine/nn/step.h"
#include "engine/nn/tensor.h"

namespace engine::nn {

// x[t] = token_embd row of tokens[t] (dequantized), times `scale` when not 1.
void embed(Step& s, const Matrix& token_embd, float scale = 1.0f);

// y[t] = rmsnorm(x[t]) * w for n_tokens rows of width n (y may be x).
void rmsnorm_rows(Step& s, const float* x, const Vector& w, float eps, float* y, int64_t n);

// y = W x (+ bias) for s.n_tokens rows (or n_rows if given): quantized matmul from ops.
void linear(Step& s, const Matrix& w, const float* x, float* y, const Vector* bias = nullptr,
            int n_rows = -1);

// RMS-normalizes every head of every token row in place with one shared [head_dim] weight
// (qwen3 / gemma3 q/k norms).
void head_rmsnorm(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Vector& w, float eps);

// Rotates the heads of every token row in x ([n_tokens][n_heads * head_dim]) by its position.
void rope_rows(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Rope& rope);
// cos/sin table for one position ([n_rot] floats), and applying it to n_heads heads of x:
// used to re-rotate cached keys by a position delta after a KV shift (rotations compose).
void rope_cache(const Rope& rope, float pos, float* cs);
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, const Rope& rope, const float* cs);

// Stores s.buf->k / s.buf->v of every token in its KV cell for `layer`, then computes
// s.buf->attn = softmax(q k^T * scale, causal by position, per sequence) v for every head.
// window > 0: sliding window, a query at p sees keys at p - window + 1 .. p only.
// softcap > 0: scores become softcap * tanh(score / softcap) before the softmax (gemma2).
// sinks: [n_head] learned logits that join each head's softmax denominator without a value
// (gpt-oss): p_j = exp(s_j - m) / (sum_k exp(s_k - m) + exp(sink - m)).
struct AttnOptions {
  int32_t window = 0;
  float softcap = 0.0f;
  const float* sinks = nullptr;
};
void attention(Step& s, int layer, const Shape& shape, float scale, AttnOptions opt = {});

// x = cap * tanh(x / cap) over n values (final logit soft-capping).
void softcap(float* x, int64_t n, float cap);

// x += proj (n_tokens rows of width n).
void add_rows(Step& s, float* x, const float* proj, int64_t n);

enum class Act { kSilu, kGelu };  // gelu = tanh approximation

// Gated FFN on s.buf->xn: proj = down(act(gate xn) * (up xn)).
void ffn_gated(Step& s, const Matrix& gate, const Matrix& up, const Matrix& down,
               Act act = Act::kSilu);
inline void ffn_swiglu(Step& s, const Matrix& gate, const Matrix& up, const Matrix& down) {
  ffn_gated(s, gate, up, down, Act::kSilu);
}
// Fused gate+up ([n_embd, 2 n_ff], gate first, as phi3 stores it): down(silu(g) * u).
void ffn_fused_swiglu(Step& s, const Matrix& gate_up, const Matrix& down);

// Splits each token row of a fused projection ([n_tokens][width]) into consecutive parts.
struct Slice {
  float* dst;  // [n_tokens][width]
  int64_t width;
};
void split_rows(Step& s, const float* src, int64_t width, std::initializer_list<Slice> parts);

// Logits for the requested rows: out_norm(x[row]) -> output matrix -> s.logits, capped by
// softcap (cap * tanh(logit / cap)) when it is > 0 (gemma2's final soft-capping).
void output_logits(Step& s, const Vector& norm, float eps, const Matrix& output,
                   float softcap = 0.0f);

// Where a forward's steps run when not on the CPU (ARCHITECTURE.md §6): each block above
// hands its step to Step::backend when one is set, with the same arguments (the pointers
// name Scratch rows; the backend keeps its own twins of them). The CPU code of the blocks is
// the reference and the default. Blocks a backend has no method for throw when it is set.
// begin/finish bracket one Step; finish leaves s.logits filled.
struct MoeWeights;
struct MoeParams;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual void begin(Step& s) = 0;
  virtual void finish(Step& s) = 0;
  // The residual stream (s.buf->x) computed on the CPU so far continues on the backend: the
  // first of its layers after CPU layers.
  virtual void take_residual(Step& s) = 0;
  virtual void embed(Step& s, const Matrix& token_embd, float scale) = 0;
  virtual void rmsnorm_rows(Step& s, const float* x, const Vector& w, float eps, float* y,
                            int64_t n) = 0;
  virtual void linear(Step& s, const Matrix& w, const float* x, float* y, const Vector* bias,
                      int n_rows) = 0;
  virtual void head_rmsnorm(Step& s, float* x, int64_t n_heads, int64_t head_dim,
                            const Vector& w, float eps) = 0;
  virtual void rope_rows(Step& s, float* x, int64_t n_heads, int64_t head_dim,
                         const Rope& rope) = 0;
  virtual void attention(Step& s, int layer, const Shape& shape, float scale,
                         AttnOptions opt) = 0;
  virtual void add_rows(Step& s, float* x, const float* proj, int64_t n) = 0;
  virtual void ffn_gated(Step& s, const Matrix& gate, const Matrix& up, const Matrix& down,
                         Act act) = 0;
  virtual void ffn_fused_swiglu(Step& s, const Matrix& gate_up, const Matrix& down) = 0;
  virtual void moe_ffn(Step& s, const MoeWeights& w, const MoeParams& p) = 0;
  virtual void split_rows(Step& s, const float* src, int64_t width,
                          std::initializer_list<Slice> parts) = 0;
  virtual void output_logits(Step& s, const Vector& norm, float eps, const Matrix& output,
                             float softcap) = 0;
};

// Called by a forward at the start of each layer: a context split between the CPU and a GPU
// (Step::device) runs layer il where it belongs, moving the residual stream to the GPU at its
// first layer. Nothing to do on one device.
void enter_layer(Step& s, int il);

// Throws util::Error: `block` has no implementation on s.backend.
[[noreturn]] void backend_lacks(const char* block);

}  // namespace engine::nn
