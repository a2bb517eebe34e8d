#include "gpu/vulkan/vec_ops.h"

#include <algorithm>
#include <string>

#include "gpu/vulkan/kernel_cache.h"
#include "util/error.h"

namespace gpu::vk {

namespace {

struct NormPush {
  uint32_t n, rows, x_off, w_off, y_off, has_w;
  float eps;
};
struct GluPush {
  uint32_t count, g_off, u_off, o_off, g_stride, u_stride, o_stride, act;
  float alpha, limit;
};
struct GatherPush {
  uint32_t count, x_off, x_stride, idx_off, y_off;
};
struct ScatterPush {
  uint32_t count, y_off, idx_off, wt_off, out_off, out_stride;
};
struct CopyPush {
  uint32_t count, x_off, y_off, x_stride, y_stride;
};
struct AddPush {
  uint32_t count, a_off, b_off, y_off, a_stride, b_stride, y_stride;
};
struct RopePush {
  uint32_t n_heads, head_dim, n_rot, mode, x_off, cs_off, x_stride, cs_stride;
};

struct StorePush {
  uint32_t n_kv, src_off, back_off, f16;
};
struct AttnPush {
  uint32_t n_head, n_kv, hd, kv_stride, window, has_sinks, q_off, q_stride, o_off, o_stride, tok0;
  float scale, softcap;
};

struct RoutePush {
  uint32_t n_tokens, n_expert, k, gating, norm, l_off, out_off, n_pairs;
};
struct BiasPush {
  uint32_t width, o_off, b_off, ids_off;
};
struct CombinePush {
  uint32_t width, k, y_off, wt_off, out_off;
};

// Workgroups for `items` work items of `per_group` each, within every device's x limit.
uint32_t groups_for(uint64_t items, uint32_t per_group) {
  return static_cast<uint32_t>(std::clamp<uint64_t>((items + per_group - 1) / per_group, 1, 65535));
}

}  // namespace

struct VecOps::Impl {
  KernelCache kernels;
  explicit Impl(Device& d) : kernels(d) {}
  const Kernel& kernel(const std::string& name, int n_buffers, uint32_t push_bytes) {
    return kernels.get(name, n_buffers, push_bytes);
  }
};

VecOps::VecOps(Device& dev) : impl_(std::make_unique<Impl>(dev)) {}
VecOps::~VecOps() = default;

void VecOps::rmsnorm(Recorder& rec, const Buffer& x, uint32_t x_off, const Buffer* w,
                     uint32_t w_off, Buffer& y, uint32_t y_off, uint32_t n, uint32_t rows,
                     float eps) {
  const NormPush push{n, rows, x_off, w_off, y_off, w != nullptr ? 1u : 0u, eps};
  rec.dispatch(impl_->kernel("rmsnorm", 3, sizeof push), {&x, w != nullptr ? w : &x, &y}, &push,
               groups_for(rows, 1));
}

void VecOps::glu(Recorder& rec, Glu act, const Buffer& gate, uint32_t g_off, const Buffer& up,
                 uint32_t u_off, Buffer& out, uint32_t o_off, uint32_t count, Rows rows,
                 float alpha, float limit) {
  if (rows.rows == 0 || rows.rows > 65535) throw util::Error("vulkan: bad glu row count");
  const GluPush push{count,         g_off,         u_off,         o_off,
                     rows.g_stride, rows.u_stride, rows.o_stride, static_cast<uint32_t>(act),
                     alpha,         limit};
  rec.dispatch(impl_->kernel("glu", 3, sizeof push), {&gate, &up, &out}, &push,
               groups_for(count, 256), rows.rows);
}

void VecOps::gather_rows(Recorder& rec, const Buffer& x, uint32_t x_off, uint32_t x_stride,
                         const Buffer& table, uint32_t idx_off, Buffer& y, uint32_t y_off,
                         uint32_t count, uint32_t rows) {
  if (rows == 0 || rows > 65535) throw util::Error("vulkan: bad gather row count");
  const GatherPush push{count, x_off, x_stride, idx_off, y_off};
  rec.dispatch(impl_->kernel("gather_rows", 3, sizeof push), {&x, &table, &y}, &push,
               groups_for(count, 256), rows);
}

void VecOps::scatter_axpy(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
                          uint32_t idx_off, uint32_t wt_off, Buffer& out, uint32_t out_off,
                          uint32_t out_stride, uint32_t count, uint32_t rows) {
  if (rows == 0 || rows > 65535) throw util::Error("vulkan: bad scatter row count");
  const ScatterPush push{count, y_off, idx_off, wt_off, out_off, out_stride};
  rec.dispatch(impl_->kernel("scatter_axpy", 3, sizeof push), {&y, &table, &out}, &push,
               groups_for(count, 256), rows);
}

void VecOps::copy_rows(Recorder& rec, const Buffer& x, uint32_t x_off, Buffer& y, uint32_t y_off,
                       uint32_t count, uint32_t rows, uint32_t x_stride, uint32_t y_stride) {
  if (rows == 0 || rows > 65535) throw util::Error("vulkan: bad copy row count");
  const CopyPush push{count, x_off, y_off, x_stride, y_stride};
  rec.dispatch(impl_->kernel("copy_rows", 2, sizeof push), {&x, &y}, &push,
               groups_for(count, 256), rows);
}

void VecOps::add(Recorder& rec, const Buffer& a, uint32_t a_off, const Buffer& b, uint32_t b_off,
                 Buffer& y, uint32_t y_off, uint32_t count, uint32_t rows, uint32_t a_stride,
                 uint32_t b_stride, uint32_t y_stride) {
  if (rows == 0 || rows > 65535) throw util::Error("vulkan: bad add row count");
  const AddPush push{count, a_off, b_off, y_off, a_stride, b_stride, y_stride};
  rec.dispatch(impl_->kernel("add", 3, sizeof push), {&a, &b, &y}, &push, groups_for(count, 256),
               rows);
}

void VecOps::add_bias(Recorder& rec, Buffer& y, uint32_t y_off, const Buffer& bias,
                      uint32_t b_off, uint32_t width, uint32_t rows) {
  add(rec, y, y_off, bias, b_off, y, y_off, width, rows, width, 0, width);
}

void VecOps::moe_route(Recorder& rec, const Buffer& logits, uint32_t l_off, uint32_t n_tokens,
                       uint32_t n_expert, uint32_t k, uint32_t gating, bool norm, Buffer& table,
                       uint32_t out_off) {
  if (n_tokens == 0) return;
  if (k == 0 || k > kMaxExpertsUsed || k > n_expert)
    throw util::Error("vulkan: a MoE routing of more experts than the shader keeps");
  const RoutePush push{n_tokens, n_expert, k, gating, norm ? 1u : 0u, l_off, out_off,
                       n_tokens * k};
  rec.dispatch(impl_->kernel("moe_route", 2, sizeof push), {&logits, &table}, &push,
               (n_tokens + 63) / 64, 1);
}

void VecOps::expert_bias(Recorder& rec, Buffer& o, uint32_t o_off, const Buffer& bias,
                         uint32_t b_off, const Buffer& table, uint32_t ids_off, uint32_t width,
                         uint32_t n_pairs) {
  if (n_pairs == 0) return;
  if (n_pairs > 65535) throw util::Error("vulkan: bad expert bias row count");
  const BiasPush push{width, o_off, b_off, ids_off};
  rec.dispatch(impl_->kernel("expert_bias", 3, sizeof push), {&o, &bias, &table}, &push,
               groups_for(width, 256), n_pairs);
}

void VecOps::moe_combine(Recorder& rec, const Buffer& y, uint32_t y_off, const Buffer& table,
                         uint32_t wt_off, Buffer& out, uint32_t out_off, uint32_t width,
                         uint32_t k, uint32_t n_tokens) {
  if (n_tokens == 0) return;
  if (n_tokens > 65535) throw util::Error("vulkan: bad MoE combine row count");
  const CombinePush push{width, k, y_off, wt_off, out_off};
  rec.dispatch(impl_->kernel("moe_combine", 3, sizeof push), {&y, &table, &out}, &push,
               groups_for(width, 256), n_tokens);
}

void VecOps::rope(Recorder& rec, Buffer& x, uint32_t x_off, const Buffer& cs, uint32_t cs_off,
                  uint32_t n_heads, uint32_t head_dim, uint32_t n_rot, bool neox,
                  uint32_t n_tokens, uint32_t x_stride, uint32_t cs_stride) {
  if (n_rot % 2 != 0 || n_rot > head_dim) throw util::Error("vulkan: bad RoPE dimensions");
  if (n_tokens == 0 || n_tokens > 65535) throw util::Error("vulkan: bad RoPE token count");
  const RopePush push{n_heads, head_dim, n_rot, neox ? 1u : 0u, x_off, cs_off, x_stride, cs_stride};
  rec.dispatch(impl_->kernel("rope", 2, sizeof push), {&x, &cs}, &push,
               groups_for(static_cast<uint64_t>(n_heads) * n_rot / 2, 64), n_tokens);
}

void VecOps::kv_store(Recorder& rec, const Buffer& src, uint32_t src_off, Buffer& cache,
                      Buffer& back, uint32_t back_off, const Buffer& table, uint32_t n_kv,
                      uint32_t n_tokens, bool f16) {
  if (n_tokens == 0 || n_tokens > 65535) throw util::Error("vulkan: bad KV store token count");
  const StorePush push{n_kv, src_off, back_off, f16 ? 1u : 0u};
  rec.dispatch(impl_->kernel("kv_store", 4, sizeof push), {&src, &cache, &back, &table}, &push,
               groups_for(n_kv, 256), n_tokens);
}

void VecOps::attention(Recorder& rec, const Attn& a, const Buffer& q, uint32_t q_off,
                       uint32_t q_stride, const Buffer& k_cache, const Buffer& v_cache,
                       const Buffer& pos, const Buffer& table, uint32_t tok0, uint32_t n_tokens,
                       const Buffer* sinks, Buffer& out, uint32_t o_off, uint32_t o_stride) {
  if (a.n_kv == 0 || a.n_head % a.n_kv != 0 || n_tokens == 0 || n_tokens > 65535)
    throw util::Error("vulkan: bad attention shape");
  if (a.hd == 0 || a.hd > kMaxAttnHeadDim)
    throw util::Error("vulkan: attention heads wider than " + std::to_string(kMaxAttnHeadDim));
  const AttnPush push{a.n_head, a.n_kv,  a.hd,     a.kv_stride, a.window, sinks != nullptr ? 1u : 0u,
                      q_off,    q_stride, o_off,   o_stride,    tok0,     a.scale,
                      a.softcap};
  rec.dispatch(impl_->kernel("attention_decode", 7, sizeof push),
               {&q, &k_cache, &v_cache, sinks != nullptr ? sinks : &q, &out, &pos, &table}, &push,
               groups_for(a.n_head, 1), n_tokens);
}

}  // namespace gpu::vk
