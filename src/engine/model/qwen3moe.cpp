// Qwen3 MoE (Qwen3-30B-A3B, Qwen3-Coder): qwen3's attention (no biases, per-head q/k RMS norms
// before NeoX RoPE, head size from key_length) with the MoE FFN on every layer: a router
// without bias, softmax over all experts, the top-k probabilities (renormalized to sum 1 unless
// the file says expert_weights_norm = false), SwiGLU experts without biases.
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"
#include "engine/model/moe_hparams.h"

namespace engine::model {
namespace {

constexpr double kRopeBaseDefault = 1000000.0;
constexpr double kRmsEpsDefault = 1e-6;

class Qwen3Moe : public PrenormDecoderArch {
 public:
  explicit Qwen3Moe(const gguf::File& file) {
    const KeyReader keys{file, "qwen3moe"};
    const CommonHParams h = read_common_hparams(keys, kRopeBaseDefault, kRmsEpsDefault);
    const MoeHParams moe = read_moe_hparams(keys);
    hp_ = h;
    const MoeDims dims = moe_dims(file, h, moe);
    shape_ = dims.shape;
    Binder b(file, dims.sizes);
    using W = Weights;
    using L = LayerWeights;
    b.bind(w_, {
                   {&W::token_embd, {"token_embd.weight"}, Dim::kEmbd, Dim::kVocab},
                   {&W::output_norm, {"output_norm.weight"}, Dim::kEmbd, Dim::kOne},
                   {&W::output, {"output.weight"}, Dim::kEmbd, Dim::kVocab, Need::kOptional},
               });
    b.bind_layers(w_, h.n_layer,
                  {
                      {&L::attn_norm, {"blk.%d.attn_norm.weight"}, Dim::kEmbd, Dim::kOne},
                      {&L::wq, {"blk.%d.attn_q.weight"}, Dim::kEmbd, Dim::kQ},
                      {&L::wk, {"blk.%d.attn_k.weight"}, Dim::kEmbd, Dim::kKv},
                      {&L::wv, {"blk.%d.attn_v.weight"}, Dim::kEmbd, Dim::kKv},
                      {&L::q_norm, {"blk.%d.attn_q_norm.weight"}, Dim::kHeadDim, Dim::kOne},
                      {&L::k_norm, {"blk.%d.attn_k_norm.weight"}, Dim::kHeadDim, Dim::kOne},
                      {&L::wo, {"blk.%d.attn_output.weight"}, Dim::kQ, Dim::kEmbd},
                      {&L::ffn_norm, {"blk.%d.ffn_norm.weight"}, Dim::kEmbd, Dim::kOne},
                      {&L::ffn_gate_inp, {"blk.%d.ffn_gate_inp.weight"}, Dim::kEmbd, Dim::kExpert},
                      {&L::ffn_gate_exps, {"blk.%d.ffn_gate_exps.weight"}, Dim::kEmbd, Dim::kFfExp},
                      {&L::ffn_up_exps, {"blk.%d.ffn_up_exps.weight"}, Dim::kEmbd, Dim::kFfExp},
                      {&L::ffn_down_exps, {"blk.%d.ffn_down_exps.weight"}, Dim::kFfExp, Dim::kEmbd},
                  });
    if (!w_.output.present()) w_.output = w_.token_embd;

    p_.shape = shape_;
    p_.rope = {nn::RopeMode::kNeox, h.n_rot, static_cast<float>(h.rope_base),
               static_cast<float>(h.rope_freq_scale), nullptr};
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
    const bool norm = keys.get_int("expert_weights_norm", 1) != 0;
    p_.moe = {moe.n_expert, moe.n_used, nn::Gating::kSoftmaxTopK, norm, nn::ExpertAct::kSwiglu};
  }
};

}  // namespace

std::unique_ptr<Arch> make_qwen3moe(const gguf::File& file) {
  return std::make_unique<Qwen3Moe>(file);
}

}  // namespace engine::model
