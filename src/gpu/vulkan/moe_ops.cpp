#include "gpu/vulkan/moe_ops.h"

#include <algorithm>

#include "gpu/vulkan/kernel_cache.h"
#include "util/error.h"

namespace gpu::vk {

namespace {

struct RoutePush {
  uint32_t n_tokens, n_expert, k, gating, norm, l_off, out_off, n_pairs;
};
struct BiasPush {
  uint32_t width, o_off, b_off, ids_off;
};
struct CombinePush {
  uint32_t width, k, y_off, wt_off, out_off;
};

uint32_t groups_for(uint32_t n, uint32_t per) { return std::clamp((n + per - 1) / per, 1u, 64u); }

}  // namespace

struct MoeOps::Impl {
  explicit Impl(Device& d) : kernels(d) {}
  KernelCache kernels;
};

MoeOps::MoeOps(Device& dev) : impl_(std::make_unique<Impl>(dev)) {}
MoeOps::~MoeOps() = default;

void MoeOps::route(Recorder& rec, const Buffer& logits, uint32_t l_off, uint32_t n_tokens,
                   uint32_t n_expert, uint32_t k, uint32_t gating, bool norm, Buffer& table,
                   uint32_t out_off) {
  if (n_tokens == 0) return;
  if (k == 0 || k > kMaxUsed || k > n_expert)
    throw util::Error("vulkan: a MoE routing of more experts than the shader keeps");
  const RoutePush push{n_tokens, n_expert, k, gating, norm ? 1u : 0u, l_off, out_off,
                       n_tokens * k};
  rec.dispatch(impl_->kernels.get("moe_route", 2, sizeof push), {&logits, &table}, &push,
               (n_tokens + 63) / 64, 1);
}

void MoeOps::expert_bias(Recorder& rec, Buffer& o, uint32_t o_off, const Buffer& bias,
                         uint32_t b_off, const Buffer& table, uint32_t ids_off, uint32_t width,
                         uint32_t n_pairs) {
  if (n_pairs == 0) return;
  if (n_pairs > 65535) throw util::Error("vulkan: bad expert bias row count");
  const BiasPush push{width, o_off, b_off, ids_off};
  rec.dispatch(impl_->kernels.get("expert_bias", 3, sizeof push), {&o, &bias, &table}, &push,
               groups_for(width, 256), n_pairs);
}

void MoeOps::combine(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
                     uint32_t wt_off, Buffer& out, uint32_t out_off, uint32_t width, uint32_t k,
                     uint32_t n_tokens) {
  if (n_tokens == 0) return;
  if (n_tokens > 65535) throw util::Error("vulkan: bad MoE combine row count");
  const CombinePush push{width, k, y_off, wt_off, out_off};
  rec.dispatch(impl_->kernels.get("moe_combine", 3, sizeof push), {&y, &table, &out}, &push,
               groups_for(width, 256), n_tokens);
}

}  // namespace gpu::vk
