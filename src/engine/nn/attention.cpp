// Attention over the KV cache (nn::attention): per token and group of query heads, one dot per
// visible key, softmax (causal/window mask by position, soft-cap), then the
// weighted sum of the transposed value rows.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>

#include "engine/kv/kv_cache.h"
#include "engine/nn/blocks.h"
#include "ops/types.h"
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

// Below this many multiply-adds a block runs on the calling thread alone.
constexpr int64_t kParallelWork = 1 << 15;
constexpr int64_t kMaxHeadsPerItem = Scratch::kAttnMaxHeads;

bool sorted_positions(const int32_t* p, int n) {
  for (int i = 1; i < n; i++) {
    if (p[i] < p[i - 1]) return false;
  }
  return true;
}

util::ThreadPool& pool_for(Step& s, int64_t work) {
  return work < kParallelWork || !s.serial ? (s.serial ? *s.serial : *s.pool) : *s.pool;
}

}  // namespace

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

  int64_t cells = 0;  // an estimate: causal attention of a prompt sees about half
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
    // Oldest visible position: everything for causal attention, the window for SWA.
    const int32_t p_min = opt.window > 0 ? pt - opt.window + 1 : INT32_MIN;
    // Cells in position order (the normal case): the visible cells are one range [lo, hi),
    // found by binary search, and nothing outside it is touched (half the work of a prompt).
    // Otherwise (shifted or reordered cells) every cell is checked by position.
    int lo = 0, hi = n;
    const bool sorted = sorted_positions(cell_pos, n);
    if (sorted) {
      hi = static_cast<int>(std::upper_bound(cell_pos, cell_pos + n, pt) - cell_pos);
      lo = static_cast<int>(std::lower_bound(cell_pos, cell_pos + hi, p_min) - cell_pos);
    }
    const int len = hi - lo;
    float* o0 = out + t * shape.n_head * hd_v + h0 * hd_v;
    if (len <= 0) {
      std::fill(o0, o0 + per_item * hd_v, 0.0f);
      return;
    }
    const auto* krows = static_cast<const uint8_t*>(kv.k_rows(layer, seq, h0 / group)) +
                        lo * hd_k * eb;
    const auto* vrows = static_cast<const uint8_t*>(kv.v_rows(layer, seq, h0 / group)) + lo * eb;
    const float* q0 = q + t * shape.n_q() + h0 * hd_k;
    float* sc0 = scores_all + ith * scores_stride * kMaxHeadsPerItem;
    for (int j = 0; j < len; j++) {
      const bool visible = sorted || (cell_pos[j] <= pt && cell_pos[j] >= p_min);
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
        for (int j = 0; j < len; j++) {
          if (sc[j] != neg_inf) sc[j] = opt.softcap * std::tanh(sc[j] * scale / opt.softcap);
        }
        ops::softmax(sc, len);
      } else {
        ops::softmax_scaled(sc, len, scale);
      }
    }
    for (int64_t d = 0; d < hd_v; d++) {
      const uint8_t* vrow = vrows + d * n_ctx * eb;
      for (int64_t i = 0; i < per_item; i++)
        dot(len, &o0[i * hd_v + d], vrow, sc0 + i * scores_stride);
    }
  });
}

}  // namespace engine::nn
