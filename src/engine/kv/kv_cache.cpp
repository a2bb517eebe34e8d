#include "engine/kv/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "ops/blocks.h"

namespace engine::kv {

KvCache::KvCache(int n_layer, int n_head_kv, int head_dim_k, int head_dim_v, int n_ctx, int n_seq,
                 KvType type)
    : n_layer_(n_layer),
      n_head_kv_(n_head_kv),
      head_dim_k_(head_dim_k),
      head_dim_v_(head_dim_v),
      n_ctx_(n_ctx),
      n_seq_(n_seq),
      type_(type) {
  layer_elems_k_ = static_cast<size_t>(n_seq) * n_head_kv * n_ctx * head_dim_k;
  layer_elems_v_ = static_cast<size_t>(n_seq) * n_head_kv * n_ctx * head_dim_v;
  for (int il = 0; il < n_layer; il++) {
    k_.emplace_back(new uint8_t[layer_elems_k_ * elem_bytes()]);
    v_.emplace_back(new uint8_t[layer_elems_v_ * elem_bytes()]);
  }
  pos_.assign(static_cast<size_t>(n_seq) * n_ctx, 0);
  n_used_.assign(n_seq, 0);
}

size_t KvCache::bytes() const {
  return (layer_elems_k_ + layer_elems_v_) * elem_bytes() * n_layer_ +
         pos_.size() * sizeof(int32_t);
}

int32_t KvCache::pos_max(int seq) const {
  const int32_t* p = positions(seq);
  int32_t m = -1;
  for (int i = 0; i < n_used_[seq]; i++) m = std::max(m, p[i]);
  return m;
}

size_t KvCache::k_offset(int seq, int kvh, int cell) const {
  return ((static_cast<size_t>(seq) * n_head_kv_ + kvh) * n_ctx_ + cell) * head_dim_k_;
}

size_t KvCache::v_offset(int seq, int kvh, int dim) const {
  return ((static_cast<size_t>(seq) * n_head_kv_ + kvh) * head_dim_v_ + dim) * n_ctx_;
}

int KvCache::append(int seq, int32_t pos) {
  const int cell = n_used_[seq]++;
  pos_[static_cast<size_t>(seq) * n_ctx_ + cell] = pos;
  return cell;
}

void KvCache::write(int layer, int seq, int cell, const float* k, const float* v) {
  uint8_t* kb = k_[layer].get();
  uint8_t* vb = v_[layer].get();
  for (int h = 0; h < n_head_kv_; h++) {
    const float* kh = k + static_cast<size_t>(h) * head_dim_k_;
    const float* vh = v + static_cast<size_t>(h) * head_dim_v_;
    const size_t ko = k_offset(seq, h, cell);
    if (type_ == KvType::kF16) {
      auto* kd = reinterpret_cast<uint16_t*>(kb) + ko;
      for (int d = 0; d < head_dim_k_; d++) kd[d] = ops::fp32_to_fp16(kh[d]);
      auto* vd = reinterpret_cast<uint16_t*>(vb);
      for (int d = 0; d < head_dim_v_; d++)
        vd[v_offset(seq, h, d) + cell] = ops::fp32_to_fp16(vh[d]);
    } else {
      std::memcpy(reinterpret_cast<float*>(kb) + ko, kh, head_dim_k_ * sizeof(float));
      auto* vd = reinterpret_cast<float*>(vb);
      for (int d = 0; d < head_dim_v_; d++) vd[v_offset(seq, h, d) + cell] = vh[d];
    }
  }
}

const void* KvCache::k_rows(int layer, int seq, int kvh) const {
  return k_[layer].get() + k_offset(seq, kvh, 0) * elem_bytes();
}
void* KvCache::k_rows(int layer, int seq, int kvh) {
  return k_[layer].get() + k_offset(seq, kvh, 0) * elem_bytes();
}
const void* KvCache::v_rows(int layer, int seq, int kvh) const {
  return v_[layer].get() + v_offset(seq, kvh, 0) * elem_bytes();
}

void KvCache::clear() { std::fill(n_used_.begin(), n_used_.end(), 0); }

// Copies one cell (keys, values, position) of every layer; seq/cell pairs may be equal seqs.
void KvCache::move_cell(int seq_from, int cell_from, int seq_to, int cell_to) {
  const size_t eb = elem_bytes();
  for (int il = 0; il < n_layer_; il++) {
    uint8_t* kb = k_[il].get();
    uint8_t* vb = v_[il].get();
    for (int h = 0; h < n_head_kv_; h++) {
      std::memmove(kb + k_offset(seq_to, h, cell_to) * eb,
                   kb + k_offset(seq_from, h, cell_from) * eb, head_dim_k_ * eb);
      for (int d = 0; d < head_dim_v_; d++) {
        std::memcpy(vb + (v_offset(seq_to, h, d) + cell_to) * eb,
                    vb + (v_offset(seq_from, h, d) + cell_from) * eb, eb);
      }
    }
  }
  pos_[static_cast<size_t>(seq_to) * n_ctx_ + cell_to] =
      pos_[static_cast<size_t>(seq_from) * n_ctx_ + cell_from];
}

void KvCache::seq_remove(int seq, int32_t p0, int32_t p1) {
  const int32_t* p = positions(seq);
  int kept = 0;
  for (int i = 0; i < n_used_[seq]; i++) {
    const bool drop = p[i] >= p0 && (p1 < 0 || p[i] < p1);
    if (drop) continue;
    if (kept != i) move_cell(seq, i, seq, kept);
    kept++;
  }
  n_used_[seq] = kept;
}

std::vector<int> KvCache::seq_shift(int seq, int32_t p0, int32_t p1, int32_t delta) {
  std::vector<int> moved;
  int32_t* p = &pos_[static_cast<size_t>(seq) * n_ctx_];
  for (int i = 0; i < n_used_[seq]; i++) {
    if (p[i] >= p0 && (p1 < 0 || p[i] < p1)) {
      p[i] += delta;
      moved.push_back(i);
    }
  }
  return moved;
}

void KvCache::seq_copy(int src, int dst, int32_t p0, int32_t p1) {
  if (src == dst) return;
  n_used_[dst] = 0;
  const int32_t* p = positions(src);
  for (int i = 0; i < n_used_[src]; i++) {
    if (p[i] >= p0 && (p1 < 0 || p[i] < p1)) move_cell(src, i, dst, n_used_[dst]++);
  }
}

}  // namespace engine::kv
