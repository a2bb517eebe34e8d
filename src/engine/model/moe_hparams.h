// Mixture-of-experts hyper-parameters every MoE arch reads: expert_count, expert_used_count
// and expert_feed_forward_length (= feed_forward_length when absent), validated.
#pragma once
#include <cstdint>

#include "engine/model/arch.h"
#include "engine/model/decoder.h"

namespace engine::model {

struct MoeHParams {
  int64_t n_expert = 0, n_used = 0, n_ff_exp = 0;
};

// Throws a 400 naming the key for a missing or inconsistent value (no experts, top-k larger
// than the expert count, ...).
MoeHParams read_moe_hparams(const KeyReader& keys);

// The decoder shape (FFN width = the experts') and the binder's sizes of a MoE arch.
struct MoeDims {
  nn::Shape shape;
  Sizes sizes;
};
MoeDims moe_dims(const gguf::File& file, const CommonHParams& h, const MoeHParams& moe);

}  // namespace engine::model
