// The per-token vector steps of a decoder on the device (norms, activations, residual adds,
// RoPE), recorded into a Recorder between the matrix-vector products. Offsets and counts are
// in floats; each op matches its CPU twin in ops/vec.h. ARCHITECTURE.md §6.
#pragma once
#include <memory>

#include "gpu/vulkan/device.h"

namespace gpu::vk {

// Rows of a glu: how many, and the gate, up and output strides in floats.
struct GluRows {
  uint32_t rows = 1, g_stride = 0, u_stride = 0, o_stride = 0;
};

class VecOps {
 public:
  explicit VecOps(Device& dev);
  ~VecOps();

  // y[row] = rmsnorm(x[row]) * w for `rows` rows of n floats (w nullptr: no weight).
  void rmsnorm(Recorder& rec, const Buffer& x, uint32_t x_off, const Buffer* w, uint32_t w_off,
               Buffer& y, uint32_t y_off, uint32_t n, uint32_t rows, float eps);
  // out = act(gate) * up over count floats, for `rows` rows (g_stride, u_stride, o_stride
  // floats apart): SiLU as ops::swiglu, GELU (tanh form) as ops::geglu, gpt-oss's clamped
  // SwiGLU (alpha, limit) as nn::expert_act.
  enum class Glu { kSilu, kGelu, kSwigluOai };
  using Rows = GluRows;
  void glu(Recorder& rec, Glu act, const Buffer& gate, uint32_t g_off, const Buffer& up,
           uint32_t u_off, Buffer& out, uint32_t o_off, uint32_t count, Rows rows = {},
           float alpha = 0.0f, float limit = 0.0f);
  // y row r (count floats, rows packed) = x row table[idx_off + r] (x_stride floats apart),
  // r < rows: the tokens routed to one expert.
  void gather_rows(Recorder& rec, const Buffer& x, uint32_t x_off, uint32_t x_stride,
                   const Buffer& table, uint32_t idx_off, Buffer& y, uint32_t y_off,
                   uint32_t count, uint32_t rows);
  // out row table[idx_off + r] += w * y row r, w the float at table[wt_off + idx_off + r]:
  // an expert's outputs weighted back into its tokens' rows (distinct within one call).
  void scatter_axpy(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
                    uint32_t idx_off, uint32_t wt_off, Buffer& out, uint32_t out_off,
                    uint32_t out_stride, uint32_t count, uint32_t rows);
  // y row r = count floats of x row r (x_stride, y_stride floats apart), r < rows.
  void copy_rows(Recorder& rec, const Buffer& x, uint32_t x_off, Buffer& y, uint32_t y_off,
                 uint32_t count, uint32_t rows, uint32_t x_stride, uint32_t y_stride);
  // y = a + b over count floats, for `rows` rows (a_stride, b_stride, y_stride floats apart;
  // b_stride 0: the same b for every row, a bias).
  void add(Recorder& rec, const Buffer& a, uint32_t a_off, const Buffer& b, uint32_t b_off,
           Buffer& y, uint32_t y_off, uint32_t count, uint32_t rows = 1, uint32_t a_stride = 0,
           uint32_t b_stride = 0, uint32_t y_stride = 0);
  // y rows (width floats at y_off, `rows` of them, packed) += the width floats of bias at b_off.
  void add_bias(Recorder& rec, Buffer& y, uint32_t y_off, const Buffer& bias, uint32_t b_off,
                uint32_t width, uint32_t rows);
  // A mixture of experts on the device, so a MoE layer of a decode step needs no host round
  // trip (the experts' matrices run through Matvec::record_experts on the ids moe_route
  // writes).
  // The most experts a token may use (k) here.
  static constexpr uint32_t kMaxExpertsUsed = 16;
  // For each of n_tokens rows of n_expert router logits at l_off: the k experts picked (ids
  // at table[out_off + q], q = token * k + j, descending logits, ties to the lower id) and
  // their weights (float bits at table[out_off + n_tokens * k + q]); gating 0 = softmax over
  // the picked logits (gpt-oss), 1 = softmax over all, taken at the picked (renormalized when
  // norm), as nn::moe_route.
  void moe_route(Recorder& rec, const Buffer& logits, uint32_t l_off, uint32_t n_tokens,
                 uint32_t n_expert, uint32_t k, uint32_t gating, bool norm, Buffer& table,
                 uint32_t out_off);
  // o rows q < n_pairs (width floats at o_off) += the stacked bias's slice of expert
  // table[ids_off + q].
  void expert_bias(Recorder& rec, Buffer& o, uint32_t o_off, const Buffer& bias, uint32_t b_off,
                   const Buffer& table, uint32_t ids_off, uint32_t width, uint32_t n_pairs);
  // out row t (width floats) = sum over j < k of weight(t k + j) * y row (t k + j), the
  // weights at table[wt_off + q]; n_tokens rows.
  void moe_combine(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
                   uint32_t wt_off, Buffer& out, uint32_t out_off, uint32_t width, uint32_t k,
                   uint32_t n_tokens);

  // RoPE in place on the n_heads heads of n_tokens token rows (x_stride floats apart), each
  // with its cos/sin pairs at cs[cs_off + t * cs_stride..] (ops::rope_cache); neox: pairs
  // (i, i + n_rot / 2), else (2i, 2i + 1).
  void rope(Recorder& rec, Buffer& x, uint32_t x_off, const Buffer& cs, uint32_t cs_off,
            uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, bool neox, uint32_t n_tokens = 1,
            uint32_t x_stride = 0, uint32_t cs_stride = 0);

  // Per token of a step, kTableInts int32s of a host-visible `table` buffer: where its
  // keys/values go (cell_off: float offset of its cell in a layer's cache), where its
  // sequence's cells start in the cache (kv_off, floats) and in the positions (pos_off), its
  // position pos_q and how many cells its sequence uses (n_keys).
  static constexpr int kTableInts = 6;
  struct TokenTable {
    int32_t cell_off, kv_off, pos_off, pos_q, n_keys, unused;
  };

  // The keys (or values) of n_tokens tokens (n_kv floats each, from src_off) into their
  // cells of `cache` and into `back` (token rows from back_off), rounded through fp16 when
  // f16: what an fp16 cache holds.
  void kv_store(Recorder& rec, const Buffer& src, uint32_t src_off, Buffer& cache, Buffer& back,
                uint32_t back_off, const Buffer& table, uint32_t n_kv, uint32_t n_tokens,
                bool f16);

  // Attention of query tokens tok0 .. tok0 + n_tokens - 1, as nn::attention: each token's q
  // at q_off + t * q_stride (n_head heads of hd floats) against its sequence's cells in
  // k_cache / v_cache (`table`; cell j at kv_off + j * kv_stride, n_kv heads of hd floats),
  // a cell visible when its position is <= pos_q and, window > 0, within the last `window`
  // positions; softcap > 0: capped scores; sinks (n_head floats, or nullptr) join each
  // head's denominator; out at o_off + t * o_stride. One pass with an online softmax, so no
  // scores are stored, whatever the context length; hd <= kMaxAttnHeadDim.
  struct Attn {
    uint32_t n_head, n_kv, hd, kv_stride;
    float scale;
    uint32_t window = 0;
    float softcap = 0.0f;
  };
  void attention(Recorder& rec, const Attn& a, const Buffer& q, uint32_t q_off, uint32_t q_stride,
                 const Buffer& k_cache, const Buffer& v_cache, const Buffer& pos,
                 const Buffer& table, uint32_t tok0, uint32_t n_tokens, const Buffer* sinks,
                 Buffer& out, uint32_t o_off, uint32_t o_stride);
  static constexpr uint32_t kMaxAttnHeadDim = 256;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpu::vk
