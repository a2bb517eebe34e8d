// AMX int8 tile kernels (Kernels::gemm) for the K-quants with Q8_K activations.
// A tiles are 16 tokens x 64 activation codes read straight from the Q8_K rows; B tiles are 16
// weight rows repacked per superblock (pack_k_amx.h) as the exact products sc * q in two byte
// planes (and the mins in a third), so every sub-block scale is applied inside the int32
// accumulators and one float epilogue per superblock applies d * d_act (and dmin * d_act).
// Loop order: superblock -> 16-row tile (packed once, 12 KiB, stays in L1) -> 16-token tile,
// with the float accumulators of every (row tile, token tile) in a thread_local buffer.
// Fewer tokens than kMinTokens go to the AVX-512 VNNI tiles (repacking would not pay off).
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ops/x86/amx.h"
#include "ops/x86/pack_k_amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kMinTokens = 16;
constexpr size_t kActQs = offsetof(BlockQ8_K, qs);

// Tiles: 0-2 accumulators (lo, hi, mins), 3 activations, 4-6 weight planes; all 16 x 64 bytes.
TileConfig k_quant_config() {
  TileConfig cfg;
  for (int i = 0; i < 7; i++) cfg.tile(i, 16, 64);
  return cfg;
}

// Per thread, grown to the largest call and then reused (no allocation in steady state).
struct Scratch {
  std::vector<float> acc;      // [row tile][token tile][16 tokens][16 rows]
  std::vector<float> dact;     // [token tile][superblock][16 tokens]
  std::vector<uint8_t> tail;   // last partial token tile, zero-padded to 16 Q8_K rows
  PackStaging staging;
  PackedSuper packed;
  alignas(64) int32_t c[3][kTile * kTile];
};
thread_local Scratch t_scratch;

// acc[t][r] += d_r * da_t * (clo + 256 chi)[t][r] - dmin_r * da_t * cmn[t][r] for 16 tokens.
template <bool kMins>
inline void epilogue(const int32_t (*c)[kTile * kTile], const PackedSuper& ps, const float* da,
                     float* acc) {
  const __m512 dw = _mm512_load_ps(ps.d);
  const __m512 dm = _mm512_load_ps(ps.dmin);
#pragma GCC unroll 16
  for (int t = 0; t < kTile; t++) {
    const __m512i lo = _mm512_load_si512(c[0] + 16 * t);
    const __m512i hi = _mm512_load_si512(c[1] + 16 * t);
    const __m512 s = _mm512_cvtepi32_ps(_mm512_add_epi32(lo, _mm512_slli_epi32(hi, 8)));
    const __m512 at = _mm512_set1_ps(da[t]);
    __m512 v = _mm512_fmadd_ps(s, _mm512_mul_ps(dw, at), _mm512_loadu_ps(acc + 16 * t));
    if constexpr (kMins) {
      const __m512 m = _mm512_cvtepi32_ps(_mm512_load_si512(c[2] + 16 * t));
      v = _mm512_fnmadd_ps(m, _mm512_mul_ps(dm, at), v);
    }
    _mm512_storeu_ps(acc + 16 * t, v);
  }
}

template <class D>
void gemm_amx(int64_t n, int nr, int nt, const void* vw, size_t w_stride, const void* vact,
              size_t act_stride, float* y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / kQK_K;
  const int nrt = (nr + kTile - 1) / kTile, ntt = (nt + kTile - 1) / kTile;
  const int full_tt = nt / kTile;
  Scratch& s = t_scratch;
  s.acc.assign(static_cast<size_t>(nrt) * ntt * kTile * kTile, 0.0f);
  s.dact.resize(static_cast<size_t>(ntt) * nb * kTile);
  for (int t = 0; t < ntt * kTile; t++) {
    for (int64_t b = 0; b < nb; b++) {
      s.dact[(t / kTile * nb + b) * kTile + t % kTile] =
          t < nt ? reinterpret_cast<const BlockQ8_K*>(act + t * act_stride)[b].d : 0.0f;
    }
  }
  if (full_tt < ntt) {
    s.tail.resize(kTile * act_stride);
    const int rows = nt - full_tt * kTile;
    std::memcpy(s.tail.data(), act + full_tt * kTile * act_stride, rows * act_stride);
    std::memset(s.tail.data() + rows * act_stride, 0, (kTile - rows) * act_stride);
  }
  static const TileConfig cfg = k_quant_config();
  use_tile_config(cfg);
  PackedSuper& ps = s.packed;
  for (int64_t b = 0; b < nb; b++) {
    const size_t a_off = b * sizeof(BlockQ8_K) + kActQs;
    for (int rt = 0; rt < nrt; rt++) {
      pack_super<D>(w + rt * kTile * w_stride, w_stride, std::min(kTile, nr - rt * kTile), b,
                    s.staging, ps);
      for (int tt = 0; tt < ntt; tt++) {
        const uint8_t* a =
            (tt < full_tt ? act + tt * kTile * act_stride : s.tail.data()) + a_off;
        _tile_zero(0);
        _tile_zero(1);
        if constexpr (D::kMins) _tile_zero(2);
#pragma GCC unroll 4
        for (int c = 0; c < kChunks; c++) {
          _tile_loadd(3, a + 64 * c, act_stride);
          _tile_loadd(4, ps.lo[c], 64);
          _tile_dpbsud(0, 3, 4);
          _tile_loadd(5, ps.hi[c], 64);
          _tile_dpbssd(1, 3, 5);
          if constexpr (D::kMins) {
            _tile_loadd(6, ps.mn[c], 64);
            _tile_dpbsud(2, 3, 6);
          }
        }
        _tile_stored(0, s.c[0], 64);
        _tile_stored(1, s.c[1], 64);
        if constexpr (D::kMins) _tile_stored(2, s.c[2], 64);
        epilogue<D::kMins>(s.c, ps, &s.dact[(tt * nb + b) * kTile],
                           &s.acc[(static_cast<size_t>(rt) * ntt + tt) * kTile * kTile]);
      }
    }
  }
  for (int rt = 0; rt < nrt; rt++) {
    const int rows = std::min(kTile, nr - rt * kTile);
    const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
    for (int t = 0; t < nt; t++) {
      const float* src =
          &s.acc[((static_cast<size_t>(rt) * ntt + t / kTile) * kTile + t % kTile) * kTile];
      _mm512_mask_storeu_ps(y + t * ldy + rt * kTile, mask, _mm512_loadu_ps(src));
    }
  }
}

}  // namespace

#define OPS_AMX_GEMM_K(name, Decoder)                                                       \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    if (nt < kMinTokens) return avx512vnni::name(n, nr, nt, w, ws, a, as, y, ldy);         \
    gemm_amx<Decoder>(n, nr, nt, w, ws, a, as, y, ldy);                                    \
  }
OPS_AMX_GEMM_K(gemm_q4_k_q8_k, DecodeQ4K)
OPS_AMX_GEMM_K(gemm_q5_k_q8_k, DecodeQ5K)
OPS_AMX_GEMM_K(gemm_q6_k_q8_k, DecodeQ6K)
OPS_AMX_GEMM_K(gemm_q3_k_q8_k, DecodeQ23K<true>)
OPS_AMX_GEMM_K(gemm_q2_k_q8_k, DecodeQ23K<false>)
#undef OPS_AMX_GEMM_K

}  // namespace ops::amx
