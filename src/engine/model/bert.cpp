// bert and nomic-bert: post-LayerNorm encoders with bidirectional attention and no KV cache.
// bert: learned positions, biased q/k/v/o and FFN, GELU. nomic-bert: NeoX RoPE, fused bias-free
// qkv, SwiGLU FFN (testdata/models/README.md states the math both follow).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/model/arch.h"
#include "engine/model/encoder.h"
#include "engine/model/weights.h"
#include "ops/matmul.h"
#include "ops/vec.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace engine::model {

namespace {

// Runs fn(i, ith) for i in [0, n) spread over the pool.
template <class F>
void parallel_for(util::ThreadPool& pool, int64_t n, F fn) {
  auto body = [&](int ith, int nth) {
    for (int64_t i = ith; i < n; i += nth) fn(i, ith);
  };
  pool.run(body);
}

void linear(const nn::Matrix& w, const nn::Vector* bias, const float* x, int64_t n_tokens, float* y,
            util::ThreadPool& pool) {
  ops::matmul(w.data, w.type, w.k, w.n, x, n_tokens, y, pool);
  if (bias && bias->present()) {
    for (int64_t t = 0; t < n_tokens; t++) ops::add(y + t * w.n, bias->data, y + t * w.n, w.n);
  }
}

// y[t] = LayerNorm(x[t] + r[t]) in place on x (r may be nullptr).
void add_norm(float* x, const float* r, const nn::Vector& w, const nn::Vector& b, int64_t n,
              int64_t n_tokens, float eps, util::ThreadPool& pool) {
  parallel_for(pool, n_tokens, [&](int64_t t, int) {
    float* row = x + t * n;
    if (r) ops::add(row, r + t * n, row, n);
    ops::layernorm(row, w.data, b.data, row, n, eps);
  });
}

}  // namespace

Encoder::Encoder(const gguf::File& file) {
  const std::string arch = file.architecture();
  if (arch != "bert" && arch != "nomic-bert") {
    throw util::bad_request(file.path() + ": '" + arch + "' is not an encoder architecture");
  }
  KeyReader keys{file, arch};
  p_.arch = arch;
  p_.n_vocab = vocab_size(file);
  p_.n_embd = keys.get_int("embedding_length", 0, true);
  p_.n_layer = keys.get_int("block_count", 0, true);
  p_.n_ff = keys.get_int("feed_forward_length", 0, true);
  p_.n_head = keys.get_int("attention.head_count", 0, true);
  p_.n_ctx_train = keys.get_int("context_length", 512);
  p_.norm_eps = static_cast<float>(keys.get_float("attention.layer_norm_epsilon", 1e-12));
  p_.rope = arch == "nomic-bert";
  p_.rope_base = static_cast<float>(keys.get_float("rope.freq_base", 10000.0));
  p_.pooling = static_cast<int>(keys.get_int("pooling_type", arch == "bert" ? 2 : 1));
  if (p_.n_embd <= 0 || p_.n_layer <= 0 || p_.n_ff <= 0 || p_.n_head <= 0 ||
      p_.n_embd % p_.n_head != 0 || p_.n_ctx_train <= 0) {
    throw util::bad_request(file.path() + ": bad " + arch +
                            " hyper-parameters (embedding_length must be a positive multiple "
                            "of attention.head_count; sizes positive)");
  }
  if (p_.pooling < 0 || p_.pooling > 4) {
    throw util::bad_request(file.path() + ": unsupported " + arch + ".pooling_type " +
                            std::to_string(p_.pooling) + " (none, mean, cls, last and rank are)");
  }
  p_.head_dim = p_.n_embd / p_.n_head;

  Sizes sizes;
  sizes.n_embd = p_.n_embd;
  sizes.n_vocab = p_.n_vocab;
  sizes.n_ff = p_.n_ff;
  sizes.n_head = sizes.n_head_kv = p_.n_head;
  sizes.head_dim = p_.head_dim;
  Binder b(file, sizes);
  using D = Dim;
  const Need req = Need::kRequired, opt = Need::kOptional;
  w_.token_embd = b.matrix({"token_embd.weight"}, -1, D::kEmbd, D::kVocab, req);
  b.vector(w_.embd_norm_w, {"token_embd_norm.weight"}, -1, D::kEmbd, req);
  b.vector(w_.embd_norm_b, {"token_embd_norm.bias"}, -1, D::kEmbd, req);
  // Tables with their own row counts: bind each against sizes where "vocab" is that count.
  if (const gguf::TensorInfo* t = file.tensor("token_types.weight"); t && t->dims.size() >= 2) {
    Sizes s = sizes;
    s.n_vocab = t->dims[1];
    w_.token_types = Binder(file, s).matrix({"token_types.weight"}, -1, D::kEmbd, D::kVocab, req);
  }
  if (!p_.rope) {
    Sizes s = sizes;
    s.n_vocab = p_.n_ctx_train;
    w_.position_embd =
        Binder(file, s).matrix({"position_embd.weight"}, -1, D::kEmbd, D::kVocab, req);
  }
  if (p_.pooling == 4) {  // rank: the classification head is required, its dense layer not
    const gguf::TensorInfo* t = file.tensor("cls.output.weight");
    if (!t || t->dims.size() < 2)
      throw util::bad_request(file.path() + ": rank pooling needs a cls.output.weight tensor");
    p_.n_cls_out = t->dims[1];
    Sizes s = sizes;
    s.n_vocab = p_.n_cls_out;  // "vocab" rows = labels
    Binder hb(file, s);
    w_.cls_out = hb.matrix({"cls.output.weight"}, -1, D::kEmbd, D::kVocab, req);
    hb.vector(w_.cls_out_b, {"cls.output.bias"}, -1, D::kVocab, opt);
    w_.cls = b.matrix({"cls.weight"}, -1, D::kEmbd, D::kEmbd, opt);
    b.vector(w_.cls_b, {"cls.bias"}, -1, D::kEmbd, opt);
  }
  w_.layers.resize(p_.n_layer);
  for (int il = 0; il < p_.n_layer; il++) {
    EncoderLayer& l = w_.layers[il];
    if (p_.rope) {
      l.wqkv = b.matrix({"blk.%d.attn_qkv.weight"}, il, D::kEmbd, D::kQkv, req);
    } else {
      l.wq = b.matrix({"blk.%d.attn_q.weight"}, il, D::kEmbd, D::kQ, req);
      l.wk = b.matrix({"blk.%d.attn_k.weight"}, il, D::kEmbd, D::kKv, req);
      l.wv = b.matrix({"blk.%d.attn_v.weight"}, il, D::kEmbd, D::kKv, req);
      b.vector(l.bq, {"blk.%d.attn_q.bias"}, il, D::kQ, opt);
      b.vector(l.bk, {"blk.%d.attn_k.bias"}, il, D::kKv, opt);
      b.vector(l.bv, {"blk.%d.attn_v.bias"}, il, D::kKv, opt);
      b.vector(l.bo, {"blk.%d.attn_output.bias"}, il, D::kEmbd, opt);
      b.vector(l.ffn_up_b, {"blk.%d.ffn_up.bias"}, il, D::kFf, opt);
      b.vector(l.ffn_down_b, {"blk.%d.ffn_down.bias"}, il, D::kEmbd, opt);
    }
    l.wo = b.matrix({"blk.%d.attn_output.weight"}, il, D::kQ, D::kEmbd, req);
    b.vector(l.attn_norm_w, {"blk.%d.attn_output_norm.weight"}, il, D::kEmbd, req);
    b.vector(l.attn_norm_b, {"blk.%d.attn_output_norm.bias"}, il, D::kEmbd, req);
    l.ffn_up = b.matrix({"blk.%d.ffn_up.weight"}, il, D::kEmbd, D::kFf, req);
    if (p_.rope) l.ffn_gate = b.matrix({"blk.%d.ffn_gate.weight"}, il, D::kEmbd, D::kFf, req);
    l.ffn_down = b.matrix({"blk.%d.ffn_down.weight"}, il, D::kFf, D::kEmbd, req);
    b.vector(l.out_norm_w, {"blk.%d.layer_output_norm.weight"}, il, D::kEmbd, req);
    b.vector(l.out_norm_b, {"blk.%d.layer_output_norm.bias"}, il, D::kEmbd, req);
  }
}

void Encoder::classify(const float* states, int64_t n_seq, float* scores,
                       util::ThreadPool& pool) const {
  const int64_t E = p_.n_embd;
  std::vector<float> h(states, states + n_seq * E);
  if (w_.cls.present()) {
    std::vector<float> dense(n_seq * E);
    linear(w_.cls, &w_.cls_b, h.data(), n_seq, dense.data(), pool);
    for (float& v : dense) v = std::tanh(v);
    h.swap(dense);
  }
  linear(w_.cls_out, &w_.cls_out_b, h.data(), n_seq, scores, pool);
}

void Encoder::attention(const float* q, const float* k, const float* v, float* out,
                        const std::vector<int64_t>& starts, util::ThreadPool& pool) const {
  const int64_t E = p_.n_embd, H = p_.n_head, hd = p_.head_dim;
  const int64_t n_tokens = starts.back();
  int64_t max_len = 0;
  std::vector<int64_t> seq_of(n_tokens);
  for (size_t s = 0; s + 1 < starts.size(); s++) {
    max_len = std::max(max_len, starts[s + 1] - starts[s]);
    for (int64_t t = starts[s]; t < starts[s + 1]; t++) seq_of[t] = static_cast<int64_t>(s);
  }
  std::vector<float> scores(static_cast<size_t>(pool.size()) * max_len);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Every query attends to every token of its own sequence: no causal mask.
  parallel_for(pool, n_tokens * H, [&](int64_t item, int ith) {
    const int64_t t = item / H, h = item % H;
    const int64_t s0 = starts[seq_of[t]], n = starts[seq_of[t] + 1] - s0;
    float* sc = scores.data() + ith * max_len;
    const float* qh = q + t * E + h * hd;
    for (int64_t j = 0; j < n; j++) sc[j] = ops::dot(qh, k + (s0 + j) * E + h * hd, hd);
    ops::softmax_scaled(sc, n, scale);
    float* oh = out + t * E + h * hd;
    std::fill(oh, oh + hd, 0.0f);
    for (int64_t j = 0; j < n; j++) ops::axpy(sc[j], v + (s0 + j) * E + h * hd, oh, hd);
  });
}

void Encoder::forward(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts,
                      float* x, util::ThreadPool& pool) const {
  const int64_t E = p_.n_embd, T = static_cast<int64_t>(tokens.size());
  std::vector<int32_t> pos(T);
  for (size_t s = 0; s + 1 < starts.size(); s++) {
    for (int64_t t = starts[s]; t < starts[s + 1]; t++)
      pos[t] = static_cast<int32_t>(t - starts[s]);
  }

  // Embeddings: token + token type 0 (+ learned position), then LayerNorm.
  std::vector<float> type0(E, 0.0f);
  if (w_.token_types.present()) {
    ops::dequantize_row(w_.token_types.data, w_.token_types.type, E, 0, type0.data());
  }
  std::vector<float> pe(static_cast<size_t>(pool.size()) * E);
  parallel_for(pool, T, [&](int64_t t, int ith) {
    float* row = x + t * E;
    ops::dequantize_row(w_.token_embd.data, w_.token_embd.type, E, tokens[t], row);
    ops::add(row, type0.data(), row, E);
    if (w_.position_embd.present()) {
      float* p = pe.data() + ith * E;
      ops::dequantize_row(w_.position_embd.data, w_.position_embd.type, E, pos[t], p);
      ops::add(row, p, row, E);
    }
  });
  add_norm(x, nullptr, w_.embd_norm_w, w_.embd_norm_b, E, T, p_.norm_eps, pool);

  std::vector<float> q(T * E), k(T * E), v(T * E), attn(T * E), proj(T * E);
  std::vector<float> up(T * p_.n_ff), gate(p_.rope ? T * p_.n_ff : 0);
  std::vector<float> qkv(p_.rope ? T * 3 * E : 0);
  std::vector<float> cs(static_cast<size_t>(pool.size()) * p_.head_dim);
  for (const EncoderLayer& l : w_.layers) {
    if (p_.rope) {
      linear(l.wqkv, nullptr, x, T, qkv.data(), pool);
      parallel_for(pool, T, [&](int64_t t, int ith) {
        const float* row = qkv.data() + t * 3 * E;
        std::memcpy(q.data() + t * E, row, E * sizeof(float));
        std::memcpy(k.data() + t * E, row + E, E * sizeof(float));
        std::memcpy(v.data() + t * E, row + 2 * E, E * sizeof(float));
        float* c = cs.data() + ith * p_.head_dim;
        ops::rope_cache(c, p_.head_dim, static_cast<float>(pos[t]), p_.rope_base, 1.0f, nullptr);
        ops::rope_neox(q.data() + t * E, p_.n_head, p_.head_dim, p_.head_dim, c);
        ops::rope_neox(k.data() + t * E, p_.n_head, p_.head_dim, p_.head_dim, c);
      });
    } else {
      linear(l.wq, &l.bq, x, T, q.data(), pool);
      linear(l.wk, &l.bk, x, T, k.data(), pool);
      linear(l.wv, &l.bv, x, T, v.data(), pool);
    }
    attention(q.data(), k.data(), v.data(), attn.data(), starts, pool);
    linear(l.wo, &l.bo, attn.data(), T, proj.data(), pool);
    add_norm(x, proj.data(), l.attn_norm_w, l.attn_norm_b, E, T, p_.norm_eps, pool);

    linear(l.ffn_up, &l.ffn_up_b, x, T, up.data(), pool);
    if (p_.rope) {
      linear(l.ffn_gate, nullptr, x, T, gate.data(), pool);
      ops::swiglu(gate.data(), up.data(), up.data(), T * p_.n_ff);
    } else {
      ops::gelu(up.data(), T * p_.n_ff);
    }
    linear(l.ffn_down, &l.ffn_down_b, up.data(), T, proj.data(), pool);
    add_norm(x, proj.data(), l.out_norm_w, l.out_norm_b, E, T, p_.norm_eps, pool);
  }
}

}  // namespace engine::model
