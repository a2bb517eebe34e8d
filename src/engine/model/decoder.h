// The pre-norm decoder layer stack shared by llama-style archs (llama, qwen2, qwen3, gemma):
// x += Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with n = attn_norm(x) (per-head q/k RMS norms
// before RoPE when bound, as qwen3 has), then
// x += down(silu(gate·m) * up·m) with m = ffn_norm(x) (or the MoE block when the layer has a
// router); biases are applied where bound, and gemma2/3's post-attention / post-FFN norms,
// sliding windows, soft-caps and attention sinks (gpt-oss) where set.
#pragma once
#include <string>

#include "engine/engine.h"
#include "engine/model/arch.h"
#include "engine/model/weights.h"
#include "engine/nn/blocks.h"
#include "engine/nn/moe.h"
#include "engine/nn/step.h"

namespace engine::model {

struct DecoderParams {
  nn::Shape shape;
  nn::Rope rope;
  // Sliding-window layers (gemma2/3): their window and RoPE; swa_layer(il) says which.
  nn::Rope rope_swa;
  int32_t n_swa = 0;
  int swa_period = 0;  // > 0: layer il slides iff il % swa_period < swa_sliding
  int swa_sliding = 0;
  float attn_softcap = 0;   // 0 = none
  float final_softcap = 0;  // 0 = none
  bool swa_layer(int il) const {
    return n_swa > 0 && swa_period > 0 && il % swa_period < swa_sliding;
  }
  const nn::Rope& rope_of(int il) const { return swa_layer(il) ? rope_swa : rope; }
  float rms_eps = 1e-5f;
  float attn_scale = 1.0f;
  float embd_scale = 1.0f;
  nn::Act ffn_act = nn::Act::kSilu;
  nn::MoeParams moe;  // layers with a router (ffn_gate_inp) run the MoE block with these
};

void forward_prenorm_decoder(const Weights& w, const DecoderParams& p, nn::Step& s);

// Reads the hyper-parameters every llama-style arch shares, with explicit defaults:
// context_length (2048), embedding_length, block_count, feed_forward_length,
// attention.head_count (required), attention.head_count_kv (= head_count),
// attention.key_length (= n_embd / n_head), attention.value_length (= key_length),
// rope.dimension_count (= key_length), rope.freq_base (`rope_base_default`),
// attention.layer_norm_rms_epsilon (`eps_default`), rope.scaling.type/factor (none, 1).
struct CommonHParams {
  int64_t n_ctx_train = 0, n_embd = 0, n_layer = 0, n_ff = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim_k = 0, head_dim_v = 0, n_rot = 0;
  double rope_base = 0, rms_eps = 0, rope_freq_scale = 1;
  std::string rope_scaling;  // rope.scaling.type as read ("none" when absent)
  double yarn_orig_ctx = 0;  // yarn: rope.scaling.original_context_length
};
struct KeyReader;
// yarn_ok: the arch applies rope.scaling.type = yarn (yarn_of); others refuse it.
CommonHParams read_common_hparams(const KeyReader& keys, double rope_base_default,
                                  double eps_default, bool yarn_ok = false);
// YaRN settings for RoPE from the hyper-parameters (off unless the scaling type is yarn):
// llama.cpp's defaults beta_fast 32, beta_slow 1, mscale = 1 + 0.1 ln(factor).
nn::Yarn yarn_of(const CommonHParams& h);

// Copies the shared hyper-parameters into the public ModelInfo.
void describe_common(ModelInfo& info, const CommonHParams& h);

// An architecture whose forward is the shared pre-norm decoder stack: the subclass constructor
// reads hp_, binds w_ and fills p_; rope, forward and describe are the same for all of them.
class PrenormDecoderArch : public Arch {
 public:
  const nn::Rope& rope(int il) const override { return p_.rope_of(il); }
  void forward(nn::Step& s) const override { forward_prenorm_decoder(w_, p_, s); }
  void describe(ModelInfo& info) const override { describe_common(info, hp_); }

 protected:
  CommonHParams hp_;
  Weights w_;
  DecoderParams p_;
};

}  // namespace engine::model
