// What one forward chunk (ubatch) works on: the decoder's shape, RoPE settings, the tokens
// with their sequences/positions/cells, scratch activations sized once per context.
#pragma once
#include <cstdint>
#include <vector>

namespace util {
class ThreadPool;
}
namespace engine::kv {
class KvCache;
}

namespace engine::nn {

class Backend;

struct Shape {
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim_k = 0, head_dim_v = 0, n_ff = 0;
  int64_t n_wide = 0;  // width of fused projections (qkv, gate+up) if the arch has any
  // Mixture of experts (0 when dense): experts, experts per token, an expert's FFN width.
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  int64_t n_q() const { return n_head * head_dim_k; }
  int64_t n_k() const { return n_head_kv * head_dim_k; }
  int64_t n_v() const { return n_head_kv * head_dim_v; }
};

enum class RopeMode { kNormal, kNeox };  // pairs (2i, 2i+1) / pairs (i, i + n_rot/2)

// YaRN (rope.scaling.type = yarn): pair i's angle blends the interpolated angle (times
// freq_scale = 1/factor) and the original one by a ramp between the pairs whose wavelength
// fits beta_fast and beta_slow times into orig_ctx; cos and sin are scaled by mscale.
struct Yarn {
  float orig_ctx = 0;  // 0 = off
  float beta_fast = 32.0f, beta_slow = 1.0f;
  float mscale = 1.0f;
};

struct Rope {
  RopeMode mode = RopeMode::kNormal;
  int64_t n_rot = 0;  // rotated dims per head (= head_dim usually)
  float base = 10000.0f;
  float freq_scale = 1.0f;              // 1 / linear scaling factor
  const float* freq_factors = nullptr;  // [n_rot / 2] llama3 divisors, or nullptr
  Yarn yarn;
};

// Cells of its sequence that a token attends to: [lo, hi). by_pos: the cells are not in
// position order, so each one in the range is still checked against the causal/window mask.
struct AttnRange {
  int32_t lo = 0, hi = 0;
  bool by_pos = false;
};

// Activations for up to n_batch tokens, row-major [n_tokens][width]. Allocated once.
struct Scratch {
  void resize(const Shape& s, int64_t n_batch, int64_t n_ctx, int n_threads);

  std::vector<float> x;        // [n_batch, n_embd] residual stream
  std::vector<float> xn;       // [n_batch, n_embd] normed input of a block
  std::vector<float> q;        // [n_batch, n_q]
  std::vector<float> k;        // [n_batch, n_k]
  std::vector<float> v;        // [n_batch, n_v]
  std::vector<float> attn;     // [n_batch, n_head * head_dim_v]
  std::vector<float> proj;     // [n_batch, n_embd] output of a projection before the add
  std::vector<float> gate;     // [n_batch, n_ff]
  std::vector<float> up;       // [n_batch, n_ff]
  std::vector<float> wide;     // [n_batch, n_wide] fused projections (empty if none)
  std::vector<float> rope_cs;  // [n_threads, head_dim] cos/sin pairs
  int64_t n_ctx = 0;

  // Attention (nn/attention.cpp): a work item is a block of query tokens of one sequence (or
  // one token) against one KV head for up to kAttnMaxHeads query heads.
  static constexpr int64_t kAttnMaxHeads = 8;
  static constexpr int64_t kAttnBlockTokens = 64;       // most query tokens per block
  static constexpr int64_t kAttnScoreFloats = 1 << 18;  // 1 MiB of scores per thread for blocks
  static constexpr int64_t kAttnTail = 16;  // the tile kernels take key ranges in steps of 16
  std::vector<float> scores;           // [n_threads, scores_per_thread] scores, then probabilities
  int64_t scores_per_thread = 0;       // >= kAttnMaxHeads * n_ctx (one token, a group of heads)
  std::vector<float> attn_q;           // [n_threads, attn_q_per_thread] scaled query rows
  int64_t attn_q_per_thread = 0;       // max(kAttnBlockTokens, kAttnMaxHeads) * head_dim_k
  std::vector<float> attn_vtail;       // [n_threads, kAttnTail, head_dim_v] last values as F32
  std::vector<AttnRange> attn_ranges;  // [n_batch] visible cells of each token
  std::vector<int32_t> attn_blocks;    // [n_batch + 1] first token of each block

  // Mixture of experts (nn/moe.cpp), sized when n_expert > 0.
  std::vector<float> moe_logits;    // [n_batch, n_expert] router logits
  std::vector<int32_t> moe_sel;     // [n_batch, n_expert_used] selected experts
  std::vector<float> moe_w;         // [n_batch, n_expert_used] their weights
  std::vector<int32_t> moe_tokens;  // [n_batch * n_expert_used] tokens grouped by expert
  std::vector<float> moe_tw;        // [same] the weight of each grouped entry
  std::vector<int32_t> moe_start;   // [n_expert + 1] first grouped entry of each expert
  std::vector<int32_t> moe_fill;    // [n_expert] next free grouped entry of each expert
  std::vector<float> moe_x;         // [n_batch, n_embd] inputs of one expert's tokens
  std::vector<float> moe_g, moe_u;  // [n_batch, n_ff_exp]
  std::vector<float> moe_y;         // [n_batch, n_embd]
};

struct Step {
  util::ThreadPool* pool = nullptr;
  // A one-thread pool for work too small to be worth waking the others (tiny models, decode
  // of small layers): a wake-up and barrier can cost more than the work on a busy machine.
  util::ThreadPool* serial = nullptr;
  kv::KvCache* kv = nullptr;
  Scratch* buf = nullptr;
  int n_tokens = 0;
  const int32_t* tokens = nullptr;  // [n_tokens]
  const int32_t* pos = nullptr;     // [n_tokens]
  const int32_t* seq = nullptr;     // [n_tokens]
  const int32_t* cell = nullptr;    // [n_tokens] KV cell of each token in its sequence
  int n_out = 0;
  const int32_t* out_rows = nullptr;  // [n_out] indices of tokens whose logits are wanted
  float* logits = nullptr;            // [n_out, n_vocab]
  Backend* backend = nullptr;  // runs the blocks' steps elsewhere (GPU); nullptr: the CPU
  // A context on a GPU: its backend runs layers device_from.. and the output (enter_layer
  // switches `backend` between nullptr and it); earlier layers and the embedding run on the CPU.
  Backend* device = nullptr;
  int device_from = 0;
};

}  // namespace engine::nn
