#include "engine/nn/blocks.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/kv/kv_cache.h"
#include "ops/matmul.h"
#include "ops/vec.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine::nn {

namespace {

// Runs fn(i, ith) for i in [0, n) on the pool, interleaved so uneven items spread out.
template <class F>
void parallel_for(util::ThreadPool& pool, int64_t n, F fn) {
  if (n == 1) {
    fn(0, 0);
    return;
  }
  auto body = [&](int ith, int nth) {
    for (int64_t i = ith; i < n; i += nth) fn(i, ith);
  };
  pool.run(body);
}

// Below this many multiply-adds (or element ops) a block runs on the calling thread alone.
constexpr int64_t kParallelWork = 1 << 15;

util::ThreadPool& pool_for(Step& s, int64_t work) {
  return work < kParallelWork || !s.serial ? (s.serial ? *s.serial : *s.pool) : *s.pool;
}

}  // namespace

void backend_lacks(const char* block) {
  throw util::Error(std::string("this backend has no ") + block + " step",
                    util::ErrorKind::kUnsupported);
}

void enter_layer(Step& s, int il) {
  if (s.device == nullptr) return;
  const bool on_device = il >= s.device_from;
  if (on_device && s.backend == nullptr) s.device->take_residual(s);
  s.backend = on_device ? s.device : nullptr;
}

void embed(Step& s, const Matrix& token_embd, float scale) {
  if (s.backend) return s.backend->embed(s, token_embd, scale);
  float* x = s.buf->x.data();
  const int64_t n = token_embd.k;
  parallel_for(pool_for(s, s.n_tokens * n), s.n_tokens, [&](int64_t t, int) {
    float* row = x + t * n;
    ops::dequantize_row(token_embd.data, token_embd.type, n, s.tokens[t], row, token_embd.layout);
    if (scale != 1.0f) ops::scale(row, scale, n);
  });
}

void rmsnorm_rows(Step& s, const float* x, const Vector& w, float eps, float* y, int64_t n) {
  if (s.backend) return s.backend->rmsnorm_rows(s, x, w, eps, y, n);
  parallel_for(pool_for(s, s.n_tokens * n), s.n_tokens,
               [&](int64_t t, int) { ops::rmsnorm(x + t * n, w.data, y + t * n, n, eps); });
}

void head_rmsnorm(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Vector& w,
                  float eps) {
  if (s.backend) return s.backend->head_rmsnorm(s, x, n_heads, head_dim, w, eps);
  const int64_t n = s.n_tokens * n_heads;
  parallel_for(pool_for(s, n * head_dim), n, [&](int64_t i, int) {
    ops::rmsnorm(x + i * head_dim, w.data, x + i * head_dim, head_dim, eps);
  });
}

void linear(Step& s, const Matrix& w, const float* x, float* y, const Vector* bias, int n_rows) {
  if (s.backend) return s.backend->linear(s, w, x, y, bias, n_rows);
  const int64_t rows = n_rows < 0 ? s.n_tokens : n_rows;
  ops::matmul(w.data, w.type, w.k, w.n, x, rows, y, pool_for(s, w.k * w.n * rows),
              ops::detected_isa(), w.layout);
  if (bias && bias->present()) {
    for (int64_t t = 0; t < rows; t++) ops::add(y + t * w.n, bias->data, y + t * w.n, w.n);
  }
}

void rope_cache(const Rope& rope, float pos, float* cs) {
  if (rope.yarn.orig_ctx <= 0) {
    ops::rope_cache(cs, rope.n_rot, pos, rope.base, rope.freq_scale, rope.freq_factors);
    return;
  }
  // YaRN: the pairs [0, low] keep their angle, those from high on are interpolated, a linear
  // ramp in between. c(b) = the pair whose wavelength fits b times into the original context.
  const double n = static_cast<double>(rope.n_rot);
  const double ln_base = std::log(static_cast<double>(rope.base));
  auto corr = [&](double b) {
    return n * std::log(rope.yarn.orig_ctx / (b * 2.0 * M_PI)) / (2.0 * ln_base);
  };
  const double low = std::max(0.0, std::floor(corr(rope.yarn.beta_fast)));
  const double high = std::min(n - 1, std::ceil(corr(rope.yarn.beta_slow)));
  for (int64_t i = 0; i < rope.n_rot / 2; i++) {
    double t_ext =
        static_cast<double>(pos) * std::pow(static_cast<double>(rope.base), -2.0 * i / n);
    if (rope.freq_factors != nullptr) t_ext /= rope.freq_factors[i];
    const double t_int = t_ext * rope.freq_scale;
    const double ramp =
        1.0 - std::clamp((static_cast<double>(i) - low) / std::max(0.001, high - low), 0.0, 1.0);
    const double theta = t_int * (1.0 - ramp) + t_ext * ramp;
    cs[2 * i] = static_cast<float>(std::cos(theta));
    cs[2 * i + 1] = static_cast<float>(std::sin(theta));
  }
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, const Rope& rope, const float* cs) {
  if (rope.mode == RopeMode::kNormal) {
    ops::rope_norm(x, n_heads, head_dim, rope.n_rot, cs);
  } else {
    ops::rope_neox(x, n_heads, head_dim, rope.n_rot, cs);
  }
}

void rope_rows(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Rope& rope) {
  if (s.backend) return s.backend->rope_rows(s, x, n_heads, head_dim, rope);
  const int64_t width = n_heads * head_dim;
  float* cs_all = s.buf->rope_cs.data();
  const int64_t cs_stride = static_cast<int64_t>(s.buf->rope_cs.size()) / s.pool->size();
  parallel_for(pool_for(s, s.n_tokens * width), s.n_tokens, [&](int64_t t, int ith) {
    float* cs = cs_all + ith * cs_stride;
    rope_cache(rope, static_cast<float>(s.pos[t]), cs);
    if (rope.yarn.mscale != 1.0f) ops::scale(cs, rope.yarn.mscale, rope.n_rot);
    rope_apply(x + t * width, n_heads, head_dim, rope, cs);
  });
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] / cap);
}

void add_rows(Step& s, float* x, const float* proj, int64_t n) {
  if (s.backend) return s.backend->add_rows(s, x, proj, n);
  ops::add(x, proj, x, n * s.n_tokens);
}

void ffn_gated(Step& s, const Matrix& gate, const Matrix& up, const Matrix& down, Act act) {
  if (s.backend) return s.backend->ffn_gated(s, gate, up, down, act);
  Scratch& b = *s.buf;
  linear(s, gate, b.xn.data(), b.gate.data());
  linear(s, up, b.xn.data(), b.up.data());
  if (act == Act::kSilu) {
    ops::swiglu(b.gate.data(), b.up.data(), b.gate.data(), gate.n * s.n_tokens);
  } else {
    ops::geglu(b.gate.data(), b.up.data(), b.gate.data(), gate.n * s.n_tokens);
  }
  linear(s, down, b.gate.data(), b.proj.data());
}

void ffn_fused_swiglu(Step& s, const Matrix& gate_up, const Matrix& down) {
  if (s.backend) return s.backend->ffn_fused_swiglu(s, gate_up, down);
  Scratch& b = *s.buf;
  const int64_t n_ff = gate_up.n / 2;
  linear(s, gate_up, b.xn.data(), b.wide.data());
  for (int t = 0; t < s.n_tokens; t++) {
    const float* row = b.wide.data() + t * 2 * n_ff;
    ops::swiglu(row, row + n_ff, b.gate.data() + t * n_ff, n_ff);
  }
  linear(s, down, b.gate.data(), b.proj.data());
}

void split_rows(Step& s, const float* src, int64_t width, std::initializer_list<Slice> parts) {
  if (s.backend) return s.backend->split_rows(s, src, width, parts);
  for (int t = 0; t < s.n_tokens; t++) {
    int64_t off = 0;
    for (const Slice& p : parts) {
      std::memcpy(p.dst + t * p.width, src + t * width + off, p.width * sizeof(float));
      off += p.width;
    }
  }
}

void output_logits(Step& s, const Vector& norm, float eps, const Matrix& output, float cap) {
  if (s.backend) return s.backend->output_logits(s, norm, eps, output, cap);
  if (s.n_out == 0) return;
  Scratch& b = *s.buf;
  const int64_t n = output.k;
  for (int i = 0; i < s.n_out; i++) {
    ops::rmsnorm(b.x.data() + static_cast<int64_t>(s.out_rows[i]) * n, norm.data,
                 b.xn.data() + static_cast<int64_t>(i) * n, n, eps);
  }
  linear(s, output, b.xn.data(), s.logits, nullptr, s.n_out);
  if (cap > 0) softcap(s.logits, s.n_out * output.n, cap);
}

void Scratch::resize(const Shape& s, int64_t n_batch, int64_t n_ctx_, int n_threads) {
  x.assign(n_batch * s.n_embd, 0);
  xn.assign(n_batch * s.n_embd, 0);
  q.assign(n_batch * s.n_q(), 0);
  k.assign(n_batch * s.n_k(), 0);
  v.assign(n_batch * s.n_v(), 0);
  attn.assign(n_batch * s.n_head * s.head_dim_v, 0);
  proj.assign(n_batch * s.n_embd, 0);
  gate.assign(n_batch * s.n_ff, 0);
  up.assign(n_batch * s.n_ff, 0);
  wide.assign(n_batch * s.n_wide, 0);
  // A block of query tokens keeps one row of scores per token over its key range: room for
  // kAttnBlockTokens rows of n_ctx up to kAttnScoreFloats; fewer tokens per block beyond.
  scores_per_thread =
      std::max(kAttnMaxHeads * n_ctx_, std::min(kAttnBlockTokens * n_ctx_, kAttnScoreFloats));
  scores.assign(static_cast<size_t>(n_threads) * scores_per_thread, 0);
  attn_q_per_thread = std::max(kAttnBlockTokens, kAttnMaxHeads) * s.head_dim_k;
  attn_q.assign(static_cast<size_t>(n_threads) * attn_q_per_thread, 0);
  attn_vtail.assign(static_cast<size_t>(n_threads) * kAttnTail * s.head_dim_v, 0);
  attn_ranges.assign(n_batch, AttnRange{});
  attn_blocks.assign(n_batch + 1, 0);
  rope_cs.assign(static_cast<size_t>(n_threads) * std::max<int64_t>(s.head_dim_k, 2), 0);
  if (s.n_expert > 0) {
    moe_logits.assign(n_batch * s.n_expert, 0);
    moe_sel.assign(n_batch * s.n_expert_used, 0);
    moe_w.assign(n_batch * s.n_expert_used, 0);
    moe_tokens.assign(n_batch * s.n_expert_used, 0);
    moe_tw.assign(n_batch * s.n_expert_used, 0);
    moe_start.assign(s.n_expert + 1, 0);
    moe_fill.assign(s.n_expert, 0);
    moe_x.assign(n_batch * s.n_embd, 0);
    moe_g.assign(n_batch * s.n_ff_exp, 0);
    moe_u.assign(n_batch * s.n_ff_exp, 0);
    moe_y.assign(n_batch * s.n_embd, 0);
  }
  n_ctx = n_ctx_;
}

}  // namespace engine::nn
