// Phi-3: fused qkv projection (rows Q, then K, then V), fused gate+up FFN (gate first),
// NeoX RoPE, untied or tied output. (LongRoPE factors of the 128k variants: not yet.)
#include <algorithm>
#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"
#include "engine/nn/blocks.h"
#include "util/error.h"

namespace engine::model {
namespace {

constexpr double kRopeBaseDefault = 10000.0;
constexpr double kRmsEpsDefault = 1e-5;

class Phi3 : public Arch {
 public:
  explicit Phi3(const gguf::File& file) {
    const KeyReader keys{file, "phi3"};
    const CommonHParams h = read_common_hparams(keys, kRopeBaseDefault, kRmsEpsDefault);
    hp_ = h;
    shape_ = {vocab_size(file), h.n_embd,     h.n_layer,    h.n_head,
              h.n_head_kv,      h.head_dim_k, h.head_dim_v, h.n_ff};
    shape_.n_wide = std::max(shape_.n_q() + shape_.n_k() + shape_.n_v(), 2 * h.n_ff);
    if (file.tensor("rope_factors_long.weight") || file.tensor("rope_factors_short.weight")) {
      throw util::bad_request(file.path() +
                              ": phi3 LongRoPE (rope_factors_*) is not supported yet");
    }
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
                      {&L::wqkv, {"blk.%d.attn_qkv.weight"}, Dim::kEmbd, Dim::kQkv},
                      {&L::wo, {"blk.%d.attn_output.weight"}, Dim::kQ, Dim::kEmbd},
                      {&L::ffn_norm, {"blk.%d.ffn_norm.weight"}, Dim::kEmbd, Dim::kOne},
                      {&L::ffn_up, {"blk.%d.ffn_up.weight"}, Dim::kEmbd, Dim::kFf2},
                      {&L::ffn_down, {"blk.%d.ffn_down.weight"}, Dim::kFf, Dim::kEmbd},
                  });
    if (!w_.output.present()) w_.output = w_.token_embd;
    rope_ = {nn::RopeMode::kNeox, h.n_rot, static_cast<float>(h.rope_base),
             static_cast<float>(h.rope_freq_scale), nullptr};
    eps_ = static_cast<float>(h.rms_eps);
    scale_ = 1.0f / std::sqrt(static_cast<float>(h.head_dim_k));
  }

  const nn::Rope& rope(int) const override { return rope_; }
  void describe(ModelInfo& info) const override { describe_common(info, hp_); }

  void forward(nn::Step& s) const override {
    nn::Scratch& b = *s.buf;
    const nn::Shape& sh = shape_;
    nn::embed(s, w_.token_embd);
    for (int il = 0; il < sh.n_layer; il++) {
      nn::enter_layer(s, il);
      const LayerWeights& L = w_.layers[il];
      nn::rmsnorm_rows(s, b.x.data(), L.attn_norm, eps_, b.xn.data(), sh.n_embd);
      nn::linear(s, L.wqkv, b.xn.data(), b.wide.data());
      nn::split_rows(s, b.wide.data(), L.wqkv.n,
                     {{b.q.data(), sh.n_q()}, {b.k.data(), sh.n_k()}, {b.v.data(), sh.n_v()}});
      nn::rope_rows(s, b.q.data(), sh.n_head, sh.head_dim_k, rope_);
      nn::rope_rows(s, b.k.data(), sh.n_head_kv, sh.head_dim_k, rope_);
      nn::attention(s, il, sh, scale_);
      nn::linear(s, L.wo, b.attn.data(), b.proj.data());
      nn::add_rows(s, b.x.data(), b.proj.data(), sh.n_embd);
      nn::rmsnorm_rows(s, b.x.data(), L.ffn_norm, eps_, b.xn.data(), sh.n_embd);
      nn::ffn_fused_swiglu(s, L.ffn_up, L.ffn_down);
      nn::add_rows(s, b.x.data(), b.proj.data(), sh.n_embd);
    }
    nn::output_logits(s, w_.output_norm, eps_, w_.output);
  }

 private:
  CommonHParams hp_;
  Weights w_;
  nn::Rope rope_;
  float eps_ = 1e-5f, scale_ = 1.0f;
};

}  // namespace

std::unique_ptr<Arch> make_phi3(const gguf::File& file) { return std::make_unique<Phi3>(file); }

}  // namespace engine::model
