// Holds every ISA variant in the kernel table to its scalar twin: for each ISA this machine
// runs (scalar excluded) and each type, dot / dequantize / activation quantize / gemm must
// agree with the scalar kernels on random data over many lengths.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "test_util.h"

using ops::DType;
using ops::Isa;
using namespace ops_test;

namespace {

std::vector<Isa> isas_to_test() {
  std::vector<Isa> v;
  for (int i = 1; i <= static_cast<int>(ops::detected_isa()); i++) v.push_back(static_cast<Isa>(i));
  return v;
}

const char* tname(DType t) { return ops::type_info(static_cast<uint32_t>(t))->name; }

// Lengths in elements: 1..16 blocks (tails of unrolled loops) and a few model-sized rows.
std::vector<int64_t> lengths(DType t) {
  const int64_t bs = std::max<int64_t>(block_size(t), block_size(ops::scalar_table()[t].act_type));
  const int64_t unit = std::max<int64_t>(bs, 32);
  std::vector<int64_t> v;
  if (bs == 1) {
    // Float types get any length (attention dots run over head_dim and n_ctx): every tail.
    for (int64_t i = 1; i <= 80; i++) v.push_back(i);
    v.push_back(127);
    v.push_back(1000);
  }
  for (int64_t b = 1; b <= 16; b++) v.push_back(b * unit);
  for (int64_t n : {2048, 4096, 5632, 11008}) {
    if (n % unit == 0) v.push_back(n);
  }
  return v;
}

// Inputs that stress corner cases: plain Gaussian, heavy outliers, all-equal, and signs that
// drive activations to +-127.
std::vector<float> pattern(int which, int64_t n, uint32_t seed) {
  auto v = gaussian(n, seed);
  if (which == 1) {
    for (int64_t i = 0; i < n; i += 17) v[i] *= 30;
  } else if (which == 2) {
    for (auto& x : v) x = 0.75f;
  } else if (which == 3) {
    for (int64_t i = 0; i < n; i++) v[i] = (i % 2) ? -1.0f : 1.0f;
  }
  return v;
}

TEST(Twins, VecDotMatchesScalar) {
  int checked = 0;
  for (Isa isa : isas_to_test()) {
    for (DType t : dot_types()) {
      const ops::Kernels* k = ops::kernels(t, isa);
      const ops::Kernels& ks = ops::scalar_table()[t];
      ASSERT_NE(k, nullptr);
      ASSERT_EQ(k->act_type, ks.act_type) << tname(t) << " " << ops::isa_name(isa);
      for (int64_t n : lengths(t)) {
        for (int p = 0; p < 4; p++) {
          const auto w = quantize(t, pattern(p, n, 100 + p));
          const auto a = quantize(ks.act_type, pattern(3 - p, n, 200 + p));
          // Rows inside GGUF tensors and KV caches are not 32-byte aligned: shift both
          // operands off alignment (by whole elements for the float types).
          const size_t w_align = block_size(t) == 1 ? ops::row_bytes(t, 1) : 1;
          const size_t a_align = block_size(ks.act_type) == 1 ? ops::row_bytes(ks.act_type, 1) : 2;
          std::vector<uint8_t> wbuf(w.size() + 64), abuf(a.size() + 64);
          uint8_t* wp = wbuf.data() + (64 - reinterpret_cast<uintptr_t>(wbuf.data()) % 64) % 64;
          uint8_t* ap = abuf.data() + (64 - reinterpret_cast<uintptr_t>(abuf.data()) % 64) % 64;
          wp += w_align * (p + 1) % 32;
          ap += a_align * (p + 1) % 32;
          std::memcpy(wp, w.data(), w.size());
          std::memcpy(ap, a.data(), a.size());
          float want, got;
          ks.vec_dot(n, &want, w.data(), a.data());
          k->vec_dot(n, &got, wp, ap);
          const auto wd = dequantize(t, w.data(), n);
          const auto ad = dequantize(ks.act_type, a.data(), n);
          ASSERT_NEAR(got, want, 1e-5 * abs_dot_d(wd, ad) + 1e-6)
              << tname(t) << " " << ops::isa_name(isa) << " n=" << n << " pattern " << p;
          checked++;
        }
      }
    }
  }
  std::printf("  %d ISA dot cases checked (detected ISA: %s)\n", checked,
              ops::isa_name(ops::detected_isa()));
}

TEST(Twins, DequantizeMatchesScalar) {
  for (Isa isa : isas_to_test()) {
    for (DType t : dot_types()) {
      const ops::Kernels* k = ops::kernels(t, isa);
      for (int64_t n : lengths(t)) {
        const auto x = pattern(1, n, 7);
        const auto q = quantize(t, x);
        const auto want = dequantize(t, q.data(), n);
        std::vector<float> got(n);
        k->dequantize_row(q.data(), got.data(), n);
        for (int64_t i = 0; i < n; i++) {
          // fused multiply-add may round the d * q + m types once instead of twice.
          ASSERT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-7f)
              << tname(t) << " " << ops::isa_name(isa) << " n=" << n << " i=" << i;
        }
      }
    }
  }
}

// Activation quantizers may round ties differently: codes within 1, same scale (to fp rounding).
TEST(Twins, ActivationQuantizersMatchScalar) {
  for (Isa isa : isas_to_test()) {
    for (DType at : {DType::Q8_0, DType::Q8_K}) {
      const ops::Kernels* k = ops::kernels(at, isa);
      for (int64_t n : {256, 512, 4096}) {
        for (int p = 0; p < 4; p++) {
          const auto x = pattern(p, n, 300 + p);
          const auto want = quantize(at, x);
          std::vector<uint8_t> got(want.size());
          k->quantize_row(x.data(), got.data(), n);
          const auto wd = dequantize(at, want.data(), n);
          const auto gd = dequantize(at, got.data(), n);
          const float step = 1.01f;  // one code step (relative to the scale d)
          for (int64_t i = 0; i < n; i++) {
            const int64_t b = i / block_size(at);
            float d;
            if (at == DType::Q8_0) {
              d = ops::fp16_to_fp32(reinterpret_cast<const ops::BlockQ8_0*>(want.data())[b].d);
            } else {
              d = reinterpret_cast<const ops::BlockQ8_K*>(want.data())[b].d;
            }
            ASSERT_LE(std::fabs(gd[i] - wd[i]), step * d + 1e-6f)
                << tname(at) << " " << ops::isa_name(isa) << " n=" << n << " i=" << i;
          }
          if (at == DType::Q8_K) {
            const auto* g = reinterpret_cast<const ops::BlockQ8_K*>(got.data());
            for (int64_t b = 0; b < n / 256; b++) {
              for (int s = 0; s < 16; s++) {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += g[b].qs[16 * s + l];
                ASSERT_EQ(g[b].bsums[s], sum) << ops::isa_name(isa);
              }
            }
          }
        }
      }
    }
  }
}

TEST(Twins, GemmMatchesScalarVecDot) {
  for (Isa isa : isas_to_test()) {
    for (DType t : dot_types()) {
      const ops::Kernels* k = ops::kernels(t, isa);
      if (k->gemm == nullptr) continue;
      const ops::Kernels& ks = ops::scalar_table()[t];
      const int64_t n = std::max<int64_t>(256, block_size(t)) * 2;
      for (int nr : {1, 3, 4, 16, 64}) {
        for (int nt : {1, 2, 5, 33}) {
          const size_t wb = ops::row_bytes(t, n), ab = ops::row_bytes(ks.act_type, n);
          std::vector<uint8_t> w, a;
          for (int r = 0; r < nr; r++) {
            auto q = quantize(t, gaussian(n, 400 + r));
            w.insert(w.end(), q.begin(), q.end());
          }
          for (int tk = 0; tk < nt; tk++) {
            auto q = quantize(ks.act_type, gaussian(n, 500 + tk));
            a.insert(a.end(), q.begin(), q.end());
          }
          const int64_t ldy = nr + 3;
          std::vector<float> y(ldy * nt, 12345.0f);
          k->gemm(n, nr, nt, w.data(), wb, a.data(), ab, y.data(), ldy);
          for (int tk = 0; tk < nt; tk++) {
            for (int r = 0; r < nr; r++) {
              float want;
              ks.vec_dot(n, &want, w.data() + r * wb, a.data() + tk * ab);
              ASSERT_NEAR(y[tk * ldy + r], want, 1e-4f * std::fabs(want) + 1e-3f)
                  << tname(t) << " " << ops::isa_name(isa) << " nr=" << nr << " nt=" << nt;
            }
            for (int64_t r = nr; r < ldy; r++)
              ASSERT_EQ(y[tk * ldy + r], 12345.0f) << "gemm wrote past nr";
          }
        }
      }
    }
  }
}

}  // namespace
