// The KV cache: per-sequence cells (positions + keys + values) for every layer, with the
// edits a runner needs (remove a range, shift positions, copy a prefix to another sequence).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/engine.h"

namespace engine::kv {

// Each sequence owns n_ctx cells. Cells hold tokens in insertion order (positions increase
// along the cells in normal use); attention masks by position, not by cell index.
// Layouts per layer (element type F16 or F32):
//   K: [n_seq][n_head_kv][n_ctx][head_dim]   one contiguous key row per cell
//   V: [n_seq][n_head_kv][head_dim][n_ctx]   transposed, so out[d] = dot(p, V[d]) is a row dot
class KvCache {
 public:
  KvCache(int n_layer, int n_head_kv, int head_dim_k, int head_dim_v, int n_ctx, int n_seq,
          KvType type);

  int n_ctx() const { return n_ctx_; }
  int n_seq() const { return n_seq_; }
  KvType type() const { return type_; }
  size_t elem_bytes() const { return type_ == KvType::kF16 ? 2 : 4; }
  size_t bytes() const;

  int n_used(int seq) const { return n_used_[seq]; }
  const int32_t* positions(int seq) const { return &pos_[static_cast<size_t>(seq) * n_ctx_]; }
  int32_t pos_max(int seq) const;

  // Reserves the next cell of `seq` for a token at `pos`; returns its index. The caller has
  // checked that there is room (free_cells).
  int append(int seq, int32_t pos);
  int free_cells(int seq) const { return n_ctx_ - n_used_[seq]; }
  // Drops the last n cells of seq (undo of append after a failed decode).
  void pop(int seq, int n) { n_used_[seq] -= n; }

  // Stores one token's keys/values ([n_head_kv * head_dim] floats each) into a cell.
  void write(int layer, int seq, int cell, const float* k, const float* v);

  // Start of the key rows of (layer, seq, kv head): [n_ctx][head_dim_k].
  const void* k_rows(int layer, int seq, int kvh) const;
  void* k_rows(int layer, int seq, int kvh);
  // Start of the transposed values of (layer, seq, kv head): [head_dim_v][n_ctx].
  const void* v_rows(int layer, int seq, int kvh) const;

  void clear();
  void seq_clear(int seq) { n_used_[seq] = 0; }
  // Removes cells with p0 <= pos < p1 (p1 < 0: no upper bound), keeping the others in order.
  void seq_remove(int seq, int32_t p0, int32_t p1);
  // Adds delta to positions in [p0, p1); returns the indices of the cells that moved (whose
  // keys the caller must re-rotate by delta).
  std::vector<int> seq_shift(int seq, int32_t p0, int32_t p1, int32_t delta);
  // Replaces dst with src's cells whose position is in [p0, p1).
  void seq_copy(int src, int dst, int32_t p0, int32_t p1);

 private:
  size_t k_offset(int seq, int kvh, int cell) const;  // elements, within a layer
  size_t v_offset(int seq, int kvh, int dim) const;   // elements, within a layer: row start
  void move_cell(int seq_from, int cell_from, int seq_to, int cell_to);

  int n_layer_, n_head_kv_, head_dim_k_, head_dim_v_, n_ctx_, n_seq_;
  KvType type_;
  size_t layer_elems_k_, layer_elems_v_;
  // Per layer, see layout above. Left uninitialized: only used cells are ever read, and
  // untouched pages of a large cache cost no memory.
  std::vector<std::unique_ptr<uint8_t[]>> k_;
  std::vector<std::unique_ptr<uint8_t[]>> v_;
  std::vector<int32_t> pos_;  // [n_seq][n_ctx]
  std::vector<int> n_used_;   // [n_seq]
};

}  // namespace engine::kv
