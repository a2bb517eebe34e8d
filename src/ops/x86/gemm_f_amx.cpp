// AMX BF16 tile kernels (Kernels::gemm) for F16 and BF16 weights with F32 activations.
//
// Accuracy: one bf16 rounding of each operand would cost ~2^-8 per product (worse than the
// F16 activations llama.cpp uses), so both operands are split into bf16 pairs and the dot is
// a sum of exact bf16 products accumulated in FP32 tiles:
//   F16 weight  w = w_hi + w_lo exactly (w_hi = bf16(w); the 11-bit significand leaves at most
//               4 bits for w_lo, and every F16 value, subnormals included, is a normal number
//               in bf16's FP32 exponent range);
//   F32 activation a = a_hi + a_lo, a_hi = bf16(a), a_lo = bf16(a - a_hi) (a - a_hi is exact;
//               16 significant bits in all);
//   dot = a_hi*w_hi + a_hi*w_lo + a_lo*w_hi: 3 TDPBF16PS per K step. The dropped a_lo*w_lo
//               and the rounding of a_lo are each <= 2^-16 |a w|, so every product is within
//               2^-15 of exact before the FP32 sum (F16 activations: 2^-11). BF16 weights are
//               exact in bf16: a_hi*w + a_lo*w, within 2^-16.
// F32 weights stay on the AVX-512 FMA tiles (exactness would need three parts per operand).
// Inf/NaN inputs are not supported (a_lo = inf - inf).
//
// Layout: C tiles hold 16 tokens x 16 weight rows of FP32 sums (y is token-major), A tiles 16
// tokens x 32 K of bf16 activations in natural order, B tiles the weight rows in the VNNI pair
// layout B[k/2][2*row + k%2] (a 16x16 dword transpose of the F16/BF16 pairs). Per call the
// chunk's weights are repacked once (hi, lo); then per group of 128 tokens, K runs in blocks of
// kBlockSteps x 32 and 32 tokens at a time: the block's activations are split into a small
// buffer and 2x2 C tiles (32 tokens x 32 rows) accumulate over it, parked in an FP32 scratch
// between blocks (exact: tiles store FP32) and stored into y after the last. Measured on this
// CPU, the tile unit and the AVX-512 splitting do not overlap, so the cost is their sum: the
// split (~0.1 ns per activation per call from L1, ~0.2 from L3) is about half the time at 512
// tokens; it is redone for every 64-row chunk (splitting once per matmul needs the driver).
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _undefined() helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>

#include "ops/scratch.h"
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kTile = 16;       // tile rows (tokens or K pairs) and FP32 columns
constexpr int kStepK = 32;      // K per TDPBF16PS (16 rows of 64 bytes of bf16)
constexpr int kBlockSteps = 4;  // K steps per block: 64 rows x 128 K x hi/lo = 32 KiB of B
constexpr int kTileBytes = 1024;
constexpr int kGroupTokens = 128;  // tokens whose activations/sums stay in cache over all K
// Fewer tokens: the AVX-512 tiles win (measured crossover per 64-row chunk: ~12 tokens for
// rows of <= 256, e.g. attention heads, ~20 for longer rows where the weight repack dominates).
int min_tokens(int64_t n) { return n <= 256 ? 12 : 20; }

// Per-thread scratch: packed weights, split activations, FP32 tile outputs.
thread_local ScratchBuf<> t_wbuf, t_abuf, t_cbuf;

// bf16 values (words of a packed vector, 16 from offset `half` * 16) widened to FP32 exactly.
inline __m512 widen_bf16(__m512i packed, int half) {
  const __m256i h = half ? _mm512_extracti64x4_epi64(packed, 1) : _mm512_castsi512_si256(packed);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// 32 FP32 values (x0 = first 16) -> bf16 hi = round-to-nearest-even(x) and lo = bf16(x - hi)
// (x - hi is exact in FP32), packed in the same order. Finite inputs only.
inline void split32(__m512 x0, __m512 x1, __m512i* hi, __m512i* lo) {
  *hi = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
  const __m512 r0 = _mm512_sub_ps(x0, widen_bf16(*hi, 0));
  const __m512 r1 = _mm512_sub_ps(x1, widen_bf16(*hi, 1));
  *lo = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);
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
        r[i] =
            row < nr ? _mm512_maskz_loadu_epi16(km, w + row * ws + k0 * 2) : _mm512_setzero_si512();
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

// Splits the activations of tokens [t0, t0 + 32) x K steps [s0, s0 + ks) into hi and lo A rows
// (row stride kBlockSteps * 64 bytes; tokens past nt and K past n are zeros), a few token rows
// per slice() so the vector work runs while the tile unit multiplies the previous block.
struct ActPacker {
  const uint8_t* act = nullptr;
  size_t as = 0;
  int nt = 0;
  int64_t n = 0;
  int t0 = 0;
  int64_t s0 = 0;
  int ks = 0;
  uint8_t* hi = nullptr;
  uint8_t* lo = nullptr;
  int next = 2 * kTile;  // next token row to split (32 = done)
  int per_slice = 0;
  const uint8_t* prefetch = nullptr;  // same block of the item after this one (hides latency)

  void rows(int i1) {
    constexpr int kRow = kBlockSteps * 64;
    for (; next < i1; next++) {
      const int i = next, t = t0 + i;
      const float* a = reinterpret_cast<const float*>(act + t * as);
      if (prefetch != nullptr) {
        for (int l = 0; l < kBlockSteps * 2; l++)
          _mm_prefetch(reinterpret_cast<const char*>(prefetch + i * as + l * 64), _MM_HINT_T0);
      }
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
  void slice() { rows(std::min(2 * kTile, next + per_slice)); }
  void finish() { rows(2 * kTile); }
};

// Tile registers: C(tt, rt) = 2 * tt + rt (0..3), A = 4, 5, B = 6, 7.
#define OPS_DP(c, a, b) _tile_dpbf16ps(c, a, b)

// Where the last K block's sums go: whole tiles straight to y, the rest to the scratch.
struct YOut {
  float* y = nullptr;  // (token 0, row 0) of the block in y; nullptr before the last K block
  int64_t ldy = 0;
  bool whole_t[2] = {}, whole_r[2] = {};  // token / row tile lies entirely inside nt / nr
};

// ks K steps of a T x R block of C tiles (T token tiles, R row tiles, each 1 or 2).
// a_hi/a_lo: A rows of the first token tile; wb: B tiles of the first row tile at step 0;
// c: FP32 sums of (token 0, row 0) with row stride c_stride bytes.
template <int kParts, int T, int R>
void block(const uint8_t* a_hi, const uint8_t* a_lo, const uint8_t* wb, int nrb, int ks, float* c,
           size_t c_stride, bool first, const YOut& out, ActPacker& next) {
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
    next.slice();
  }
#define OPS_STORE(i, tt, rt)                                                               \
  do {                                                                                     \
    if (out.y != nullptr && out.whole_t[tt] && out.whole_r[rt]) {                          \
      _tile_stored(i, out.y + (tt)*kTile * out.ldy + (rt)*kTile, out.ldy * sizeof(float)); \
    } else {                                                                               \
      _tile_stored(i, ((tt) ? c1 : c) + (rt)*kTile, c_stride);                             \
    }                                                                                      \
  } while (0)
  OPS_STORE(0, 0, 0);
  if (R == 2) OPS_STORE(1, 0, 1);
  if (T == 2) OPS_STORE(2, 1, 0);
  if (T == 2 && R == 2) OPS_STORE(3, 1, 1);
#undef OPS_STORE
}
#undef OPS_DP

template <class W>
void gemm_tiles(int64_t n, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                size_t as, float* y, int64_t ldy) {
  constexpr int kParts = W::kParts;
  TileConfig cfg;
  for (int i = 0; i < 8; i++) cfg.tile(i, kTile, 64);
  use_tile_config(cfg);

  const int nrb = (nr + kTile - 1) / kTile;            // row tiles
  const int ntp = (nt + 2 * kTile - 1) / (2 * kTile);  // 32-token pairs of tiles
  const int64_t steps = (n + kStepK - 1) / kStepK;
  const int c_cols = nrb * kTile;  // FP32 scratch row (one token)
  const size_t c_stride = static_cast<size_t>(c_cols) * sizeof(float);
  const size_t w_step = static_cast<size_t>(nrb) * kParts * kTileBytes;  // B bytes per K step
  uint8_t* wbuf = t_wbuf.get(w_step * steps, "AMX gemm scratch");
  constexpr size_t kAPart = 2 * kTile * kBlockSteps * 64;
  uint8_t* abuf = t_abuf.get(4 * kAPart, "AMX gemm scratch");  // two items x (hi, lo)
  auto* cbuf = reinterpret_cast<float*>(t_cbuf.get(c_stride * ntp * 2 * kTile, "AMX gemm scratch"));

  // All of the chunk's weights once (re-read per token group from L2), then token groups of
  // kGroupTokens so the group's activation rows and FP32 sums stay cache-resident over K.
  // Work items (K block, 32 tokens) run in order; item i + 1's activations are split (into
  // the other half of abuf) while item i's tiles multiply.
  pack_weights<W>(w, ws, nr, n, 0, static_cast<int>(steps), nrb, wbuf);
  const int n_rpairs = (nrb + 1) / 2;
  for (int g0 = 0; g0 < nt; g0 += kGroupTokens) {
    const int g_pairs = (std::min(nt, g0 + kGroupTokens) - g0 + 2 * kTile - 1) / (2 * kTile);
    const int64_t n_kb = (steps + kBlockSteps - 1) / kBlockSteps;
    const int64_t n_items = n_kb * g_pairs;
    auto packer_for = [&](int64_t item, ActPacker& p) {
      const int64_t s0 = item / g_pairs * kBlockSteps;
      uint8_t* buf = abuf + (item & 1) * 2 * kAPart;
      p = ActPacker{act,
                    as,
                    nt,
                    n,
                    g0 + static_cast<int>(item % g_pairs) * 2 * kTile,
                    s0,
                    static_cast<int>(std::min<int64_t>(kBlockSteps, steps - s0)),
                    buf,
                    buf + kAPart,
                    0,
                    0};
      p.per_slice = (2 * kTile + n_rpairs * p.ks - 1) / (n_rpairs * p.ks);
      if (item + 1 < n_items) {  // rows past nt or K past n are never read, only prefetched
        const int64_t s1 = (item + 1) / g_pairs * kBlockSteps;
        const int t1 = g0 + static_cast<int>((item + 1) % g_pairs) * 2 * kTile;
        if (t1 + 2 * kTile <= nt && (s1 + kBlockSteps) * kStepK <= n)
          p.prefetch = act + t1 * as + s1 * kStepK * sizeof(float);
      }
    };
    ActPacker next;
    packer_for(0, next);
    next.finish();
    for (int64_t item = 0; item < n_items; item++) {
      const ActPacker cur = next;
      if (item + 1 < n_items) {
        packer_for(item + 1, next);
      } else {
        next = ActPacker{};
      }
      const int t0 = cur.t0;
      const int ks = cur.ks;
      const bool first = cur.s0 == 0;
      const uint8_t* wblk = wbuf + cur.s0 * w_step;
      const bool two_t = nt - t0 > kTile;
      float* c = cbuf + static_cast<size_t>(t0) * c_cols;
      YOut out;
      if (cur.s0 + ks == steps) {
        out.y = y + t0 * ldy;
        out.ldy = ldy;
        out.whole_t[0] = t0 + kTile <= nt;
        out.whole_t[1] = t0 + 2 * kTile <= nt;
      }
      for (int rb = 0; rb < nrb; rb += 2) {
        const uint8_t* wb = wblk + static_cast<size_t>(rb) * kParts * kTileBytes;
        const bool two_r = rb + 1 < nrb;
        float* cc = c + rb * kTile;
        if (out.y != nullptr) {
          out.whole_r[0] = (rb + 1) * kTile <= nr;
          out.whole_r[1] = (rb + 2) * kTile <= nr;
        }
        YOut o = out;
        if (o.y != nullptr) o.y += rb * kTile;
        if (two_t && two_r) {
          block<kParts, 2, 2>(cur.hi, cur.lo, wb, nrb, ks, cc, c_stride, first, o, next);
        } else if (two_t) {
          block<kParts, 2, 1>(cur.hi, cur.lo, wb, nrb, ks, cc, c_stride, first, o, next);
        } else if (two_r) {
          block<kParts, 1, 2>(cur.hi, cur.lo, wb, nrb, ks, cc, c_stride, first, o, next);
        } else {
          block<kParts, 1, 1>(cur.hi, cur.lo, wb, nrb, ks, cc, c_stride, first, o, next);
        }
      }
      next.finish();
    }
  }
  // Sums of partial tiles (tokens past the last whole 16, rows past the last whole 16).
  const int nt_whole = nt / kTile * kTile, nr_whole = nr / kTile * kTile;
  for (int t = 0; t < nt; t++) {
    const int r0 = t < nt_whole ? nr_whole : 0;
    const float* src = cbuf + static_cast<size_t>(t) * c_cols;
    std::copy(src + r0, src + nr, y + t * ldy + r0);
  }
}

}  // namespace

void gemm_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
              float* y, int64_t ldy) {
  avx512::gemm_f32(n, nr, nt, w, ws, a, as, y, ldy);
}

void gemm_f16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                  float* y, int64_t ldy) {
  if (nt < min_tokens(n)) return avx512::gemm_f16_f32(n, nr, nt, w, ws, a, as, y, ldy);
  gemm_tiles<F16Split>(n, nr, nt, static_cast<const uint8_t*>(w), ws,
                       static_cast<const uint8_t*>(a), as, y, ldy);
}

void gemm_bf16_f32(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as,
                   float* y, int64_t ldy) {
  if (nt < min_tokens(n)) return avx512::gemm_bf16_f32(n, nr, nt, w, ws, a, as, y, ldy);
  gemm_tiles<BF16Plain>(n, nr, nt, static_cast<const uint8_t*>(w), ws,
                        static_cast<const uint8_t*>(a), as, y, ldy);
}

}  // namespace ops::amx
