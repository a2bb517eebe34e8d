// Weight views the forward pass reads (matrices stay in the file mapping) and the table that
// binds them to GGUF tensor names, with alternates, expected shapes and type checks.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/nn/tensor.h"
#include "ops/types.h"
#include "util/mmap.h"

namespace engine::model {

using nn::ExpertMatrix;
using nn::Matrix;
using nn::Vector;

// Every field any supported decoder may use; an arch's table says which it binds.
struct LayerWeights {
  Vector attn_norm;                   // [n_embd]
  Matrix wq, wk, wv, wo;              // [n_embd, n_q], [n_embd, n_kv] x2, [n_q, n_embd]
  Matrix wqkv;                        // [n_embd, n_q + 2 n_kv] fused (phi3)
  Vector bq, bk, bv, bo;              // [n_q], [n_kv], [n_kv], [n_embd]
  Vector q_norm, k_norm;              // [head_dim] per-head RMS norms (qwen3, gemma3)
  Vector post_attn_norm;              // [n_embd] (gemma2/3)
  Vector ffn_norm;                    // [n_embd]
  Matrix ffn_gate, ffn_up, ffn_down;  // [n_embd, n_ff] x2, [n_ff, n_embd]
  Vector post_ffw_norm;               // [n_embd] (gemma2/3)
  Vector attn_sinks;                  // [n_head] per-head sink logits (gpt-oss)
  // Mixture of experts (nn/moe.h): router [n_embd, n_expert] (+ bias), experts
  // [n_embd, n_ff_exp, n_expert] x2 and [n_ff_exp, n_embd, n_expert], biases per expert.
  Matrix ffn_gate_inp;
  Vector ffn_gate_inp_b;
  ExpertMatrix ffn_gate_exps, ffn_up_exps, ffn_down_exps;
  Vector ffn_gate_exps_b, ffn_up_exps_b, ffn_down_exps_b;  // [n_ff_exp | n_embd, n_expert]
};

struct Weights {
  Matrix token_embd;   // [n_embd, n_vocab]
  Vector output_norm;  // [n_embd]
  Matrix output;       // [n_embd, n_vocab]; = token_embd when tied
  Vector rope_freqs;   // [n_rot / 2] llama3-style frequency divisors (optional)
  std::vector<LayerWeights> layers;
  // Matrices packed or copied at load (Binder::pack_rows); their Matrix views point here.
  std::vector<util::PageBuffer> packed;
};

// Symbolic dimensions resolved against an arch's sizes when binding.
enum class Dim {
  kOne,
  kEmbd,
  kVocab,
  kFf,
  kQ,
  kKv,
  kHeadDim,
  kQkv,
  kRopePairs,
  kFf2,
  kHead,
  kExpert,
  kFfExp
};

struct Sizes {
  int64_t n_embd = 0, n_vocab = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_rot = 0;
  int64_t n_expert = 0, n_ff_exp = 0;
  int64_t resolve(Dim d) const;
};

enum class Need { kRequired, kOptional };

// One row of an arch's table. names: "blk.%d.attn_q.weight" style patterns (%d = layer), the
// first is the canonical name, the others alternates seen in published files.
template <class Owner>
struct TensorSpec {
  std::variant<Matrix Owner::*, Vector Owner::*, ExpertMatrix Owner::*> field;
  std::vector<const char*> names;
  Dim d0, d1;
  Need need = Need::kRequired;
  Dim d2 = Dim::kOne;  // expert tensors: kExpert (vectors: [d0, d2])
};

// Looks tensors up and validates them; collects the bytes and tensors it bound.
class Binder {
 public:
  Binder(const gguf::File& file, const Sizes& sizes) : file_(file), sizes_(sizes) {}

  void bind(Weights& w, std::initializer_list<TensorSpec<Weights>> table);
  void bind_layers(Weights& w, int64_t n_layer,
                   std::initializer_list<TensorSpec<LayerWeights>> table);

  Matrix matrix(const std::vector<const char*>& names, int layer, Dim d0, Dim d1, Need need);
  // A 1-D vector [d0], or with d2 = kExpert one [d0] slice per expert ([d0, n_expert]).
  void vector(Vector& out, const std::vector<const char*>& names, int layer, Dim d0, Need need,
              Dim d2 = Dim::kOne);
  // A 3-D expert tensor [d0, d1, n_expert].
  ExpertMatrix experts(const std::vector<const char*>& names, int layer, Dim d0, Dim d1, Need need);
  // Repacks the output (an untied one, or a tied embedding whose rows unpack), the layers'
  // expert tensors and dense matrices (wq, wk, wv, wo, ffn_gate/up/down) for this CPU where
  // its kernels want that (ops::packs_rows8: e.g. Q4_0 and MXFP4 in 8-row groups on AVX2, the
  // common types in 16-row groups on AVX-512), or else copies their plain rows as they are
  // (Kernels::rows_in_huge_pages), into w.packed's huge pages, and lets go of the file pages
  // they came from. bind_layers calls it.
  void pack_rows(Weights& w);

 private:
  // nullptr when absent and optional; throws naming every tried name when required.
  const gguf::TensorInfo* find(const std::vector<const char*>& names, int layer, Need need);
  void check_shape(const gguf::TensorInfo& t, Dim d0, Dim d1, Dim d2 = Dim::kOne) const;
  Matrix checked_matrix(const gguf::TensorInfo& t, int64_t n) const;
  const gguf::File& file_;
  Sizes sizes_;
};

}  // namespace engine::model
