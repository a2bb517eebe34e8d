// Gemma 2: gemma's block plus post-attention / post-FFN RMS norms, attention-logit and
// final-logit soft-capping, and sliding-window attention on every other layer (0, 2, ...).
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"

namespace engine::model {
namespace {

// gemma2.* defaults (llama.cpp's when a key is absent).
constexpr double kRopeBaseDefault = 10000.0;
constexpr double kRmsEpsDefault = 1e-6;
constexpr double kAttnSoftcapDefault = 50.0;
constexpr double kFinalSoftcapDefault = 30.0;
constexpr int64_t kSlidingWindowDefault = 4096;

class Gemma2 : public PrenormDecoderArch {
 public:
  explicit Gemma2(const gguf::File& file) {
    const KeyReader keys{file, "gemma2"};
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
               });
    b.bind_layers(
        w_, h.n_layer,
        {
            {&L::attn_norm, {"blk.%d.attn_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::wq, {"blk.%d.attn_q.weight"}, Dim::kEmbd, Dim::kQ},
            {&L::wk, {"blk.%d.attn_k.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::wv, {"blk.%d.attn_v.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::wo, {"blk.%d.attn_output.weight"}, Dim::kQ, Dim::kEmbd},
            {&L::post_attn_norm, {"blk.%d.post_attention_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::ffn_norm, {"blk.%d.ffn_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::ffn_gate, {"blk.%d.ffn_gate.weight"}, Dim::kEmbd, Dim::kFf},
            {&L::ffn_up, {"blk.%d.ffn_up.weight"}, Dim::kEmbd, Dim::kFf},
            {&L::ffn_down, {"blk.%d.ffn_down.weight"}, Dim::kFf, Dim::kEmbd},
            {&L::post_ffw_norm, {"blk.%d.post_ffw_norm.weight"}, Dim::kEmbd, Dim::kOne},
        });
    w_.output = w_.token_embd;  // always tied

    p_.shape = shape_;
    p_.rope = {nn::RopeMode::kNeox, h.n_rot, static_cast<float>(h.rope_base),
               static_cast<float>(h.rope_freq_scale), nullptr};
    p_.rope_swa = p_.rope;  // both layer kinds use the same RoPE
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
    p_.embd_scale = std::sqrt(static_cast<float>(h.n_embd));
    p_.ffn_act = nn::Act::kGelu;
    p_.n_swa =
        static_cast<int32_t>(keys.get_int("attention.sliding_window", kSlidingWindowDefault));
    p_.swa_period = 2;  // layers 0, 2, 4, ... slide
    p_.swa_sliding = 1;
    p_.attn_softcap =
        static_cast<float>(keys.get_float("attn_logit_softcapping", kAttnSoftcapDefault));
    p_.final_softcap =
        static_cast<float>(keys.get_float("final_logit_softcapping", kFinalSoftcapDefault));
  }
};

}  // namespace

std::unique_ptr<Arch> make_gemma2(const gguf::File& file) { return std::make_unique<Gemma2>(file); }

}  // namespace engine::model
