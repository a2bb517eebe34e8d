#include "engine/nn/moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/nn/blocks.h"
#include "ops/vec.h"

namespace engine::nn {

namespace {

// Indices of the k largest of x[0..n) in descending order (ties: lower index first).
void top_k(const float* x, int64_t n, int64_t k, int32_t* out) {
  for (int64_t j = 0; j < k; j++) {
    int32_t best = -1;
    for (int64_t e = 0; e < n; e++) {
      bool taken = false;
      for (int64_t i = 0; i < j && !taken; i++) taken = out[i] == e;
      if (taken) continue;
      if (best < 0 || x[e] > x[best]) best = static_cast<int32_t>(e);
    }
    out[j] = best;
  }
}

void add_slice(float* rows, int64_t n_rows, const Vector* bias, int64_t e, int64_t width) {
  if (bias == nullptr || !bias->present()) return;
  const float* b = bias->data + e * width;
  for (int64_t r = 0; r < n_rows; r++) ops::add(rows + r * width, b, rows + r * width, width);
}

}  // namespace

void moe_route(float* logits, int n_tokens, const MoeParams& p, int32_t* sel, float* w) {
  const int64_t ne = p.n_expert, k = p.n_used;
  for (int t = 0; t < n_tokens; t++) {
    float* l = logits + t * ne;
    int32_t* s = sel + t * k;
    float* wt = w + t * k;
    if (p.gating == Gating::kTopKSoftmax) {
      top_k(l, ne, k, s);
      for (int64_t j = 0; j < k; j++) wt[j] = l[s[j]];
      ops::softmax(wt, k);
      continue;
    }
    ops::softmax(l, ne);
    top_k(l, ne, k, s);
    float sum = 0;
    for (int64_t j = 0; j < k; j++) sum += wt[j] = l[s[j]];
    if (p.norm_topk && sum > 0) {
      for (int64_t j = 0; j < k; j++) wt[j] /= sum;
    }
  }
}

void expert_act(const float* g, const float* u, float* out, int64_t n, const MoeParams& p) {
  if (p.act == ExpertAct::kSwiglu) {
    ops::swiglu(g, u, out, n);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const float a = std::min(g[i], p.limit);
    const float b = std::clamp(u[i], -p.limit, p.limit);
    out[i] = a / (1.0f + std::exp(-p.alpha * a)) * (b + 1.0f);
  }
}

void moe_group(const int32_t* sel, const float* w, int n_tokens, const MoeParams& p,
               int32_t* start, int32_t* fill, int32_t* tokens, float* tw) {
  const int64_t ne = p.n_expert, k = p.n_used;
  std::fill(start, start + ne + 1, 0);
  for (int64_t i = 0; i < n_tokens * k; i++) start[sel[i] + 1]++;
  for (int64_t e = 0; e < ne; e++) start[e + 1] += start[e];
  std::copy(start, start + ne, fill);
  for (int t = 0; t < n_tokens; t++) {
    for (int64_t j = 0; j < k; j++) {
      const int32_t e = sel[t * k + j];
      tokens[fill[e]] = t;
      tw[fill[e]++] = w[t * k + j];
    }
  }
}

void moe_ffn(Step& s, const MoeWeights& w, const MoeParams& p) {
  if (s.backend) return s.backend->moe_ffn(s, w, p);
  Scratch& b = *s.buf;
  const int n = s.n_tokens;
  const int64_t ne = p.n_expert;
  const int64_t d = w.router->k, f = w.gate->first.n;
  linear(s, *w.router, b.xn.data(), b.moe_logits.data(), w.router_b);
  moe_route(b.moe_logits.data(), n, p, b.moe_sel.data(), b.moe_w.data());
  const int32_t* start = b.moe_start.data();
  moe_group(b.moe_sel.data(), b.moe_w.data(), n, p, b.moe_start.data(), b.moe_fill.data(),
            b.moe_tokens.data(), b.moe_tw.data());

  float* proj = b.proj.data();
  std::fill(proj, proj + n * d, 0.0f);
  for (int64_t e = 0; e < ne; e++) {
    const int m = start[e + 1] - start[e];
    if (m == 0) continue;
    const int32_t* toks = b.moe_tokens.data() + start[e];
    const float* tw = b.moe_tw.data() + start[e];
    for (int r = 0; r < m; r++) {
      std::memcpy(b.moe_x.data() + r * d, b.xn.data() + static_cast<int64_t>(toks[r]) * d,
                  d * sizeof(float));
    }
    linear(s, w.gate->expert(e), b.moe_x.data(), b.moe_g.data(), nullptr, m);
    linear(s, w.up->expert(e), b.moe_x.data(), b.moe_u.data(), nullptr, m);
    add_slice(b.moe_g.data(), m, w.gate_b, e, f);
    add_slice(b.moe_u.data(), m, w.up_b, e, f);
    expert_act(b.moe_g.data(), b.moe_u.data(), b.moe_g.data(), m * f, p);
    linear(s, w.down->expert(e), b.moe_g.data(), b.moe_y.data(), nullptr, m);
    add_slice(b.moe_y.data(), m, w.down_b, e, d);
    for (int r = 0; r < m; r++) {
      ops::axpy(tw[r], b.moe_y.data() + r * d, proj + static_cast<int64_t>(toks[r]) * d, d);
    }
  }
}

}  // namespace engine::nn
