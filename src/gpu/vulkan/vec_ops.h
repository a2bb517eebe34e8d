// The per-token vector steps of a decoder on the device (norms, activations, residual adds,
// RoPE), recorded into a Recorder between the matrix-vector products. Offsets and counts are
// in floats; each op matches its CPU twin in ops/vec.h. ARCHITECTURE.md §6.
#pragma once
#include <memory>

#include "gpu/vulkan/device.h"

namespace gpu::vk {

class VecOps {
 public:
  explicit VecOps(Device& dev);
  ~VecOps();

  // y[row] = rmsnorm(x[row]) * w for `rows` rows of n floats (w nullptr: no weight).
  void rmsnorm(Recorder& rec, const Buffer& x, uint32_t x_off, const Buffer* w, uint32_t w_off,
               Buffer& y, uint32_t y_off, uint32_t n, uint32_t rows, float eps);
  // out = silu(gate) * up over count floats.
  void swiglu(Recorder& rec, const Buffer& gate, uint32_t g_off, const Buffer& up, uint32_t u_off,
              Buffer& out, uint32_t o_off, uint32_t count);
  // y = a + b over count floats.
  void add(Recorder& rec, const Buffer& a, uint32_t a_off, const Buffer& b, uint32_t b_off,
           Buffer& y, uint32_t y_off, uint32_t count);
  // RoPE in place on the n_heads heads of n_tokens token rows (x_stride floats apart), each
  // with its cos/sin pairs at cs[cs_off + t * cs_stride..] (ops::rope_cache); neox: pairs
  // (i, i + n_rot / 2), else (2i, 2i + 1).
  void rope(Recorder& rec, Buffer& x, uint32_t x_off, const Buffer& cs, uint32_t cs_off,
            uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, bool neox, uint32_t n_tokens = 1,
            uint32_t x_stride = 0, uint32_t cs_stride = 0);

  // dst[dst_off..] = src[src_off..] for count floats, rounded to fp16 and back when f16 (a
  // KV cache write that keeps what an fp16 cache would hold).
  void store(Recorder& rec, const Buffer& src, uint32_t src_off, Buffer& dst, uint32_t dst_off,
             uint32_t count, bool f16);

  // One query token's attention, as nn::attention: q at q_off (n_head heads of hd floats); its
  // sequence's cells 0..n_keys - 1 at float kv_off of k_cache / v_cache (cell j at
  // j * kv_stride, n_kv heads of hd floats) with their positions at pos[pos_off..]; a cell is
  // visible when its position is <= pos_q and, window > 0, within the last `window`
  // positions; softcap > 0: capped scores; sinks (n_head floats, or nullptr) join each
  // head's denominator. scratch holds n_head * n_keys floats of scores; out at o_off.
  struct Attn {
    uint32_t n_head, n_kv, hd, n_keys, kv_stride;
    float scale;
    uint32_t window = 0;
    float softcap = 0.0f;
    uint32_t kv_off = 0, pos_off = 0;
    int32_t pos_q = 0;
  };
  void attention(Recorder& rec, const Attn& a, const Buffer& q, uint32_t q_off,
                 const Buffer& k_cache, const Buffer& v_cache, const Buffer& pos,
                 const Buffer* sinks, Buffer& scratch, Buffer& out, uint32_t o_off);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpu::vk
