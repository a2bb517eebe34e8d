#include "engine/nn/blocks.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/kv/kv_cache.h"
#include "ops/matmul.h"
#include "ops/vec.h"
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
// Query heads handled together by one attention work item (bounds the per-thread scores).
constexpr int64_t kMaxHeadsPerItem = 8;

util::ThreadPool& pool_for(Step& s, int64_t work) {
  return work < kParallelWork || !s.serial ? (s.serial ? *s.serial : *s.pool) : *s.pool;
}

}  // namespace

void embed(Step& s, const Matrix& token_embd, float scale) {
  float* x = s.buf->x.data();
  const int64_t n = token_embd.k;
  parallel_for(pool_for(s, s.n_tokens * n), s.n_tokens, [&](int64_t t, int) {
    float* row = x + t * n;
    ops::dequantize_row(token_embd.data, token_embd.type, n, s.tokens[t], row);
    if (scale != 1.0f) ops::scale(row, scale, n);
  });
}

void rmsnorm_rows(Step& s, const float* x, const Vector& w, float eps, float* y, int64_t n) {
  parallel_for(pool_for(s, s.n_tokens * n), s.n_tokens,
               [&](int64_t t, int) { ops::rmsnorm(x + t * n, w.data, y + t * n, n, eps); });
}

void head_rmsnorm(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Vector& w,
                  float eps) {
  const int64_t n = s.n_tokens * n_heads;
  parallel_for(pool_for(s, n * head_dim), n, [&](int64_t i, int) {
    ops::rmsnorm(x + i * head_dim, w.data, x + i * head_dim, head_dim, eps);
  });
}

void linear(Step& s, const Matrix& w, const float* x, float* y, const Vector* bias, int n_rows) {
  const int64_t rows = n_rows < 0 ? s.n_tokens : n_rows;
  ops::matmul(w.data, w.type, w.k, w.n, x, rows, y, pool_for(s, w.k * w.n * rows));
  if (bias && bias->present()) {
    for (int64_t t = 0; t < rows; t++) ops::add(y + t * w.n, bias->data, y + t * w.n, w.n);
  }
}

void rope_cache(const Rope& rope, float pos, float* cs) {
  ops::rope_cache(cs, rope.n_rot, pos, rope.base, rope.freq_scale, rope.freq_factors);
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, const Rope& rope, const float* cs) {
  if (rope.mode == RopeMode::kNormal) {
    ops::rope_norm(x, n_heads, head_dim, rope.n_rot, cs);
  } else {
    ops::rope_neox(x, n_heads, head_dim, rope.n_rot, cs);
  }
}

void rope_rows(Step& s, float* x, int64_t n_heads, int64_t head_dim, const Rope& rope) {
  const int64_t width = n_heads * head_dim;
  float* cs_all = s.buf->rope_cs.data();
  const int64_t cs_stride = static_cast<int64_t>(s.buf->rope_cs.size()) / s.pool->size();
  parallel_for(pool_for(s, s.n_tokens * width), s.n_tokens, [&](int64_t t, int ith) {
    float* cs = cs_all + ith * cs_stride;
    rope_cache(rope, static_cast<float>(s.pos[t]), cs);
    rope_apply(x + t * width, n_heads, head_dim, rope, cs);
  });
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; i++) x[i] = cap * std::tanh(x[i] / cap);
}

void attention(Step& s, int layer, const Shape& shape, float scale, AttnOptions opt) {
  kv::KvCache& kv = *s.kv;
  const float* k = s.buf->k.data();
  const float* v = s.buf->v.data();
  parallel_for(pool_for(s, s.n_tokens * shape.n_k()), s.n_tokens, [&](int64_t t, int) {
    kv.write(layer, s.seq[t], s.cell[t], k + t * shape.n_k(), v + t * shape.n_v());
  });

  const ops::DType kv_type = kv.type() == KvType::kF16 ? ops::DType::F16 : ops::DType::F32;
  const auto dot = ops::kernels(kv_type)->vec_dot;
  const size_t eb = kv.elem_bytes();
  const int64_t hd_k = shape.head_dim_k, hd_v = shape.head_dim_v;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const int64_t n_ctx = kv.n_ctx();
  const float* q = s.buf->q.data();
  float* out = s.buf->attn.data();
  float* scores_all = s.buf->scores.data();
  const int64_t scores_stride = s.buf->n_ctx;
  const float neg_inf = -std::numeric_limits<float>::infinity();

  int64_t cells = 0;
  for (int t = 0; t < s.n_tokens; t++) cells += kv.n_used(s.seq[t]);
  util::ThreadPool& pool = pool_for(s, cells * shape.n_head * (hd_k + hd_v));
  // Work item = one token and a run of `per_item` query heads that share a KV head, so each
  // key/value row is fetched once for all of them. Whole GQA groups when there are enough
  // items to keep every thread busy, single heads otherwise (decode with few KV heads).
  int64_t per_item = 1;
  if (s.n_tokens * shape.n_head_kv >= 2 * pool.size()) {
    per_item = std::min(group, kMaxHeadsPerItem);
    while (group % per_item != 0) per_item--;  // an item never spans two KV heads
  }
  const int64_t items_per_token = shape.n_head / per_item;
  parallel_for(pool, s.n_tokens * items_per_token, [&](int64_t item, int ith) {
    const int64_t t = item / items_per_token;
    const int64_t h0 = (item % items_per_token) * per_item;  // first query head
    const int seq = s.seq[t];
    const int32_t pt = s.pos[t];
    const int n = kv.n_used(seq);
    const int32_t* cell_pos = kv.positions(seq);
    const auto* krows = static_cast<const uint8_t*>(kv.k_rows(layer, seq, h0 / group));
    const auto* vrows = static_cast<const uint8_t*>(kv.v_rows(layer, seq, h0 / group));
    const float* q0 = q + t * shape.n_q() + h0 * hd_k;
    float* sc0 = scores_all + ith * scores_stride * kMaxHeadsPerItem;
    // Oldest visible position: everything for causal attention, the window for SWA.
    const int32_t p_min = opt.window > 0 ? pt - opt.window + 1 : INT32_MIN;
    for (int j = 0; j < n; j++) {
      const bool visible = cell_pos[j] <= pt && cell_pos[j] >= p_min;
      const uint8_t* krow = krows + j * hd_k * eb;
      for (int64_t i = 0; i < per_item; i++) {
        float* sc = sc0 + i * scores_stride;
        if (visible) {
          dot(hd_k, &sc[j], krow, q0 + i * hd_k);
        } else {
          sc[j] = neg_inf;
        }
      }
    }
    for (int64_t i = 0; i < per_item; i++) {
      float* sc = sc0 + i * scores_stride;
      if (opt.softcap > 0) {
        for (int j = 0; j < n; j++) {
          if (sc[j] != neg_inf) sc[j] = opt.softcap * std::tanh(sc[j] * scale / opt.softcap);
        }
        ops::softmax(sc, n);
      } else {
        ops::softmax_scaled(sc, n, scale);
      }
    }
    float* o0 = out + t * shape.n_head * hd_v + h0 * hd_v;
    for (int64_t d = 0; d < hd_v; d++) {
      const uint8_t* vrow = vrows + d * n_ctx * eb;
      for (int64_t i = 0; i < per_item; i++)
        dot(n, &o0[i * hd_v + d], vrow, sc0 + i * scores_stride);
    }
  });
}

void add_rows(Step& s, float* x, const float* proj, int64_t n) {
  ops::add(x, proj, x, n * s.n_tokens);
}

void ffn_gated(Step& s, const Matrix& gate, const Matrix& up, const Matrix& down, Act act) {
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
  for (int t = 0; t < s.n_tokens; t++) {
    int64_t off = 0;
    for (const Slice& p : parts) {
      std::memcpy(p.dst + t * p.width, src + t * width + off, p.width * sizeof(float));
      off += p.width;
    }
  }
}

void output_logits(Step& s, const Vector& norm, float eps, const Matrix& output) {
  if (s.n_out == 0) return;
  Scratch& b = *s.buf;
  const int64_t n = output.k;
  for (int i = 0; i < s.n_out; i++) {
    ops::rmsnorm(b.x.data() + static_cast<int64_t>(s.out_rows[i]) * n, norm.data,
                 b.xn.data() + static_cast<int64_t>(i) * n, n, eps);
  }
  linear(s, output, b.xn.data(), s.logits, nullptr, s.n_out);
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
  scores.assign(static_cast<size_t>(n_threads) * kMaxHeadsPerItem * n_ctx_, 0);
  rope_cs.assign(static_cast<size_t>(n_threads) * std::max<int64_t>(s.head_dim_k, 2), 0);
  n_ctx = n_ctx_;
}

}  // namespace engine::nn
