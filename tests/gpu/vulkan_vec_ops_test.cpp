// The vector shaders (rmsnorm, swiglu, add, RoPE) against their CPU twins in ops/vec.h on the
// loader's device (lavapipe in CI). Tolerances: 1e-5 relative for sums and products (float
// order differs), 1e-4 where the GPU's exp and inversesqrt are used (GLSL only bounds them to
// a few ulp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "gpu/vulkan/device.h"
#include "gpu/vulkan/vec_ops.h"
#include "ops/blocks.h"
#include "ops/test_util.h"
#include "ops/vec.h"

namespace {

using ops_test::gaussian;
using gpu::vk::Buffer;
using gpu::vk::Device;
using gpu::vk::Memory;

// A host-visible buffer holding `pad` NaNs, then v, then `pad` NaNs.
Buffer host(Device& dev, const std::vector<float>& v, size_t pad = 4) {
  Buffer b(dev, (v.size() + 2 * pad) * sizeof(float), Memory::kHost);
  float* p = static_cast<float*>(b.data());
  std::fill_n(p, v.size() + 2 * pad, NAN);
  std::memcpy(p + pad, v.data(), v.size() * sizeof(float));
  return b;
}

const float* at(const Buffer& b, size_t pad = 4) { return static_cast<const float*>(b.data()) + pad; }

void expect_close(const float* got, const std::vector<float>& want, float rel, const char* what) {
  for (size_t i = 0; i < want.size(); i++)
    ASSERT_NEAR(got[i], want[i], rel * (1.0f + std::fabs(want[i]))) << what << " at " << i;
}

TEST(VulkanVecOps, RmsnormRowsWithAndWithoutWeight) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  for (uint32_t n : {1u, 64u, 2048u, 3000u}) {
    const uint32_t rows = 3;
    const auto x = gaussian(n * rows, n);
    const auto w = gaussian(n, n + 1);
    std::vector<float> want(n * rows), want_nw(n * rows);
    for (uint32_t r = 0; r < rows; r++) {
      ops::rmsnorm(x.data() + r * n, w.data(), want.data() + r * n, n, 1e-5f);
      ops::rmsnorm(x.data() + r * n, nullptr, want_nw.data() + r * n, n, 1e-5f);
    }
    Buffer xb = host(dev, x), wb = host(dev, w), yb = host(dev, std::vector<float>(n * rows)),
           yb2 = host(dev, std::vector<float>(n * rows));
    gpu::vk::Recorder rec(dev);
    ops.rmsnorm(rec, xb, 4, &wb, 4, yb, 4, n, rows, 1e-5f);
    ops.rmsnorm(rec, xb, 4, nullptr, 0, yb2, 4, n, rows, 1e-5f);
    rec.submit_and_wait();
    expect_close(at(yb), want, 1e-4f, "rmsnorm");
    expect_close(at(yb2), want_nw, 1e-4f, "rmsnorm without weight");
    EXPECT_TRUE(std::isnan(at(yb)[n * rows])) << "wrote past the rows";
  }
}

TEST(VulkanVecOps, SwigluAndAddMatchTheCpu) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  for (uint32_t n : {1u, 255u, 8192u, 70000u}) {
    const auto g = gaussian(n, 1), u = gaussian(n, 2);
    std::vector<float> sw(n), sum(n);
    ops::swiglu(g.data(), u.data(), sw.data(), n);
    ops::add(g.data(), u.data(), sum.data(), n);
    Buffer gb = host(dev, g), ub = host(dev, u), ob = host(dev, std::vector<float>(n)),
           sb = host(dev, std::vector<float>(n));
    gpu::vk::Recorder rec(dev);
    ops.glu(rec, gpu::vk::VecOps::Glu::kSilu, gb, 4, ub, 4, ob, 4, n);
    ops.add(rec, gb, 4, ub, 4, sb, 4, n);
    // Chained in one submission: the add reads what the swiglu wrote (the recorder's barrier).
    ops.add(rec, ob, 4, sb, 4, sb, 4, n);
    // A bias over 3 rows (b_stride 0), rows 5 floats apart.
    if (n < 1000) {
      const std::vector<float> rows3 = gaussian(3 * (n + 5), 5);
      Buffer rb = host(dev, rows3), bb = host(dev, u);
      ops.add(rec, rb, 4, bb, 4, rb, 4, n, 3, n + 5, 0, n + 5);
      rec.submit_and_wait();
      for (uint32_t r = 0; r < 3; r++)
        for (uint32_t i = 0; i < n; i++)
          ASSERT_EQ(at(rb)[r * (n + 5) + i], rows3[r * (n + 5) + i] + u[i]) << r << " " << i;
      EXPECT_EQ(at(rb)[n], rows3[n]);  // the gap between rows untouched
    }
    rec.submit_and_wait();
    for (uint32_t i = 0; i < n; i++) sum[i] += sw[i];
    expect_close(at(ob), sw, 1e-4f, "swiglu");
    expect_close(at(sb), sum, 1e-4f, "add after swiglu");
    EXPECT_TRUE(std::isnan(at(ob)[n]));
  }
}

// GELU-gated rows as gemma's FFN runs them, and the fused-projection split of phi3: rows of
// 2 * n floats, gate in the first half and up in the second, into rows of n (and back out of
// a wide row by copy_rows).
TEST(VulkanVecOps, GeluGatedRowsAndCopiedColumnsMatchTheCpu) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  for (uint32_t n : {1u, 300u, 5000u}) {
    const uint32_t rows = 3;
    const auto wide = gaussian(rows * 2 * n, 7);
    std::vector<float> ge(rows * n), si(rows * n), copied(rows * n);
    for (uint32_t r = 0; r < rows; r++) {
      const float* w = wide.data() + r * 2 * n;
      ops::geglu(w, w + n, ge.data() + r * n, n);
      ops::swiglu(w, w + n, si.data() + r * n, n);
      std::copy(w + n, w + 2 * n, copied.begin() + r * n);
    }
    Buffer wb = host(dev, wide), gb = host(dev, std::vector<float>(rows * n)),
           sb = host(dev, std::vector<float>(rows * n)),
           cb = host(dev, std::vector<float>(rows * n));
    gpu::vk::Recorder rec(dev);
    const gpu::vk::VecOps::Rows layout{rows, 2 * n, 2 * n, n};
    ops.glu(rec, gpu::vk::VecOps::Glu::kGelu, wb, 4, wb, 4 + n, gb, 4, n, layout);
    ops.glu(rec, gpu::vk::VecOps::Glu::kSilu, wb, 4, wb, 4 + n, sb, 4, n, layout);
    ops.copy_rows(rec, wb, 4 + n, cb, 4, n, rows, 2 * n, n);
    rec.submit_and_wait();
    expect_close(at(gb), ge, 1e-4f, "geglu rows");
    expect_close(at(sb), si, 1e-4f, "swiglu rows");
    expect_close(at(cb), copied, 0.0f, "copied columns");
    EXPECT_TRUE(std::isnan(at(gb)[rows * n]));
  }
}

TEST(VulkanVecOps, RopeNormalAndNeoxMatchTheCpu) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  struct Case {
    uint32_t n_heads, head_dim, n_rot;
  };
  for (const Case c : {Case{32, 64, 64}, Case{8, 128, 64}, Case{2, 6, 4}}) {
    for (bool neox : {false, true}) {
      const auto x = gaussian(c.n_heads * c.head_dim, c.head_dim);
      std::vector<float> cs(c.n_rot);
      ops::rope_cache(cs.data(), c.n_rot, 37.0f, 500000.0f, 1.0f, nullptr);
      std::vector<float> want = x;
      (neox ? ops::rope_neox : ops::rope_norm)(want.data(), c.n_heads, c.head_dim, c.n_rot,
                                               cs.data());
      Buffer xb = host(dev, x), cb = host(dev, cs);
      gpu::vk::Recorder rec(dev);
      ops.rope(rec, xb, 4, cb, 4, c.n_heads, c.head_dim, c.n_rot, neox);
      rec.submit_and_wait();
      expect_close(at(xb), want, 1e-5f, neox ? "rope neox" : "rope normal");
      // Two tokens in one dispatch: the second at another position, rows 3 floats apart.
      const size_t width = c.n_heads * c.head_dim;
      std::vector<float> x2(2 * width + 3), cs2(2 * c.n_rot);
      std::copy(x.begin(), x.end(), x2.begin());
      std::copy(x.begin(), x.end(), x2.begin() + width + 3);
      std::copy(cs.begin(), cs.end(), cs2.begin());
      ops::rope_cache(cs2.data() + c.n_rot, c.n_rot, 900.0f, 500000.0f, 1.0f, nullptr);
      std::vector<float> want2 = x;
      (neox ? ops::rope_neox : ops::rope_norm)(want2.data(), c.n_heads, c.head_dim, c.n_rot,
                                               cs2.data() + c.n_rot);
      Buffer xb2 = host(dev, x2), cb2 = host(dev, cs2);
      ops.rope(rec, xb2, 4, cb2, 4, c.n_heads, c.head_dim, c.n_rot, neox, 2,
               static_cast<uint32_t>(width + 3), c.n_rot);
      rec.submit_and_wait();
      expect_close(at(xb2), want, 1e-5f, "rope, first of two tokens");
      expect_close(at(xb2) + width + 3, want2, 1e-5f, "rope, second of two tokens");
    }
  }
}

}  // namespace

namespace {

using Table = gpu::vk::VecOps::TokenTable;

// Double-precision attention of one query token (its table row t) as nn::attention defines
// it (blocks.h: position mask, window, soft-cap, sinks), head h over KV head h / group.
std::vector<float> reference_attention(const float* q, const std::vector<float>& kc,
                                       const std::vector<float>& vc, const float* sinks,
                                       const std::vector<int32_t>& pos, const Table& t,
                                       const gpu::vk::VecOps::Attn& a) {
  std::vector<float> out(a.n_head * a.hd);
  const uint32_t group = a.n_head / a.n_kv;
  const float* k = kc.data() + t.kv_off;
  const float* v = vc.data() + t.kv_off;
  auto visible = [&](int j) {
    const int32_t pj = pos[t.pos_off + j];
    return pj <= t.pos_q && (a.window == 0 || t.pos_q - pj < int32_t(a.window));
  };
  for (uint32_t h = 0; h < a.n_head; h++) {
    const uint32_t kvh = h / group;
    std::vector<double> s(t.n_keys);
    double m = -1e300;
    for (int j = 0; j < t.n_keys; j++) {
      if (!visible(j)) continue;
      double d = 0;
      for (uint32_t i = 0; i < a.hd; i++) d += double(q[h * a.hd + i]) * k[j * a.kv_stride + kvh * a.hd + i];
      d *= a.scale;
      if (a.softcap > 0) d = a.softcap * std::tanh(d / a.softcap);
      s[j] = d;
      m = std::max(m, d);
    }
    if (sinks) m = std::max(m, double(sinks[h]));
    double sum = sinks ? std::exp(sinks[h] - m) : 0.0;
    for (int j = 0; j < t.n_keys; j++) sum += (s[j] = visible(j) ? std::exp(s[j] - m) : 0.0);
    for (uint32_t i = 0; i < a.hd; i++) {
      double acc = 0;
      for (int j = 0; j < t.n_keys; j++) acc += s[j] * v[j * a.kv_stride + kvh * a.hd + i];
      out[h * a.hd + i] = static_cast<float>(acc / sum);
    }
  }
  return out;
}

// Two query tokens in one dispatch per case: the last cell's position (a decoding token) and
// an earlier one (a prompt token that must not see later cells), each case's sequence 5 cells
// into the caches and 3 ints into the positions.
TEST(VulkanVecOps, AttentionWithGqaPositionMaskWindowSoftcapAndSinks) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  struct Case {
    uint32_t n_head, n_kv, hd, n_keys, window;
    float softcap;
    bool sinks;
    bool gap;  // positions jump by 3 halfway (cells after a removed range)
  };
  for (const Case c : {Case{4, 4, 16, 1, 0, 0, false, false}, Case{32, 8, 64, 300, 0, 0, false, false},
                       Case{8, 2, 64, 200, 64, 0, true, false}, Case{4, 1, 32, 100, 0, 50.0f, false, false},
                       Case{2, 1, 8, 70, 128, 0, true, false}, Case{4, 2, 16, 90, 20, 0, false, true},
                       // several key blocks, a partial last one, the widest heads
                       Case{4, 2, 256, 1000, 0, 0, true, false},
                       Case{8, 4, 128, 130, 0, 30.0f, false, true}}) {
    const gpu::vk::VecOps::Attn a{c.n_head, c.n_kv, c.hd, c.n_kv * c.hd + 8,
                                  1.0f / std::sqrt(float(c.hd)), c.window, c.softcap};
    std::vector<int32_t> pos(3 + c.n_keys, -100);
    for (uint32_t j = 0; j < c.n_keys; j++)
      pos[3 + j] = int32_t(j) + (c.gap && j >= c.n_keys / 2 ? 3 : 0);
    const int32_t kv_off = int32_t(5 * a.kv_stride);
    const Table rows[2] = {{0, kv_off, 3, pos.back(), int32_t(c.n_keys), 0},
                           {0, kv_off, 3, pos[3 + c.n_keys / 2], int32_t(c.n_keys), 0}};
    const uint32_t q_stride = c.n_head * c.hd + 2, o_stride = c.n_head * c.hd + 1;
    const auto q = gaussian(2 * q_stride, 7);
    const auto k = gaussian(size_t(c.n_keys + 5) * a.kv_stride, 8);
    const auto v = gaussian(size_t(c.n_keys + 5) * a.kv_stride, 9);
    const auto sinks = gaussian(c.n_head, 10);
    Buffer qb = host(dev, q), kb = host(dev, k, 0), vb = host(dev, v, 0), sb = host(dev, sinks, 0);
    Buffer pb(dev, pos.size() * sizeof(int32_t), Memory::kHost), tb(dev, sizeof rows, Memory::kHost);
    std::memcpy(pb.data(), pos.data(), pos.size() * sizeof(int32_t));
    std::memcpy(tb.data(), rows, sizeof rows);
    Buffer ob = host(dev, std::vector<float>(2 * o_stride));
    gpu::vk::Recorder rec(dev);
    ops.attention(rec, a, qb, 4, q_stride, kb, vb, pb, tb, 0, 2, c.sinks ? &sb : nullptr, ob, 4,
                  o_stride);
    rec.submit_and_wait();
    for (int t = 0; t < 2; t++) {
      const auto want = reference_attention(q.data() + t * q_stride, k, v,
                                            c.sinks ? sinks.data() : nullptr, pos, rows[t], a);
      expect_close(at(ob) + t * o_stride, want, 1e-4f, t == 0 ? "attention, last" : "attention, earlier");
    }
  }
}

TEST(VulkanVecOps, KvStoreWritesCellsAndTheCopyBackRoundedAsFp16) {
  Device& dev = Device::get();
  gpu::vk::VecOps ops(dev);
  const uint32_t n_kv = 40;
  const auto src = gaussian(2 * n_kv, 11);
  const Table rows[2] = {{3 * int32_t(n_kv), 0, 0, 0, 0, 0}, {1 * int32_t(n_kv), 0, 0, 0, 0, 0}};
  Buffer sb = host(dev, src, 0), tb(dev, sizeof rows, Memory::kHost);
  std::memcpy(tb.data(), rows, sizeof rows);
  for (bool f16 : {false, true}) {
    Buffer cache = host(dev, std::vector<float>(5 * n_kv), 0), back = host(dev, std::vector<float>(2 * n_kv), 0);
    gpu::vk::Recorder rec(dev);
    ops.kv_store(rec, sb, 0, cache, back, 0, tb, n_kv, 2, f16);
    rec.submit_and_wait();
    for (uint32_t i = 0; i < 2 * n_kv; i++) {
      const float want = f16 ? ops::fp16_to_fp32(ops::fp32_to_fp16(src[i])) : src[i];
      ASSERT_EQ(at(back, 0)[i], want) << i;
      ASSERT_EQ(at(cache, 0)[(i < n_kv ? 3 : 1) * n_kv + i % n_kv], want) << i;
    }
    EXPECT_EQ(at(cache, 0)[0], 0.0f);  // cell 0 untouched
  }
}

}  // namespace
