// Attention over the KV cache (nn::attention): visible-range search per token, then per block of
// query tokens of one sequence and one KV head two small GEMMs on the tile kernels,
// scores = Q K^T and out = P V, with the causal/window mask, soft-cap and softmax in between.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/kv/kv_cache.h"
#include "engine/nn/blocks.h"
#include "ops/types.h"
#include "ops/vec.h"
#include "util/thread_pool.h"

namespace engine::nn {

namespace {

// Below this many multiply-adds the layer runs on the calling thread alone.
constexpr int64_t kParallelWork = 1 << 15;
// Kernels::gemm is handed at most this many weight rows per call (its contract with matmul).
constexpr int64_t kGemmRows = 64;
// The tile kernels need row lengths that are a multiple of this (else they fall back to dots).
constexpr int64_t kTileK = Scratch::kAttnTail;

bool sorted_positions(const int32_t* p, int n) {
  for (int i = 1; i < n; i++) {
    if (p[i] < p[i - 1]) return false;
  }
  return true;
}

// Key range of a token at position pt. Sorted cells: a binary search for the window start
// and the causal end. Otherwise the whole sequence, masked by position later.
AttnRange visible_cells(const int32_t* cell_pos, int n, bool sorted, int32_t pt, int32_t window) {
  if (!sorted) return {0, n, true};
  const int32_t* end = std::upper_bound(cell_pos, cell_pos + n, pt);
  const int32_t* begin = cell_pos;
  if (window > 0) begin = std::lower_bound(cell_pos, end, pt - window + 1);
  return {static_cast<int32_t>(begin - cell_pos), static_cast<int32_t>(end - cell_pos), false};
}

// y[t * ldy + r] = dot(w row r, act row t) for r < nr, t < nt, through the type's tile kernel
// in chunks of kGemmRows weight rows (or plain dots when the type has no tile kernel).
void gemm_rows(const ops::Kernels& kw, int64_t k, int64_t nr, int nt, const uint8_t* w,
               size_t w_stride, const float* act, size_t act_stride, float* y, int64_t ldy) {
  for (int64_t r0 = 0; r0 < nr; r0 += kGemmRows) {
    const int rows = static_cast<int>(std::min(kGemmRows, nr - r0));
    if (kw.gemm != nullptr) {
      kw.gemm(k, rows, nt, w + r0 * w_stride, w_stride, act, act_stride, y + r0, ldy);
      continue;
    }
    for (int t = 0; t < nt; t++) {
      const auto* a = reinterpret_cast<const uint8_t*>(act) + t * act_stride;
      for (int r = 0; r < rows; r++)
        kw.vec_dot(k, &y[t * ldy + r0 + r], w + (r0 + r) * w_stride, a);
    }
  }
}

// Everything one attention call shares between its work items.
struct Job {
  Step* s;
  int layer;
  const Shape* shape;
  float scale;
  AttnOptions opt;
  const ops::Kernels* kw;
  bool f16;
  size_t eb;
  int64_t group;     // query heads per KV head
  int64_t per_item;  // query heads per work item (divides group)
  int64_t n_items;
  const AttnRange* vis;   // [n_tokens]
  const int32_t* blocks;  // [n_blocks + 1] first token of each block
  int64_t n_blocks;
  std::atomic<int64_t> next{0};
};

// Scale (or soft-cap) and softmax one score row over its visible part [a, b); zeros elsewhere
// so the P V product can run over the block's whole key range.
void softmax_row(const Job& j, float* sc, int64_t nk, int64_t a, int64_t b, bool by_pos,
                 const int32_t* pos, int32_t pt, int64_t head) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (by_pos) {
    const int32_t p_min = j.opt.window > 0 ? pt - j.opt.window + 1 : INT32_MIN;
    for (int64_t c = a; c < b; c++) {
      if (pos[c] > pt || pos[c] < p_min) sc[c] = kNegInf;
    }
  }
  std::fill(sc, sc + a, 0.0f);
  std::fill(sc + b, sc + nk, 0.0f);
  if (b <= a) return;
  float* x = sc + a;
  const int64_t n = b - a;
  if (j.opt.softcap > 0) {
    const float cap = j.opt.softcap;
    for (int64_t c = 0; c < n; c++) {
      if (x[c] != kNegInf) x[c] = cap * std::tanh(x[c] / cap);
    }
  }
  if (j.opt.sinks == nullptr) {
    ops::softmax(x, n);
    return;
  }
  // With a sink: softmax gives exp(x - m) / S with m the largest score, so the largest
  // probability is 1 / S; rescale by S / (S + exp(sink - m)) (m = the max over the scores only
  // is fine: the factor is exact for any m).
  int64_t imax = 0;
  for (int64_t c = 1; c < n; c++) {
    if (x[c] > x[imax]) imax = c;
  }
  const float m = x[imax];
  const float sink = j.opt.sinks[head];
  ops::softmax(x, n);
  if (m == -std::numeric_limits<float>::infinity()) return;
  const float f = 1.0f / (1.0f + std::exp(sink - m) * x[imax]);
  ops::scale(x, f, n);
}

// One work item: the tokens of block `blk` (one sequence), KV head kvh, query heads
// [h0, h0 + per_item) of its group.
void run_item(Job& j, int64_t blk, int64_t kvh, int64_t h0, int ith) {
  Step& s = *j.s;
  const Shape& sh = *j.shape;
  const kv::KvCache& kv = *s.kv;
  const int t0 = j.blocks[blk], t1 = j.blocks[blk + 1];
  const int seq = s.seq[t0];
  const int n = kv.n_used(seq);
  const int32_t* cell_pos = kv.positions(seq);
  const int64_t hd_k = sh.head_dim_k, hd_v = sh.head_dim_v;
  const int64_t n_ctx = kv.n_ctx();

  int64_t klo = n, khi = 0;
  for (int t = t0; t < t1; t++) {
    if (j.vis[t].hi <= j.vis[t].lo) continue;
    klo = std::min<int64_t>(klo, j.vis[t].lo);
    khi = std::max<int64_t>(khi, j.vis[t].hi);
  }
  // Query rows: one token's heads of this item (contiguous in q), or per head all tokens.
  const int n_tok = t1 - t0;
  const bool one_token = n_tok == 1;
  const int n_sets = one_token ? 1 : static_cast<int>(j.per_item);
  const int rows_per_set = one_token ? static_cast<int>(j.per_item) : n_tok;
  const int64_t q_stride = one_token ? hd_k : sh.n_q();
  const int64_t o_stride = one_token ? hd_v : sh.n_head * hd_v;
  const float* q_base = s.buf->q.data() + t0 * sh.n_q() + h0 * hd_k;
  float* o_base = s.buf->attn.data() + t0 * sh.n_head * hd_v + h0 * hd_v;
  if (khi <= klo) {  // nothing visible (cannot happen for a token's own cell): zeros
    for (int set = 0; set < n_sets; set++) {
      float* o = o_base + (one_token ? set * rows_per_set * hd_v : set * hd_v);
      for (int r = 0; r < rows_per_set; r++)
        std::fill(o + r * o_stride, o + r * o_stride + hd_v, 0);
    }
    return;
  }
  // Widen the key range to a multiple of the tile length with cells the mask zeroes anyway
  // (only cells in use: unused ones hold garbage that 0 * NaN would spread).
  int64_t pad = (kTileK - (khi - klo) % kTileK) % kTileK;
  const int64_t down = std::min(pad, klo);
  klo -= down;
  khi += std::min(pad - down, n - khi);
  const int64_t nk = khi - klo;

  const auto* krows = static_cast<const uint8_t*>(kv.k_rows(j.layer, seq, static_cast<int>(kvh))) +
                      klo * hd_k * j.eb;
  const auto* vrows =
      static_cast<const uint8_t*>(kv.v_rows(j.layer, seq, static_cast<int>(kvh))) + klo * j.eb;
  const size_t v_stride = n_ctx * j.eb;
  Scratch& b = *s.buf;
  float* scores = b.scores.data() + static_cast<size_t>(ith) * b.scores_per_thread;
  float* qbuf = b.attn_q.data() + static_cast<size_t>(ith) * b.attn_q_per_thread;
  float* vtail = b.attn_vtail.data() + static_cast<size_t>(ith) * Scratch::kAttnTail * hd_v;
  // Tile part of P V; a rest of < 16 keys goes through axpy on F32 copies of its values. A
  // single token (decode) takes the whole range in one call instead: its keys and values come
  // from memory, where the kernel's prefetching dots beat tiles plus the scalar copy (measured
  // in engine-bench decode, 1B shape: tiles + tail 1.5 % slower).
  const int64_t n_main = nk >= kTileK && !one_token ? nk / kTileK * kTileK : nk;
  const int64_t n_tail = nk - n_main;
  if (n_tail > 0) {  // the last few values as F32 rows [n_tail][hd_v] for axpy
    float tmp[Scratch::kAttnTail];
    for (int64_t d = 0; d < hd_v; d++) {
      j.kw->dequantize_row(vrows + d * v_stride + n_main * j.eb, tmp, n_tail);
      for (int64_t c = 0; c < n_tail; c++) vtail[c * hd_v + d] = tmp[c];
    }
  }

  for (int set = 0; set < n_sets; set++) {
    // The set's query rows, contiguous and times the scale (saves a pass over the scores).
    const float* qs = q_base + (one_token ? 0 : set * hd_k);
    for (int r = 0; r < rows_per_set; r++) {
      for (int64_t d = 0; d < hd_k; d++) qbuf[r * hd_k + d] = qs[r * q_stride + d] * j.scale;
    }
    float* os = o_base + (one_token ? 0 : set * hd_v);
    gemm_rows(*j.kw, hd_k, nk, rows_per_set, krows, hd_k * j.eb, qbuf, hd_k * sizeof(float), scores,
              nk);
    for (int r = 0; r < rows_per_set; r++) {
      const int t = one_token ? t0 : t0 + r;
      const AttnRange& v = j.vis[t];
      const int64_t a = std::clamp<int64_t>(v.lo - klo, 0, nk);
      softmax_row(j, scores + r * nk, nk, a, std::clamp<int64_t>(v.hi - klo, a, nk), v.by_pos,
                  cell_pos + klo, s.pos[t], h0 + (one_token ? r : set));
    }
    gemm_rows(*j.kw, n_main, hd_v, rows_per_set, vrows, v_stride, scores, nk * sizeof(float), os,
              o_stride);
    for (int r = 0; r < rows_per_set && n_tail > 0; r++) {
      const float* p = scores + r * nk + n_main;
      for (int64_t c = 0; c < n_tail; c++) {
        if (p[c] != 0.0f) ops::axpy(p[c], vtail + c * hd_v, os + r * o_stride, hd_v);
      }
    }
  }
}

void run_items(void* ctx, int ith, int) {
  Job& j = *static_cast<Job*>(ctx);
  const int64_t per_block = j.shape->n_head / j.per_item;
  // Items are taken from the last block backwards: later tokens of a prompt see more keys, so
  // the longest items go first and the short ones fill the gaps at the end.
  for (int64_t i = j.next.fetch_add(1, std::memory_order_relaxed); i < j.n_items;
       i = j.next.fetch_add(1, std::memory_order_relaxed)) {
    const int64_t blk = j.n_blocks - 1 - i / per_block;
    const int64_t h0 = (i % per_block) * j.per_item;
    run_item(j, blk, h0 / j.group, h0, ith);
  }
}

}  // namespace

void attention(Step& s, int layer, const Shape& shape, float scale, AttnOptions opt) {
  if (s.backend) return s.backend->attention(s, layer, shape, scale, opt);
  kv::KvCache& kv = *s.kv;
  Scratch& b = *s.buf;
  const float* k = b.k.data();
  const float* v = b.v.data();
  util::ThreadPool& write_pool =
      s.n_tokens * shape.n_k() < kParallelWork && s.serial ? *s.serial : *s.pool;
  auto write = [&](int ith, int nth) {
    for (int t = ith; t < s.n_tokens; t += nth)
      kv.write(layer, s.seq[t], s.cell[t], k + t * shape.n_k(), v + t * shape.n_v());
  };
  if (s.n_tokens == 1) {
    write(0, 1);
  } else {
    write_pool.run(write);
  }

  // Visible cells per token; blocks of consecutive tokens of one sequence.
  AttnRange* vis = b.attn_ranges.data();
  int32_t* blocks = b.attn_blocks.data();
  int64_t work = 0;
  int longest = 0;
  {
    // Whether each sequence's cells are in position order, remembered for the last few
    // sequences seen (a continuous batch interleaves a handful; checking is O(cells)).
    constexpr int kMemo = 16;
    int memo_seq[kMemo], n_memo = 0;
    bool memo_sorted[kMemo];
    for (int t = 0; t < s.n_tokens; t++) {
      const int seq = s.seq[t];
      const int n = kv.n_used(seq);
      int m = 0;
      while (m < n_memo && memo_seq[m] != seq) m++;
      if (m == n_memo) {
        m = n_memo < kMemo ? n_memo++ : t % kMemo;
        memo_seq[m] = seq;
        memo_sorted[m] = sorted_positions(kv.positions(seq), n);
      }
      vis[t] = visible_cells(kv.positions(seq), n, memo_sorted[m], s.pos[t], opt.window);
      work += vis[t].hi - vis[t].lo;
      longest = std::max(longest, n);
    }
  }
  const int64_t group = shape.n_head / shape.n_head_kv;
  int64_t per_item = std::min(group, Scratch::kAttnMaxHeads);
  while (group % per_item != 0) per_item--;  // an item never spans two KV heads
  // Tokens per block: as many score rows as the per-thread scores hold for the longest
  // sequence (a block works head by head; a single token takes its heads at once, which
  // scores_per_thread always holds).
  // AMX tiles take 16 query rows per step and repack the keys per call: they want more rows
  // per block than the AVX-512 4x4 tiles, whose blocks pay more causal padding (measured on
  // a 1B shape: 64 best with AMX, 32 without).
  const int64_t block_tokens = ops::detected_isa() == ops::Isa::kAmx ? 64 : 32;
  const int64_t max_block = std::clamp<int64_t>(b.scores_per_thread / std::max(longest, 1), 1,
                                                std::min(block_tokens, Scratch::kAttnBlockTokens));
  int64_t n_blocks = 0;
  for (int t = 0; t < s.n_tokens; t++) {
    if (t == 0 || s.seq[t] != s.seq[t - 1] || t - blocks[n_blocks - 1] >= max_block)
      blocks[n_blocks++] = t;
  }
  blocks[n_blocks] = s.n_tokens;

  util::ThreadPool& pool =
      work * shape.n_head * (shape.head_dim_k + shape.head_dim_v) < kParallelWork && s.serial
          ? *s.serial
          : *s.pool;
  // Few blocks (decode): split GQA groups further so that every thread gets items.
  while (per_item > 1 && n_blocks * (shape.n_head / per_item) < 2 * pool.size()) {
    per_item--;
    while (group % per_item != 0) per_item--;
  }

  Job j;
  j.s = &s;
  j.layer = layer;
  j.shape = &shape;
  j.scale = scale;
  j.opt = opt;
  j.f16 = kv.type() == KvType::kF16;
  j.kw = ops::kernels(j.f16 ? ops::DType::F16 : ops::DType::F32);
  j.eb = kv.elem_bytes();
  j.group = group;
  j.per_item = per_item;
  j.vis = vis;
  j.blocks = blocks;
  j.n_blocks = n_blocks;
  j.n_items = n_blocks * (shape.n_head / per_item);
  if (j.n_items == 1 || pool.size() == 1) {
    run_items(&j, 0, 1);
  } else {
    pool.run(run_items, &j);
  }
}

}  // namespace engine::nn
