// AMX BF16 tile kernels (Kernels::gemm) for F16 and BF16 weights with F32 activations.
//
// Accuracy: one bf16 rounding of each operand would cost ~2^-9 per product (worse than the
// F16 activations llama.cpp uses), so both operands are split into bf16 pairs and the dot is
// a sum of exact bf16 products accumulated in FP32 tiles:
//   F16 weight  w = w_hi + w_lo exactly (11-bit significand = 8 + at most 4 bits, and every
//               F16 value, subnormals included, is a normal number in bf16's FP32 range);
//   F32 activation a = a_hi + a_lo with a_hi = bf16(a) and a_lo = bf16(a - a_hi) (16
//               significant bits, |error| <= 2^-17 |a|);
//   dot = a_hi*w_hi + a_hi*w_lo + a_lo*w_hi (3 TDPBF16PS; the dropped a_lo*w_lo and the a_lo
//               rounding are each <= 2^-17 |a w|). BF16 weights are exact: a_hi*w + a_lo*w.
// So every product is within ~2^-16 of exact before FP32 accumulation, 32x tighter than
// rounding activations to F16. F32 weights stay on the AVX-512 FMA tiles (they would need a
// third weight part to be exact).
//
// Layout: C tiles hold 16 tokens x 16 weight rows of FP32 sums (y is token-major), A tiles 16
// tokens x 32 K of bf16 activations in natural order, B tiles the weight rows in the VNNI pair
// layout B[k/2][2*row + k%2] (a 16x16 dword transpose of the F16/BF16 pairs). K runs in blocks
// of kBlockSteps x 32: each block's weights are repacked (hi/lo) into an L1-sized buffer and
// its activations split once per 32 tokens, then 2x2 C tiles (32 tokens x 32 rows) accumulate
// over the block and park in an FP32 scratch between blocks (exact: tiles store FP32).
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _undefined() helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cstdlib>
#include <new>

#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kTile = 16;        // tile rows (tokens or K pairs) and FP32 columns
constexpr int kStepK = 32;       // K per TDPBF16PS (16 rows of 64 bytes of bf16)
constexpr int kBlockSteps = 4;   // K steps per block: 64 rows x 128 K x hi/lo = 32 KiB of B
constexpr int kTileBytes = 1024;
constexpr int kMinTokens = 16;   // fewer tokens: the AVX-512 tiles (weight repack dominates)

// Per-thread 64-byte aligned scratch that only grows.
class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  uint8_t* get(size_t bytes) {
    if (bytes > cap_) {
      std::free(p_);
      cap_ = (bytes + 4095) / 4096 * 4096;
      p_ = static_cast<uint8_t*>(std::aligned_alloc(64, cap_));
      if (p_ == nullptr) throw std::bad_alloc();
    }
    return p_;
  }

 private:
  uint8_t* p_ = nullptr;
  size_t cap_ = 0;
};

thread_local Scratch t_wbuf, t_abuf, t_cbuf;

// x rounded to the nearest bf16 (ties to even), kept as FP32 bits. Finite inputs only.
inline __m512 round_to_bf16(__m512 x) {
  const __m512i b = _mm512_castps_si512(x);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
  return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000))));
}

// 32 FP32 values (x0 = first 16) -> bf16 hi and lo parts in the same order.
inline void split32(__m512 x0, __m512 x1, __m512i* hi, __m512i* lo) {
  const __m512 h0 = round_to_bf16(x0), h1 = round_to_bf16(x1);
  *hi = (__m512i)_mm512_cvtne2ps_pbh(h1, h0);  // exact: h0, h1 are bf16 values
  *lo = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(x1, h1), _mm512_sub_ps(x0, h0));
}

// In-register transpose of 16 rows of 16 dwords (r[i] dword j -> r[j] dword i).
inline void transpose16x16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int m = 0; m < 8; m++) {
    t[2 * m] = _mm512_unpacklo_epi32(r[2 * m], r[2 * m + 1]);
    t[2 * m + 1] = _mm512_unpackhi_epi32(r[2 * m], r[2 * m + 1]);
  }
  for (int q = 0; q < 4; q++) {  // u[4q + c], 128-bit lane L = column 4L + c of rows 4q..4q+3
    u[4 * q + 0] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
    u[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
  }
  for (int c = 0; c < 4; c++) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i w0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    r[c] = _mm512_shuffle_i32x4(v0, w0, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(v0, w0, 0xdd);
    r[8 + c] = _mm512_shuffle_i32x4(v1, w1, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(v1, w1, 0xdd);
  }
}

// Weight formats: kParts B tiles per (16 rows x 32 K); split() turns 32 raw 16-bit values
// (pairs of 16 rows after the transpose) into those parts.
struct F16Split {
  static constexpr int kParts = 2;
  static void split(__m512i raw, __m512i* out) {
    const __m512 x0 = _mm512_cvtph_ps(_mm512_castsi512_si256(raw));
    const __m512 x1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(raw, 1));
    split32(x0, x1, &out[0], &out[1]);  // exact: w - bf16(w) has <= 4 significant bits
  }
};
struct BF16Plain {
  static constexpr int kParts = 1;
  static void split(__m512i raw, __m512i* out) { out[0] = raw; }
};

// Repacks rows [0, nr) x K steps [s0, s0 + ks) into B tiles at dst: tile (s, rb, part) at
// ((s * nrb + rb) * kParts + part) * kTileBytes. Missing rows and K past n are zeros.
template <class W>
void pack_weights(const uint8_t* w, size_t ws, int nr, int64_t n, int64_t s0, int ks, int nrb,
                  uint8_t* dst) {
  for (int s = 0; s < ks; s++) {
    const int64_t k0 = (s0 + s) * kStepK;
    const int64_t left = n - k0;
    const __mmask32 km = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
    for (int rb = 0; rb < nrb; rb++) {
      __m512i r[16];
      for (int i = 0; i < kTile; i++) {
        const int row = rb * kTile + i;
        r[i] = row < nr ? _mm512_maskz_loadu_epi16(km, w + row * ws + k0 * 2)
                        : _mm512_setzero_si512();
      }
      transpose16x16(r);  // r[p] = K pair p of the 16 rows
      uint8_t* out = dst + (static_cast<size_t>(s) * nrb + rb) * W::kParts * kTileBytes;
      for (int p = 0; p < kTile; p++) {
        __m512i parts[2];
        W::split(r[p], parts);
        for (int q = 0; q < W::kParts; q++)
          _mm512_store_si512(out + q * kTileBytes + p * 64, parts[q]);
      }
    }
  }
}

// Splits activations of tokens [t0, t0 + 32) x K steps [s0, s0 + ks) into hi and lo A rows
// (row stride kBlockSteps * 64 bytes). Tokens past nt and K past n are zeros.
void pack_acts(const uint8_t* act, size_t as, int nt, int64_t n, int t0, int64_t s0, int ks,
               uint8_t* hi, uint8_t* lo) {
  constexpr int kRow = kBlockSteps * 64;
  for (int i = 0; i < 2 * kTile; i++) {
    const int t = t0 + i;
    const float* a = reinterpret_cast<const float*>(act + t * as);
    for (int s = 0; s < ks; s++) {
      const int64_t k0 = (s0 + s) * kStepK;
      __m512i h = _mm512_setzero_si512(), l = _mm512_setzero_si512();
      if (t < nt) {
        const int64_t left = n - k0;
        __m512 x0, x1;
        if (left >= 32) {
          x0 = _mm512_loadu_ps(a + k0);
          x1 = _mm512_loadu_ps(a + k0 + 16);
        } else {
          const auto m = static_cast<__mmask32>((uint64_t{1} << left) - 1);
          x0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m), a + k0);
          x1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m >> 16), a + k0 + 16);
        }
        split32(x0, x1, &h, &l);
      }
      _mm512_store_si512(hi + i * kRow + s * 64, h);
      _mm512_store_si512(lo + i * kRow + s * 64, l);
    }
  }
}

// Tile registers: C(tt, rt) = 2 * tt + rt (0..3), A = 4, 5, B = 6, 7.
#define OPS_DP(c, a, b) _tile_dpbf16ps(c, a, b)

// ks K steps of a T x R block of C tiles (T token tiles, R row tiles, each 1 or 2).
// a_hi/a_lo: A rows of the first token tile; wb: B tiles of the first row tile at step 0;
// c: FP32 sums of (token 0, row 0) with row stride c_stride bytes.
template <int kParts, int T, int R>
void block(const uint8_t* a_hi, const uint8_t* a_lo, const uint8_t* wb, int nrb, int ks,
           float* c, size_t c_stride, bool first) {
  constexpr int kARow = kBlockSteps * 64;
  constexpr size_t kATile = kTile * kARow;
  const size_t w_step = static_cast<size_t>(nrb) * kParts * kTileBytes;
  const size_t w_row = kParts * kTileBytes;
  float* c1 = c + kTile * c_stride / sizeof(float);  // token tile 1
  if (first) {
    _tile_zero(0);
    if (R == 2) _tile_zero(1);
    if (T == 2) _tile_zero(2);
    if (T == 2 && R == 2) _tile_zero(3);
  } else {
    _tile_loadd(0, c, c_stride);
    if (R == 2) _tile_loadd(1, c + kTile, c_stride);
    if (T == 2) _tile_loadd(2, c1, c_stride);
    if (T == 2 && R == 2) _tile_loadd(3, c1 + kTile, c_stride);
  }
  for (int s = 0; s < ks; s++) {
    const uint8_t* w = wb + s * w_step;
    const uint8_t* ah = a_hi + s * 64;
    const uint8_t* al = a_lo + s * 64;
    // hi x w_hi
    _tile_loadd(4, ah, kARow);
    if (T == 2) _tile_loadd(5, ah + kATile, kARow);
    _tile_loadd(6, w, 64);
    if (R == 2) _tile_loadd(7, w + w_row, 64);
    OPS_DP(0, 4, 6);
    if (R == 2) OPS_DP(1, 4, 7);
    if (T == 2) OPS_DP(2, 5, 6);
    if (T == 2 && R == 2) OPS_DP(3, 5, 7);
    if (kParts == 2) {  // hi x w_lo
      _tile_loadd(6, w + kTileBytes, 64);
      if (R == 2) _tile_loadd(7, w + w_row + kTileBytes, 64);
      OPS_DP(0, 4, 6);
      if (R == 2) OPS_DP(1, 4, 7);
      if (T == 2) OPS_DP(2, 5, 6);
      if (T == 2 && R == 2) OPS_DP(3, 5, 7);
      _tile_loadd(6, w, 64);
      if (R == 2) _tile_loadd(7, w + w_row, 64);
    }
    // lo x w_hi
    _tile_loadd(4, al, kARow);
    if (T == 2) _tile_loadd(5, al + kATile, kARow);
    OPS_DP(0, 4, 6);
    if (R == 2) OPS_DP(1, 4, 7);
    if (T == 2) OPS_DP(2, 5, 6);
    if (T == 2 && R == 2) OPS_DP(3, 5, 7);
  }
  _tile_stored(0, c, c_stride);
  if (R == 2) _tile_stored(1, c + kTile, c_stride);
  if (T == 2) _tile_stored(2, c1, c_stride);
  if (T == 2 && R == 2) _tile_stored(3, c1 + kTile, c_stride);
}
#undef OPS_DP

template <class W>
void gemm_tiles(int64_t n, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                size_t as, float* y, int64_t ldy) {
  constexpr int kParts = W::kParts;
  TileConfig cfg;
  for (int i = 0; i < 8; i++) cfg.tile(i, kTile, 64);
  use_tile_config(cfg);

  const int nrb = (nr + kTile - 1) / kTile;             // row tiles
  const int ntp = (nt + 2 * kTile - 1) / (2 * kTile);   // 32-token pairs of tiles
  const int64_t steps = (n + kStepK - 1) / kStepK;
  const int c_cols = nrb * kTile;                       // FP32 scratch row (one token)
  const size_t c_stride = static_cast<size_t>(c_cols) * sizeof(float);
  uint8_t* wbuf = t_wbuf.get(static_cast<size_t>(kBlockSteps) * nrb * kParts * kTileBytes);
  constexpr size_t kAPart = 2 * kTile * kBlockSteps * 64;
  uint8_t* abuf = t_abuf.get(2 * kAPart);
  auto* cbuf = reinterpret_cast<float*>(t_cbuf.get(c_stride * ntp * 2 * kTile));

  for (int64_t s0 = 0; s0 < steps; s0 += kBlockSteps) {
    const int ks = static_cast<int>(std::min<int64_t>(kBlockSteps, steps - s0));
    pack_weights<W>(w, ws, nr, n, s0, ks, nrb, wbuf);
    for (int tp = 0; tp < ntp; tp++) {
      const int t0 = tp * 2 * kTile;
      pack_acts(act, as, nt, n, t0, s0, ks, abuf, abuf + kAPart);
      const bool two_t = nt - t0 > kTile;
      float* c = cbuf + static_cast<size_t>(t0) * c_cols;
      for (int rb = 0; rb < nrb; rb += 2) {
        const uint8_t* wb = wbuf + static_cast<size_t>(rb) * kParts * kTileBytes;
        const bool two_r = rb + 1 < nrb;
        float* cc = c + rb * kTile;
        const bool first = s0 == 0;
        if (two_t && two_r) {
          block<kParts, 2, 2>(abuf, abuf + kAPart, wb, nrb, ks, cc, c_stride, first);
        } else if (two_t) {
          block<kParts, 2, 1>(abuf, abuf + kAPart, wb, nrb, ks, cc, c_stride, first);
        } else if (two_r) {
          block<kParts, 1, 2>(abuf, abuf + kAPart, wb, nrb, ks, cc, c_stride, first);
        } else {
          block<kParts, 1, 1>(abuf, abuf + kAPart, wb, nrb, ks, cc, c_stride, first);
        }
      }
    }
  }
  for (int t = 0; t < nt; t++) {
    std::copy_n(cbuf + static_cast<size_t>(t) * c_cols, nr, y + t * ldy);
  }
}

}  // namespace

void gemm_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
              float* y, int64_t ldy) {
  avx512::gemm_f32(n, nr, nt, w, ws, a, as, y, ldy);
}

void gemm_f16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                  float* y, int64_t ldy) {
  if (nt < kMinTokens) return avx512::gemm_f16_f32(n, nr, nt, w, ws, a, as, y, ldy);
  gemm_tiles<F16Split>(n, nr, nt, static_cast<const uint8_t*>(w), ws,
                       static_cast<const uint8_t*>(a), as, y, ldy);
}

void gemm_bf16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                   float* y, int64_t ldy) {
  if (nt < kMinTokens) return avx512::gemm_bf16_f32(n, nr, nt, w, ws, a, as, y, ldy);
  gemm_tiles<BF16Plain>(n, nr, nt, static_cast<const uint8_t*>(w), ws,
                        static_cast<const uint8_t*>(a), as, y, ldy);
}

}  // namespace ops::amx
