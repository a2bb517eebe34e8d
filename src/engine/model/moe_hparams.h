// Mixture-of-experts hyper-parameters every MoE arch reads: expert_count, expert_used_count
// and expert_feed_forward_length (= feed_forward_length when absent), validated.
#pragma once
#include <cstdint>

#include "engine/model/arch.h"

namespace engine::model {

struct MoeHParams {
  int64_t n_expert = 0, n_used = 0, n_ff_exp = 0;
};

// Throws a 400 naming the key for a missing or inconsistent value (no experts, top-k larger
// than the expert count, ...).
MoeHParams read_moe_hparams(const KeyReader& keys);

}  // namespace engine::model
