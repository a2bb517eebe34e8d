// Qwen3 (dense): qwen2's layout without q/k/v biases, plus per-head RMS norms on q and k
// (attn_q_norm / attn_k_norm, [head_dim], shared by all heads) before NeoX RoPE. The head
// size comes from key_length, so q may be wider than n_embd.
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"

namespace engine::model {
namespace {

constexpr double kRopeBaseDefault = 10000.0;
constexpr double kRmsEpsDefault = 1e-6;

class Qwen3 : public PrenormDecoderArch {
 public:
  explicit Qwen3(const gguf::File& file) {
    const KeyReader keys{file, "qwen3"};
    const CommonHParams h = read_common_hparams(keys, kRopeBaseDefault, kRmsEpsDefault);
    hp_ = h;
    shape_ = {vocab_size(file), h.n_embd,     h.n_layer,    h.n_head,
              h.n_head_kv,      h.head_dim_k, h.head_dim_v, h.n_ff};
    Sizes sizes{h.n_embd, shape_.n_vocab, h.n_ff, h.n_head, h.n_head_kv, h.head_dim_k, h.n_rot};
    Binder b(file, sizes);
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
                      {&L::ffn_gate, {"blk.%d.ffn_gate.weight"}, Dim::kEmbd, Dim::kFf},
                      {&L::ffn_up, {"blk.%d.ffn_up.weight"}, Dim::kEmbd, Dim::kFf},
                      {&L::ffn_down, {"blk.%d.ffn_down.weight"}, Dim::kFf, Dim::kEmbd},
                  });
    if (!w_.output.present()) w_.output = w_.token_embd;

    p_.shape = shape_;
    p_.rope = {nn::RopeMode::kNeox, h.n_rot, static_cast<float>(h.rope_base),
               static_cast<float>(h.rope_freq_scale), nullptr};
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
  }
};

}  // namespace

std::unique_ptr<Arch> make_qwen3(const gguf::File& file) { return std::make_unique<Qwen3>(file); }

}  // namespace engine::model
