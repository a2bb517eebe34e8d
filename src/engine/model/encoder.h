// The BERT-family encoder (bert, nomic-bert): hyper-parameters, weights bound from the GGUF,
// and the bidirectional forward over sequences packed one after another.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/nn/tensor.h"

namespace util {
class ThreadPool;
}

namespace engine::model {

struct EncoderParams {
  std::string arch;
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, head_dim = 0, n_ff = 0;
  int64_t n_ctx_train = 0;  // position_embd rows (bert) / context_length
  float norm_eps = 1e-12f;  // attention.layer_norm_epsilon
  bool rope = false;        // nomic-bert: NeoX RoPE on q and k instead of learned positions
  float rope_base = 10000.0f;
  int pooling = 0;        // pooling_type (engine::Pooling)
  int64_t n_cls_out = 0;  // rows of cls.output (rank pooling's scores per sequence)
};

struct EncoderLayer {
  nn::Matrix wq, wk, wv;                // [n_embd, n_embd] each (bert)
  nn::Vector bq, bk, bv;                // [n_embd] (bert)
  nn::Matrix wqkv;                      // [n_embd, 3 n_embd] fused, Q then K then V (nomic-bert)
  nn::Matrix wo;                        // [n_embd, n_embd]
  nn::Vector bo;                        // [n_embd] (bert)
  nn::Vector attn_norm_w, attn_norm_b;  // [n_embd] LayerNorm after attention + residual
  nn::Matrix ffn_up;                    // [n_embd, n_ff]
  nn::Vector ffn_up_b;                  // [n_ff] (bert)
  nn::Matrix ffn_gate;                  // [n_embd, n_ff] (nomic-bert, SwiGLU)
  nn::Matrix ffn_down;                  // [n_ff, n_embd]
  nn::Vector ffn_down_b;                // [n_embd] (bert)
  nn::Vector out_norm_w, out_norm_b;    // [n_embd] LayerNorm after FFN + residual
};

struct EncoderWeights {
  nn::Matrix token_embd;                // [n_embd, n_vocab]
  nn::Matrix token_types;               // [n_embd, n_token_types]; row 0 is added (optional)
  nn::Matrix position_embd;             // [n_embd, n_ctx_train] (bert)
  nn::Vector embd_norm_w, embd_norm_b;  // [n_embd]
  std::vector<EncoderLayer> layers;
  // Classification head (rank pooling): optional dense + tanh, then the output projection.
  nn::Matrix cls;        // [n_embd, n_embd]
  nn::Vector cls_b;      // [n_embd]
  nn::Matrix cls_out;    // [n_embd, n_cls_out]
  nn::Vector cls_out_b;  // [n_cls_out]
};

class Encoder {
 public:
  // Reads `<arch>.*` keys and binds every tensor (throws util::Error naming the problem).
  explicit Encoder(const gguf::File& file);

  // tokens: all sequences back to back; starts: n_seq + 1 offsets into tokens (sequence i is
  // [starts[i], starts[i+1])), each sequence at positions 0..n-1. out: [n_tokens, n_embd]
  // final hidden states. Ids and lengths must already be validated.
  void forward(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts, float* out,
               util::ThreadPool& pool) const;

  // Rank pooling: n_seq first-token states [n_seq, n_embd] -> scores [n_seq, n_cls_out].
  void classify(const float* states, int64_t n_seq, float* scores, util::ThreadPool& pool) const;

  const EncoderParams& params() const { return p_; }

 private:
  void attention(const float* q, const float* k, const float* v, float* out,
                 const std::vector<int64_t>& starts, util::ThreadPool& pool) const;
  EncoderParams p_;
  EncoderWeights w_;
};

}  // namespace engine::model
