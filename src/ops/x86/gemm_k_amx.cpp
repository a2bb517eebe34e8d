// AMX int8 tile kernels (Kernels::gemm) for the K-quants with Q8_K activations.
// A tiles are 16 tokens x 64 activation codes (each superblock's codes copied once per call
// into contiguous tiles); B tiles are 16 weight rows repacked per superblock (pack_k_amx.h) as
// the exact products sc * q in one or two byte planes (and the mins in another), so every
// sub-block scale is applied inside the int32 accumulators and one float epilogue per
// superblock applies d * d_act (and dmin * d_act). Results equal the scalar dots up to float
// summation order; they do not depend on the other tokens of the batch.
// Loop order: superblock -> 16-row tile (packed once, 12 KiB, stays in L1) -> 16-token tile,
// with the float accumulators of every (row tile, token tile) in a thread_local buffer.
// Fewer tokens than kMinTokens go to the AVX-512 VNNI tiles. In cache (per thread, k=2048) AMX
// ties at 4 tokens and wins 1.5x at 8, ~2.9x at 16, ~5.7x at 512; but with the weights streaming
// from DRAM (batched decode of a whole model) the per-call repack is not paid back at 8 tokens:
// 8 sequences decode at 79-80 t/s on the VNNI tiles (prefetching) vs 53 on AMX, while 16
// sequences get 100 t/s on AMX vs 80 (Q4_K_M, 1B shapes). Hence 12.
#include <cstring>

#include "ops/scratch.h"
#include "ops/x86/amx.h"
#include "ops/x86/pack_k_amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kMinTokens = 8;
// Calls with few tokens (batched decode) prefetch the weights kPrefetchBlocks superblocks ahead.
constexpr int kPrefetchMaxTokens = 32, kPrefetchBlocks = 1;

// Tiles: 0-2 accumulators (lo, hi, mins), 3 activations, 4-6 weight planes; all 16 x 64 bytes.
TileConfig k_quant_config() {
  TileConfig cfg;
  for (int i = 0; i < 7; i++) cfg.tile(i, 16, 64);
  return cfg;
}

// Per thread, grown to the largest call and then reused (no allocation in steady state).
struct Scratch {
  ScratchBuf<float> acc;   // [row tile][token tile][16 tokens][16 rows]
  ScratchBuf<float> dact;  // [token] d of the current superblock (0 for padding tokens)
  ScratchBuf<int8_t> a;    // [token tile][chunk][16 tokens][64 codes] of that superblock
  PackStaging staging;
  PackedSuper packed;
  alignas(64) int32_t c[2][3][kTile * kTile];  // two sets: store one, finish the other
};
thread_local Scratch t_scratch;

// Where an epilogue puts its 16 x 16 results: the float accumulators, or (last superblock) y.
struct TileOut {
  float* acc;  // [16 tokens][16 rows]
  float* y;    // nullptr before the last superblock; else y[t * ldy + r] of this tile
  int64_t ldy;
  int n_tokens;    // valid tokens of this tile (y only)
  __mmask16 rows;  // valid rows of this tile (y only)
};

// acc[t][r] += d_r * da_t * (clo + 2^s chi)[t][r] - dmin_r * da_t * cmn[t][r] for 16 tokens
// (s from the decoder's kSplit; no chi when it is -1). The last superblock writes y instead,
// so its stores (cache misses on a large y) overlap the tiles still computing.
template <int kSplit, bool kMins>
inline void epilogue(const int32_t (*c)[kTile * kTile], const PackedSuper& ps, const float* da,
                     const TileOut& out) {
  const __m512 dw = _mm512_load_ps(ps.d);
  const __m512 dm = _mm512_load_ps(ps.dmin);
#pragma GCC unroll 16
  for (int t = 0; t < kTile; t++) {
    __m512i x = _mm512_load_si512(c[0] + 16 * t);
    if constexpr (kSplit >= 0) {
      const __m512i hi = _mm512_load_si512(c[1] + 16 * t);
      x = _mm512_add_epi32(x, _mm512_slli_epi32(hi, kSplit == 0 ? 8 : kSplit));
    }
    const __m512 s = _mm512_cvtepi32_ps(x);
    const __m512 at = _mm512_set1_ps(da[t]);
    __m512 v = _mm512_fmadd_ps(s, _mm512_mul_ps(dw, at), _mm512_load_ps(out.acc + 16 * t));
    if constexpr (kMins) {
      const __m512 m = _mm512_cvtepi32_ps(_mm512_load_si512(c[2] + 16 * t));
      v = _mm512_fnmadd_ps(m, _mm512_mul_ps(dm, at), v);
    }
    if (out.y == nullptr) {
      _mm512_store_ps(out.acc + 16 * t, v);
    } else if (t < out.n_tokens) {
      _mm512_mask_storeu_ps(out.y + t * out.ldy, out.rows, v);
    }
  }
}

// Copies superblock b of every activation row into whole A tiles, [token tile][chunk][16][64]
// (contiguous, aligned, zero rows past nt), and its scales into dact[token]: each tile load
// then hits 16 consecutive lines instead of 16 split lines act_stride apart, for every row tile.
inline void pack_acts(const uint8_t* act, size_t act_stride, int nt, int ntt, int64_t b, int8_t* a,
                      float* dact) {
  for (int t = 0; t < ntt * kTile; t++) {
    int8_t* dst = a + (static_cast<size_t>(t / kTile) * kChunks * kTile + t % kTile) * 64;
    const auto* blk = reinterpret_cast<const BlockQ8_K*>(act + t * act_stride) + b;
    dact[t] = t < nt ? blk->d : 0.0f;
#pragma GCC unroll 4
    for (int c = 0; c < kChunks; c++) {
      _mm512_store_si512(dst + c * kTile * 64,
                         t < nt ? _mm512_loadu_si512(blk->qs + 64 * c) : _mm512_setzero_si512());
    }
  }
}

template <class D>
void gemm_amx(int64_t n, int nr, int nt, const void* vw, size_t w_stride, const void* vact,
              size_t act_stride, float* y, int64_t ldy) {
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  const int64_t nb = n / kQK_K;
  const int nrt = (nr + kTile - 1) / kTile, ntt = (nt + kTile - 1) / kTile;
  Scratch& s = t_scratch;
  const size_t n_acc = static_cast<size_t>(nrt) * ntt * kTile * kTile;
  float* acc = s.acc.get(n_acc, "AMX gemm scratch");
  std::memset(acc, 0, n_acc * sizeof(float));
  float* db = s.dact.get(static_cast<size_t>(ntt) * kTile, "AMX gemm scratch");
  int8_t* ab = s.a.get(static_cast<size_t>(ntt) * kChunks * kTile * 64, "AMX gemm scratch");
  static const TileConfig cfg = k_quant_config();
  use_tile_config(cfg);
  PackedSuper& ps = s.packed;
  const bool prefetch = nt <= kPrefetchMaxTokens;
  for (int64_t b = 0; b < nb; b++) {
    const bool last = b == nb - 1;
    pack_acts(act, act_stride, nt, ntt, b, ab, db);
    for (int rt = 0; rt < nrt; rt++) {
      const int rows = std::min(kTile, nr - rt * kTile);
      if (prefetch && b + kPrefetchBlocks < nb) {
        // Few tokens: the pass is bound by the weight reads, which walk 16 rows a superblock
        // at a time (a new page per row): ask for this tile's superblock kPrefetchBlocks ahead.
        const uint8_t* pf =
            w + rt * kTile * w_stride + (b + kPrefetchBlocks) * sizeof(typename D::Block);
        for (int r = 0; r < rows; r++) {
          for (size_t l = 0; l < sizeof(typename D::Block); l += 64)
            _mm_prefetch(reinterpret_cast<const char*>(pf + r * w_stride + l), _MM_HINT_T1);
        }
      }
      pack_super<D>(w + rt * kTile * w_stride, w_stride, rows, b, s.staging, ps);
      auto out = [&](int tt) {
        return TileOut{acc + (static_cast<size_t>(rt) * ntt + tt) * kTile * kTile,
                       last ? y + tt * kTile * ldy + rt * kTile : nullptr, ldy,
                       std::min(kTile, nt - tt * kTile), static_cast<__mmask16>((1u << rows) - 1)};
      };
      for (int tt = 0; tt < ntt; tt++) {
        const int8_t* a = ab + static_cast<size_t>(tt) * kChunks * kTile * 64;
        _tile_zero(0);
        _tile_zero(1);
        if constexpr (D::kMins) _tile_zero(2);
#pragma GCC unroll 4
        for (int c = 0; c < kChunks; c++) {
          _tile_loadd(3, a + c * kTile * 64, 64);
          _tile_loadd(4, ps.lo[c], 64);
          _tile_dpbsud(0, 3, 4);
          if constexpr (D::kSplit >= 0) _tile_loadd(5, ps.hi[c], 64);
          if constexpr (D::kSplit == 0) _tile_dpbssd(1, 3, 5);
          if constexpr (D::kSplit > 0) _tile_dpbsud(1, 3, 5);
          if constexpr (D::kMins) {
            _tile_loadd(6, ps.mn[c], 64);
            _tile_dpbsud(2, 3, 6);
          }
        }
        // The epilogue of the previous token tile runs while these TDPs finish.
        auto* c = s.c[tt & 1];
        _tile_stored(0, c[0], 64);
        if constexpr (D::kSplit >= 0) _tile_stored(1, c[1], 64);
        if constexpr (D::kMins) _tile_stored(2, c[2], 64);
        if (tt > 0) {
          epilogue<D::kSplit, D::kMins>(s.c[(tt - 1) & 1], ps, db + (tt - 1) * kTile, out(tt - 1));
        }
      }
      epilogue<D::kSplit, D::kMins>(s.c[(ntt - 1) & 1], ps, db + (ntt - 1) * kTile, out(ntt - 1));
    }
  }
}

}  // namespace

#define OPS_AMX_GEMM_K(name, Decoder)                                                      \
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
