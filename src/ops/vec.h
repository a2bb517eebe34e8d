// Plain float vector ops used by the model blocks (norms, activations, softmax, RoPE).
// Written so the compiler vectorizes them; every pointer may alias its output (in place).
#pragma once
#include <cstdint>

namespace ops {

// y = x / sqrt(mean(x^2) + eps) * w  (w may be nullptr: no weight).
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
// y = (x - mean) / sqrt(var + eps) * w + b  (w, b may be nullptr).
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

// In place, numerically stable (subtracts the max). Returns nothing; n >= 1.
void softmax(float* x, int64_t n);
// x = x * scale, then softmax over x[0..n) (attention scores).
void softmax_scaled(float* x, int64_t n, float scale);

void silu(float* x, int64_t n);      // x * sigmoid(x)
void gelu(float* x, int64_t n);      // tanh approximation (ggml's GELU)
void gelu_erf(float* x, int64_t n);  // exact erf form
// out = act(gate) * up  (gated FFN: SwiGLU / GeGLU).
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void geglu(const float* gate, const float* up, float* out, int64_t n);

void add(const float* a, const float* b, float* y, int64_t n);  // y = a + b
void mul(const float* a, const float* b, float* y, int64_t n);  // y = a * b
void scale(float* x, float s, int64_t n);                       // x *= s
void axpy(float a, const float* x, float* y, int64_t n);        // y += a * x
float dot(const float* a, const float* b, int64_t n);
float sum(const float* x, int64_t n);
float max(const float* x, int64_t n);

// RoPE. A cache holds cos/sin for one position: cs[2i] = cos(theta_i), cs[2i+1] = sin(theta_i)
// for i < n_rot/2, theta_i = pos * freq_scale * base^(-2i/n_rot) / (freq_factors ? ff[i] : 1).
void rope_cache(float* cs, int64_t n_rot, float pos, float freq_base, float freq_scale,
                const float* freq_factors);
// Rotates the first n_rot dims of each of n_heads heads (head_dim apart) in x.
// normal (llama): pairs (2i, 2i+1). neox (gpt-neox, qwen, gemma...): pairs (i, i + n_rot/2).
void rope_norm(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cs);
void rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cs);

}  // namespace ops
