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

struct Shape {
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim_k = 0, head_dim_v = 0, n_ff = 0;
  int64_t n_wide = 0;  // width of fused projections (qkv, gate+up) if the arch has any
  int64_t n_q() const { return n_head * head_dim_k; }
  int64_t n_k() const { return n_head_kv * head_dim_k; }
  int64_t n_v() const { return n_head_kv * head_dim_v; }
};

enum class RopeMode { kNormal, kNeox };  // pairs (2i, 2i+1) / pairs (i, i + n_rot/2)

struct Rope {
  RopeMode mode = RopeMode::kNormal;
  int64_t n_rot = 0;  // rotated dims per head (= head_dim usually)
  float base = 10000.0f;
  float freq_scale = 1.0f;              // 1 / linear scaling factor
  const float* freq_factors = nullptr;  // [n_rot / 2] llama3 divisors, or nullptr
};

// Activations for up to n_batch tokens, row-major [n_tokens][width]. Allocated once.
struct Scratch {
  void resize(const Shape& s, int64_t n_batch, int64_t n_ctx, int n_threads);
  static constexpr int64_t kAttnMaxHeads = 8;  // query heads per attention work item
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
  std::vector<float> scores;   // [n_threads, n_ctx] attention probabilities
  std::vector<float> rope_cs;  // [n_threads, head_dim] cos/sin pairs
  int64_t n_ctx = 0;
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
};

}  // namespace engine::nn
