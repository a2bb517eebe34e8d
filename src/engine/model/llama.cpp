// Llama 2 / 3.x and Mistral-style decoders: RMSNorm, "normal" (adjacent-pair) RoPE, GQA,
// SwiGLU FFN, tied or untied output, llama3 RoPE scaling via the rope_freqs tensor.
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"
#include "util/error.h"

namespace engine::model {
namespace {

// llama.* keys and their defaults (llama.cpp's): rope base 10000 when absent (stories260K
// has no key and was trained with 10000), rms eps 1e-5.
constexpr double kRopeBaseDefault = 10000.0;
constexpr double kRmsEpsDefault = 1e-5;

class Llama : public PrenormDecoderArch {
 public:
  explicit Llama(const gguf::File& file) {
    const KeyReader keys{file, "llama"};
    const CommonHParams h = read_common_hparams(keys, kRopeBaseDefault, kRmsEpsDefault);
    hp_ = h;
    shape_ = {vocab_size(file), h.n_embd,     h.n_layer,    h.n_head,
              h.n_head_kv,      h.head_dim_k, h.head_dim_v, h.n_ff};
    Sizes sizes{h.n_embd, shape_.n_vocab, h.n_ff, h.n_head, h.n_head_kv, h.head_dim_k, h.n_rot};
    if (h.head_dim_k != h.head_dim_v) {
      throw util::bad_request(file.path() + ": llama needs key_length == value_length");
    }
    Binder b(file, sizes);
    using W = Weights;
    using L = LayerWeights;
    b.bind(w_,
           {
               {&W::token_embd, {"token_embd.weight"}, Dim::kEmbd, Dim::kVocab},
               {&W::output_norm, {"output_norm.weight"}, Dim::kEmbd, Dim::kOne},
               {&W::output, {"output.weight"}, Dim::kEmbd, Dim::kVocab, Need::kOptional},
               {&W::rope_freqs, {"rope_freqs.weight"}, Dim::kRopePairs, Dim::kOne, Need::kOptional},
           });
    b.bind_layers(
        w_, h.n_layer,
        {
            {&L::attn_norm, {"blk.%d.attn_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::wq, {"blk.%d.attn_q.weight"}, Dim::kEmbd, Dim::kQ},
            {&L::wk, {"blk.%d.attn_k.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::wv, {"blk.%d.attn_v.weight"}, Dim::kEmbd, Dim::kKv},
            {&L::wo, {"blk.%d.attn_output.weight"}, Dim::kQ, Dim::kEmbd},
            // Some converters write biases for llama-family models (e.g. InternLM2 ports).
            {&L::bq, {"blk.%d.attn_q.bias"}, Dim::kQ, Dim::kOne, Need::kOptional},
            {&L::bk, {"blk.%d.attn_k.bias"}, Dim::kKv, Dim::kOne, Need::kOptional},
            {&L::bv, {"blk.%d.attn_v.bias"}, Dim::kKv, Dim::kOne, Need::kOptional},
            {&L::bo, {"blk.%d.attn_output.bias"}, Dim::kEmbd, Dim::kOne, Need::kOptional},
            {&L::ffn_norm, {"blk.%d.ffn_norm.weight"}, Dim::kEmbd, Dim::kOne},
            {&L::ffn_gate, {"blk.%d.ffn_gate.weight"}, Dim::kEmbd, Dim::kFf},
            {&L::ffn_up, {"blk.%d.ffn_up.weight"}, Dim::kEmbd, Dim::kFf},
            {&L::ffn_down, {"blk.%d.ffn_down.weight"}, Dim::kFf, Dim::kEmbd},
        });
    if (!w_.output.present()) w_.output = w_.token_embd;  // tied embeddings
    if (h.rope_scaling == "llama3" && !w_.rope_freqs.present()) {
      throw util::bad_request(file.path() + ": rope scaling 'llama3' needs rope_freqs.weight");
    }

    p_.shape = shape_;
    p_.rope = {nn::RopeMode::kNormal, h.n_rot, static_cast<float>(h.rope_base),
               static_cast<float>(h.rope_freq_scale), w_.rope_freqs.data};
    p_.rms_eps = static_cast<float>(h.rms_eps);
    p_.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
  }
};

}  // namespace

std::unique_ptr<Arch> make_llama(const gguf::File& file) { return std::make_unique<Llama>(file); }

}  // namespace engine::model
