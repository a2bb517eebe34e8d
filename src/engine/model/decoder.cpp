#include "engine/model/decoder.h"

#include <cmath>

#include "engine/model/arch.h"
#include "engine/model/moe_hparams.h"
#include "engine/nn/blocks.h"
#include "engine/nn/moe.h"
#include "util/error.h"

namespace engine::model {

void forward_prenorm_decoder(const Weights& w, const DecoderParams& p, nn::Step& s) {
  nn::Scratch& b = *s.buf;
  const nn::Shape& sh = p.shape;
  nn::embed(s, w.token_embd, p.embd_scale);
  for (int il = 0; il < sh.n_layer; il++) {
    nn::enter_layer(s, il);
    const LayerWeights& L = w.layers[il];
    nn::rmsnorm_rows(s, b.x.data(), L.attn_norm, p.rms_eps, b.xn.data(), sh.n_embd);
    nn::linear(s, L.wq, b.xn.data(), b.q.data(), &L.bq);
    nn::linear(s, L.wk, b.xn.data(), b.k.data(), &L.bk);
    nn::linear(s, L.wv, b.xn.data(), b.v.data(), &L.bv);
    if (L.q_norm.present()) {
      nn::head_rmsnorm(s, b.q.data(), sh.n_head, sh.head_dim_k, L.q_norm, p.rms_eps);
      nn::head_rmsnorm(s, b.k.data(), sh.n_head_kv, sh.head_dim_k, L.k_norm, p.rms_eps);
    }
    const nn::Rope& rope = p.rope_of(il);
    nn::rope_rows(s, b.q.data(), sh.n_head, sh.head_dim_k, rope);
    nn::rope_rows(s, b.k.data(), sh.n_head_kv, sh.head_dim_k, rope);
    nn::attention(s, il, sh, p.attn_scale,
                  {p.swa_layer(il) ? p.n_swa : 0, p.attn_softcap, L.attn_sinks.data});
    nn::linear(s, L.wo, b.attn.data(), b.proj.data(), &L.bo);
    if (L.post_attn_norm.present()) {
      nn::rmsnorm_rows(s, b.proj.data(), L.post_attn_norm, p.rms_eps, b.proj.data(), sh.n_embd);
    }
    nn::add_rows(s, b.x.data(), b.proj.data(), sh.n_embd);

    nn::rmsnorm_rows(s, b.x.data(), L.ffn_norm, p.rms_eps, b.xn.data(), sh.n_embd);
    if (L.ffn_gate_inp.present()) {
      const nn::MoeWeights mw{&L.ffn_gate_inp,  &L.ffn_gate_inp_b, &L.ffn_gate_exps,
                              &L.ffn_up_exps,   &L.ffn_down_exps,  &L.ffn_gate_exps_b,
                              &L.ffn_up_exps_b, &L.ffn_down_exps_b};
      nn::moe_ffn(s, mw, p.moe);
    } else {
      nn::ffn_gated(s, L.ffn_gate, L.ffn_up, L.ffn_down, p.ffn_act);
    }
    if (L.post_ffw_norm.present()) {
      nn::rmsnorm_rows(s, b.proj.data(), L.post_ffw_norm, p.rms_eps, b.proj.data(), sh.n_embd);
    }
    nn::add_rows(s, b.x.data(), b.proj.data(), sh.n_embd);
  }
  nn::output_logits(s, w.output_norm, p.rms_eps, w.output, p.final_softcap);
}

CommonHParams read_common_hparams(const KeyReader& keys, double rope_base_default,
                                  double eps_default, bool yarn_ok) {
  CommonHParams h;
  const std::string& path = keys.file.path();
  h.n_ctx_train = keys.get_int("context_length", 2048);
  h.n_embd = keys.get_int("embedding_length", 0, true);
  h.n_layer = keys.get_int("block_count", 0, true);
  // MoE files may give only the experts' width.
  h.n_ff = keys.get_int("feed_forward_length", keys.get_int("expert_feed_forward_length", 0),
                        !keys.has("expert_feed_forward_length"));
  h.n_head = keys.get_int("attention.head_count", 0, true);
  h.n_head_kv = keys.get_int("attention.head_count_kv", h.n_head);
  if (h.n_embd <= 0 || h.n_layer <= 0 || h.n_ff <= 0 || h.n_head <= 0 || h.n_head_kv <= 0 ||
      h.n_head % h.n_head_kv != 0 || h.n_ctx_train <= 0 ||
      (!keys.has("attention.key_length") && h.n_embd % h.n_head != 0)) {
    throw util::bad_request(path + ": inconsistent hyper-parameters (embedding_length " +
                            std::to_string(h.n_embd) + ", block_count " +
                            std::to_string(h.n_layer) + ", head_count " + std::to_string(h.n_head) +
                            ", head_count_kv " + std::to_string(h.n_head_kv) + ")");
  }
  h.head_dim_k = keys.get_int("attention.key_length", h.n_embd / h.n_head);
  h.head_dim_v = keys.get_int("attention.value_length", h.head_dim_k);
  h.n_rot = keys.get_int("rope.dimension_count", h.head_dim_k);
  if (h.head_dim_k <= 0 || h.head_dim_v <= 0 || h.n_rot <= 0 || h.n_rot > h.head_dim_k ||
      h.n_rot % 2 != 0) {
    throw util::bad_request(path + ": inconsistent head size (key_length " +
                            std::to_string(h.head_dim_k) + ", rope.dimension_count " +
                            std::to_string(h.n_rot) + ")");
  }
  h.rope_base = keys.get_float("rope.freq_base", rope_base_default);
  h.rms_eps = keys.get_float("attention.layer_norm_rms_epsilon", eps_default);
  const std::string scaling = keys.get_string("rope.scaling.type", "none");
  const double factor = keys.get_float("rope.scaling.factor", 1.0);
  if ((scaling == "linear" || (scaling == "yarn" && yarn_ok)) && factor > 0) {
    h.rope_freq_scale = 1.0 / factor;
    if (scaling == "yarn") {
      h.yarn_orig_ctx = keys.get_float("rope.scaling.original_context_length", 0);
      if (h.yarn_orig_ctx <= 0) {
        throw util::bad_request(path + ": rope scaling 'yarn' needs " +
                                keys.full("rope.scaling.original_context_length"));
      }
    }
  } else if (scaling != "none" && scaling != "" && scaling != "llama3") {
    // llama3 scaling comes as the rope_freqs tensor (the arch checks it is there);
    // yarn/longrope need support first.
    throw util::bad_request(path + ": rope scaling type '" + scaling + "' is not supported for " +
                            keys.arch + " yet");
  }
  h.rope_scaling = scaling;
  return h;
}

MoeHParams read_moe_hparams(const KeyReader& keys) {
  const std::string& path = keys.file.path();
  MoeHParams m;
  m.n_expert = keys.get_int("expert_count", 0, true);
  m.n_used = keys.get_int("expert_used_count", 0, true);
  m.n_ff_exp = keys.get_int("expert_feed_forward_length", keys.get_int("feed_forward_length", 0),
                            !keys.has("feed_forward_length"));
  constexpr int64_t kMaxExperts = 4096;
  if (m.n_expert <= 0 || m.n_expert > kMaxExperts || m.n_used <= 0 || m.n_used > m.n_expert ||
      m.n_ff_exp <= 0) {
    throw util::bad_request(path + ": inconsistent mixture-of-experts hyper-parameters (" +
                            keys.full("expert_count") + " " + std::to_string(m.n_expert) + ", " +
                            keys.full("expert_used_count") + " " + std::to_string(m.n_used) +
                            ", expert_feed_forward_length " + std::to_string(m.n_ff_exp) + ")");
  }
  return m;
}

MoeDims moe_dims(const gguf::File& file, const CommonHParams& h, const MoeHParams& moe) {
  MoeDims d;
  d.shape = {vocab_size(file), h.n_embd,     h.n_layer,    h.n_head,
             h.n_head_kv,      h.head_dim_k, h.head_dim_v, moe.n_ff_exp};
  d.shape.n_expert = moe.n_expert;
  d.shape.n_expert_used = moe.n_used;
  d.shape.n_ff_exp = moe.n_ff_exp;
  d.sizes = {h.n_embd,     d.shape.n_vocab, moe.n_ff_exp, h.n_head,    h.n_head_kv,
             h.head_dim_k, h.n_rot,         moe.n_expert, moe.n_ff_exp};
  return d;
}

nn::Yarn yarn_of(const CommonHParams& h) {
  nn::Yarn y;
  if (h.rope_scaling != "yarn") return y;
  y.orig_ctx = static_cast<float>(h.yarn_orig_ctx);
  y.mscale = static_cast<float>(1.0 + 0.1 * std::log(1.0 / h.rope_freq_scale));
  return y;
}

void describe_common(ModelInfo& info, const CommonHParams& h) {
  info.n_ctx_train = h.n_ctx_train;
  info.n_embd = h.n_embd;
  info.n_layer = h.n_layer;
  info.n_head = h.n_head;
  info.n_head_kv = h.n_head_kv;
  info.head_dim = h.head_dim_k;
  info.n_ff = h.n_ff;
  info.rope_base = h.rope_base;
  info.rms_eps = h.rms_eps;
}

}  // namespace engine::model
