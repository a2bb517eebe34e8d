// A mixture of experts' routing and weighting on the device, so a MoE layer of a decode step
// needs no host round trip (ARCHITECTURE.md §6); the experts' matrices run through
// Matvec::record_experts on the ids route() writes.
#pragma once
#include <memory>

#include "gpu/vulkan/device.h"

namespace gpu::vk {

class MoeOps {
 public:
  explicit MoeOps(Device& dev);
  ~MoeOps();
  // The most experts a token may use (k) here.
  static constexpr uint32_t kMaxUsed = 16;
  // For each of n_tokens rows of n_expert router logits at l_off: the k experts picked (ids
  // at table[out_off + q], q = token * k + j, descending logits, ties to the lower id) and
  // their weights (float bits at table[out_off + n_tokens * k + q]); gating 0 = softmax over
  // the picked logits (gpt-oss), 1 = softmax over all, taken at the picked (renormalized when
  // norm), as nn::moe_route.
  void route(Recorder& rec, const Buffer& logits, uint32_t l_off, uint32_t n_tokens,
             uint32_t n_expert, uint32_t k, uint32_t gating, bool norm, Buffer& table,
             uint32_t out_off);
  // o rows q < n_pairs (width floats at o_off) += the stacked bias's slice of expert
  // table[ids_off + q].
  void expert_bias(Recorder& rec, Buffer& o, uint32_t o_off, const Buffer& bias, uint32_t b_off,
                   const Buffer& table, uint32_t ids_off, uint32_t width, uint32_t n_pairs);
  // out row t (width floats) = sum over j < k of weight(t k + j) * y row (t k + j), the
  // weights at table[wt_off + q]; n_tokens rows.
  void combine(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
               uint32_t wt_off, Buffer& out, uint32_t out_off, uint32_t width, uint32_t k,
               uint32_t n_tokens);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpu::vk
