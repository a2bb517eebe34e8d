// gpt-oss (OpenAI's open-weight MoE): pre-norm blocks with biased q/k/v/o projections,
// per-head attention sinks, sliding-window attention on even layers, NeoX RoPE with YaRN, and
// a MoE FFN (router with bias, top-k of the raw logits with a softmax over the selected ones,
// experts with biases and the clamped "oai" SwiGLU). The pre-MoE norm is stored as
// post_attention_norm. Untied output.
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"
#include "engine/model/moe_hparams.h"

namespace engine::model {
namespace {

constexpr double kRopeBaseDefault = 150000.0;
constexpr double kRmsEpsDefault = 1e-5;
constexpr int64_t kSlidingWindowDefault = 128;

class GptOss : public PrenormDecoderArch {
 public:
  explicit GptOss(const gguf::File& file) {
    const KeyReader keys{file, "gpt-oss"};
    const CommonHParams h = read_common_hparams(keys, kRopeBaseDefault, kRmsEpsDefault, true);
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
                   {&W::output, {"output.weight"}, Dim::kEmbd, Dim::kVocab},
               });
    constexpr Dim kE = Dim::kExpert;
    constexpr Need kReq = Need::kRequired;
    b.bind_layers(
        w_, h.n_layer,
        {
            {&L::attn_norm, {"blk.%d.attn_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::wq, {"blk.%d.attn_q.weight"}, Dim::kEmbd, Dim::kQ},
            {&L::wk, {"blk.%d.attn_k.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::wv, {"blk.%d.attn_v.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::bq, {"blk.%d.attn_q.bias"}, Dim::kQ, Dim::kOne},
            {&L::bk, {"blk.%d.attn_k.bias"}, Dim::kKv, Dim::kOne},
            {&L::bv, {"blk.%d.attn_v.bias"}, Dim::kKv, Dim::kOne},
            {&L::wo, {"blk.%d.attn_output.weight"}, Dim::kQ, Dim::kEmbd},
            {&L::bo, {"blk.%d.attn_output.bias"}, Dim::kEmbd, Dim::kOne},
            {&L::attn_sinks,
             {"blk.%d.attn_sinks.weight", "blk.%d.attn_sinks"},
             Dim::kHead,
             Dim::kOne},
            {&L::ffn_norm, {"blk.%d.post_attention_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::ffn_gate_inp, {"blk.%d.ffn_gate_inp.weight"}, Dim::kEmbd, kE},
            {&L::ffn_gate_inp_b, {"blk.%d.ffn_gate_inp.bias"}, Dim::kExpert, Dim::kOne},
            {&L::ffn_gate_exps, {"blk.%d.ffn_gate_exps.weight"}, Dim::kEmbd, Dim::kFfExp},
            {&L::ffn_up_exps, {"blk.%d.ffn_up_exps.weight"}, Dim::kEmbd, Dim::kFfExp},
            {&L::ffn_down_exps, {"blk.%d.ffn_down_exps.weight"}, Dim::kFfExp, Dim::kEmbd},
            {&L::ffn_gate_exps_b, {"blk.%d.ffn_gate_exps.bias"}, Dim::kFfExp, Dim::kOne, kReq, kE},
            {&L::ffn_up_exps_b, {"blk.%d.ffn_up_exps.bias"}, Dim::kFfExp, Dim::kOne, kReq, kE},
            {&L::ffn_down_exps_b, {"blk.%d.ffn_down_exps.bias"}, Dim::kEmbd, Dim::kOne, kReq, kE},
        });

    p_.shape = shape_;
    p_.rope = {nn::RopeMode::kNeox,
               h.n_rot,
               static_cast<float>(h.rope_base),
               static_cast<float>(h.rope_freq_scale),
               nullptr,
               yarn_of(h)};
    p_.rope_swa = p_.rope;
    if (keys.has("rope.freq_base_swa")) {
      p_.rope_swa.base = static_cast<float>(keys.get_float("rope.freq_base_swa", h.rope_base));
    }
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
    p_.n_swa =
        static_cast<int32_t>(keys.get_int("attention.sliding_window", kSlidingWindowDefault));
    p_.swa_period = 2;  // even layers slide, odd ones see everything
    p_.swa_sliding = 1;
    p_.moe = {moe.n_expert, moe.n_used, nn::Gating::kTopKSoftmax, false, nn::ExpertAct::kSwigluOai};
  }
};

}  // namespace

std::unique_ptr<Arch> make_gptoss(const gguf::File& file) { return std::make_unique<GptOss>(file); }

}  // namespace engine::model
