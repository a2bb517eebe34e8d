// Gemma 3 (text): gemma2's block without the attention soft-cap, plus per-head q/k RMS norms,
// sliding layers (5 of every 6) with their own RoPE base and no scaling, and global layers
// with rope.freq_base and the file's (linear) scaling. Final soft-cap only if the key is set.
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"

namespace engine::model {
namespace {

constexpr double kRopeBaseDefault = 1000000.0;
constexpr double kRopeBaseSwaDefault = 10000.0;
constexpr double kRmsEpsDefault = 1e-6;
constexpr int64_t kSlidingWindowDefault = 4096;
constexpr int64_t kSwaPeriodDefault = 6;

class Gemma3 : public PrenormDecoderArch {
 public:
  explicit Gemma3(const gguf::File& file) {
    const KeyReader keys{file, "gemma3"};
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
            {&L::q_norm, {"blk.%d.attn_q_norm.weight"}, Dim::kHeadDim, Dim::kOne},
            {&L::k_norm, {"blk.%d.attn_k_norm.weight"}, Dim::kHeadDim, Dim::kOne},
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
    p_.rope_swa = {nn::RopeMode::kNeox, h.n_rot,
                   static_cast<float>(keys.get_float("rope.freq_base_swa", kRopeBaseSwaDefault)),
                   1.0f, nullptr};
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
    p_.embd_scale = std::sqrt(static_cast<float>(h.n_embd));
    p_.ffn_act = nn::Act::kGelu;
    p_.n_swa =
        static_cast<int32_t>(keys.get_int("attention.sliding_window", kSlidingWindowDefault));
    p_.swa_period =
        static_cast<int>(keys.get_int("attention.sliding_window_pattern", kSwaPeriodDefault));
    p_.swa_sliding = p_.swa_period - 1;  // the last layer of each period is global
    p_.final_softcap = static_cast<float>(keys.get_float("final_logit_softcapping", 0.0));
  }
};

}  // namespace

std::unique_ptr<Arch> make_gemma3(const gguf::File& file) { return std::make_unique<Gemma3>(file); }

}  // namespace engine::model
