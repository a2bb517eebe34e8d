// AMX int8 tile kernels (Kernels::gemm) for the 32-element block types with Q8_0 activations.
// Per call (one chunk of <= 64 weight rows): the chunk's weights are repacked once into signed
// int8 B tiles (16 rows x one block, VNNI layout) plus float scales (and mins). Each block is one
// TDPBSSD of an A tile read straight from 16 Q8_0 activation rows; the per-block scales make a
// float epilogue per block necessary (C tile -> memory -> cvt, * weight scale * activation scale,
// accumulate in 16 zmm). Two C tiles alternate so the TMUL runs while AVX-512 does the
// epilogue of the previous block. Integer block dots are exact; only float summation order
// differs from the scalar twins. Few tokens, and rows past the last whole 16, go to the AVX-512
// VNNI tiles.
#include <cstdlib>
#include <cstring>

#include "ops/blocks.h"
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kTile = 16;            // tokens per A tile, weight rows per B tile
constexpr int kBTileBytes = 512;     // 8 rows x 64 bytes: 16 weight rows x 32 codes
constexpr int kMinTokens = 16;       // fewer tokens in a call: VNNI tiles
constexpr int kMinTailTokens = 4;    // fewer tokens in the last partial tile: VNNI tiles
constexpr size_t kActScaleOff = 0;   // BlockQ8_0::d
constexpr size_t kActCodeOff = 2;    // BlockQ8_0::qs
constexpr size_t kActBlock = sizeof(BlockQ8_0);

// Per-thread scratch for the packed weights; grows, never shrinks.
class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  uint8_t* get(size_t bytes) {
    if (bytes > cap_) {
      std::free(p_);
      cap_ = (bytes + 4095) / 4096 * 4096;
      p_ = static_cast<uint8_t*>(std::aligned_alloc(64, cap_));
      if (p_ == nullptr) {
        cap_ = 0;
        return nullptr;  // caller falls back to the VNNI tiles
      }
      std::memset(p_, 0, cap_);  // tail tiles read (and discard) rows never stored
    }
    return p_;
  }

 private:
  uint8_t* p_ = nullptr;
  size_t cap_ = 0;
};
thread_local Scratch t_scratch;

inline __m512i gather32(__m512i offs, const uint8_t* base) {
  return _mm512_i32gather_epi32(offs, base, 1);
}
// Low 16 bits of each dword as fp16 -> float.
inline __m512 half_lo(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }
inline __m512 half_hi(__m512i v) { return half_lo(_mm512_srli_epi32(v, 16)); }

// 4 code bytes per dword -> low nibbles and high nibbles as bytes.
inline __m512i lo_nib(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0f)); }
inline __m512i hi_nib(__m512i v) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 4), _mm512_set1_epi8(0x0f));
}

// Adds 16 to the code bytes of B row k4 (codes 4*k4 .. 4*k4+3) whose bit in qh (one dword per
// weight row) is set.
inline __m512i add_hbit(__m512i v, __m512i qh, int k4) {
  // Byte i of each dword <- qh byte k4/2; test bit 4*(k4%2)+i.
  const __m512i lanes = _mm512_set_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c,
                                         0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808,
                                         0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0);
  const __m512i idx = _mm512_add_epi8(lanes, _mm512_set1_epi8(static_cast<char>(k4 / 2)));
  const __m512i bytes = _mm512_shuffle_epi8(qh, idx);
  const __m512i bit = _mm512_set1_epi32(k4 % 2 ? static_cast<int>(0x80402010) : 0x08040201);
  const __mmask64 k = _mm512_test_epi8_mask(bytes, bit);
  return _mm512_mask_add_epi8(v, k, v, _mm512_set1_epi8(16));
}

// Type policies: pack one block of 16 weight rows (row r at p + offs[r]) into a B tile
// b[k/4][4 * r + k % 4] = signed code k of row r, its scales d[16] and (kMin) mins m[16].
struct Q40 {
  static constexpr int kSb = sizeof(BlockQ4_0);
  static constexpr bool kMin = false;
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float*) {
    _mm512_store_ps(d, half_lo(gather32(offs, p)));
    const __m512i eight = _mm512_set1_epi8(8);
    for (int j = 0; j < 4; j++) {
      const __m512i q = gather32(offs, p + 2 + 4 * j);
      _mm512_store_si512(b + 64 * j, _mm512_sub_epi8(lo_nib(q), eight));
      _mm512_store_si512(b + 64 * (j + 4), _mm512_sub_epi8(hi_nib(q), eight));
    }
  }
};
struct Q41 {
  static constexpr int kSb = sizeof(BlockQ4_1);
  static constexpr bool kMin = true;
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float* m) {
    const __m512i dm = gather32(offs, p);
    _mm512_store_ps(d, half_lo(dm));
    _mm512_store_ps(m, half_hi(dm));
    for (int j = 0; j < 4; j++) {
      const __m512i q = gather32(offs, p + 4 + 4 * j);
      _mm512_store_si512(b + 64 * j, lo_nib(q));
      _mm512_store_si512(b + 64 * (j + 4), hi_nib(q));
    }
  }
};
struct Q50 {
  static constexpr int kSb = sizeof(BlockQ5_0);
  static constexpr bool kMin = false;
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float*) {
    _mm512_store_ps(d, half_lo(gather32(offs, p)));
    const __m512i qh = gather32(offs, p + 2);
    const __m512i sixteen = _mm512_set1_epi8(16);
    for (int j = 0; j < 4; j++) {
      const __m512i q = gather32(offs, p + 6 + 4 * j);
      _mm512_store_si512(b + 64 * j, _mm512_sub_epi8(add_hbit(lo_nib(q), qh, j), sixteen));
      _mm512_store_si512(b + 64 * (j + 4),
                         _mm512_sub_epi8(add_hbit(hi_nib(q), qh, j + 4), sixteen));
    }
  }
};
struct Q51 {
  static constexpr int kSb = sizeof(BlockQ5_1);
  static constexpr bool kMin = true;
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float* m) {
    const __m512i dm = gather32(offs, p);
    _mm512_store_ps(d, half_lo(dm));
    _mm512_store_ps(m, half_hi(dm));
    const __m512i qh = gather32(offs, p + 4);
    for (int j = 0; j < 4; j++) {
      const __m512i q = gather32(offs, p + 8 + 4 * j);
      _mm512_store_si512(b + 64 * j, add_hbit(lo_nib(q), qh, j));
      _mm512_store_si512(b + 64 * (j + 4), add_hbit(hi_nib(q), qh, j + 4));
    }
  }
};
struct Q80 {
  static constexpr int kSb = sizeof(BlockQ8_0);
  static constexpr bool kMin = false;
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float*) {
    _mm512_store_ps(d, half_lo(gather32(offs, p)));
    for (int j = 0; j < 8; j++) _mm512_store_si512(b + 64 * j, gather32(offs, p + 2 + 4 * j));
  }
};

// One block of one token tile x one weight tile: C = A . B, stored to c (16 x 16 int32). A
// macro: GCC's tile intrinsics paste the tile number into the assembly.
#define OPS_TILE_BLOCK(kA, kB, kC, a, a_stride, b, c) \
  do {                                              \
    _tile_loadd(kA, a, a_stride);                   \
    _tile_loadd(kB, b, 64);                         \
    _tile_zero(kC);                                 \
    _tile_dpbssd(kC, kA, kB);                       \
    _tile_stored(kC, c, 64);                        \
  } while (0)

struct TileArgs {
  int64_t nb;
  const uint8_t* a;   // codes of block 0 of the tile's first token
  size_t a_stride;
  const int8_t* b;    // [nb][512] packed weights of this 16-row tile
  const float* d;     // [nb][16] weight scales
  const float* m;     // [nb][16] weight mins (kMin)
  const float* as;    // [nb][16] activation scales of the tile's tokens
  const float* ca;    // [nb][16] activation scale * code sum (kMin)
  int32_t* cbuf;      // 2 x [16][16]
};

// acc[t] += C[t] * (d * as[t]) (+ m * ca[t]) for block blk, C stored at c.
template <bool kMin>
inline void epilogue(const TileArgs& g, int64_t blk, const int32_t* c, __m512 (&acc)[kTile]) {
  const __m512 dw = _mm512_load_ps(g.d + 16 * blk);
  const float* as = g.as + 16 * blk;
#pragma GCC unroll 16
  for (int t = 0; t < kTile; t++) {
    const __m512 ci = _mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * t));
    acc[t] = _mm512_fmadd_ps(ci, _mm512_mul_ps(dw, _mm512_set1_ps(as[t])), acc[t]);
  }
  if constexpr (kMin) {
    const __m512 mw = _mm512_load_ps(g.m + 16 * blk);
    const float* ca = g.ca + 16 * blk;
#pragma GCC unroll 16
    for (int t = 0; t < kTile; t++) acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ca[t]), acc[t]);
  }
}

// y[t * ldy + r] for the tile's mt tokens and 16 weight rows. Tiles 0/1 = A, 2/3 = B, 4/5 = C
// alternate between even and odd blocks.
template <bool kMin>
void tile_pass(const TileArgs& g, int mt, float* y, int64_t ldy) {
  __m512 acc[kTile];
#pragma GCC unroll 16
  for (int t = 0; t < kTile; t++) acc[t] = _mm512_setzero_ps();
  int32_t* c0 = g.cbuf;
  int32_t* c1 = g.cbuf + 256;
  auto a_of = [&](int64_t blk) { return g.a + blk * kActBlock; };
  auto b_of = [&](int64_t blk) { return g.b + blk * kBTileBytes; };
  OPS_TILE_BLOCK(0, 2, 4, a_of(0), g.a_stride, b_of(0), c0);
  int64_t blk = 1;
  for (; blk + 1 < g.nb; blk += 2) {
    OPS_TILE_BLOCK(1, 3, 5, a_of(blk), g.a_stride, b_of(blk), c1);
    epilogue<kMin>(g, blk - 1, c0, acc);
    OPS_TILE_BLOCK(0, 2, 4, a_of(blk + 1), g.a_stride, b_of(blk + 1), c0);
    epilogue<kMin>(g, blk, c1, acc);
  }
  if (blk == g.nb - 1) {
    OPS_TILE_BLOCK(1, 3, 5, a_of(blk), g.a_stride, b_of(blk), c1);
    epilogue<kMin>(g, blk - 1, c0, acc);
    epilogue<kMin>(g, blk, c1, acc);
  } else {
    epilogue<kMin>(g, g.nb - 1, c0, acc);
  }
  for (int t = 0; t < mt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}
#undef OPS_TILE_BLOCK

// as[blk][t] = activation scale of token t (mt valid, rest 0); for kMin also ca = as * sum of
// the block's codes (one TDPBSSD against a B tile of ones per block, tiles 0/2/4).
template <bool kMin>
void token_scales(const uint8_t* act, size_t act_stride, int mt, int64_t nb, float* as,
                  float* ca, int32_t* cbuf, const int8_t* ones) {
  const __m512i offs = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
                                                           4, 3, 2, 1, 0),
                                          _mm512_set1_epi32(static_cast<int>(act_stride)));
  const __mmask16 valid = static_cast<__mmask16>((1u << mt) - 1);
  const __m512i rows16 = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(16));
  if constexpr (kMin) _tile_loadd(2, ones, 64);
  for (int64_t blk = 0; blk < nb; blk++) {
    const uint8_t* p = act + blk * kActBlock;
    const __m512i dv =
        _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offs, p + kActScaleOff, 1);
    const __m512 s = half_lo(dv);
    _mm512_store_ps(as + 16 * blk, s);
    if constexpr (kMin) {
      _tile_loadd(0, p + kActCodeOff, act_stride);
      _tile_zero(4);
      _tile_dpbssd(4, 0, 2);
      _tile_stored(4, cbuf, 64);
      const __m512i sum = _mm512_i32gather_epi32(rows16, cbuf, 4);
      _mm512_store_ps(ca + 16 * blk, _mm512_mul_ps(s, _mm512_cvtepi32_ps(sum)));
    }
  }
}

TileConfig tile_config(int mt) {
  TileConfig cfg;
  cfg.tile(0, mt, 32).tile(1, mt, 32);  // A: tokens x one block of codes
  cfg.tile(2, 8, 64).tile(3, 8, 64);    // B: 32 codes / 4 x 16 rows * 4 bytes
  cfg.tile(4, mt, 64).tile(5, mt, 64);  // C: tokens x 16 int32
  return cfg;
}

template <class P>
void gemm(int64_t n, int nr, int nt, const void* vw, size_t w_stride, const void* vact,
          size_t act_stride, float* y, int64_t ldy,
          void (*fallback)(int64_t, int, int, const void*, size_t, const void*, size_t, float*,
                           int64_t)) {
  const int n_wtiles = nr / kTile;
  const int64_t nb = n / 32;
  const auto* w = static_cast<const uint8_t*>(vw);
  const auto* act = static_cast<const uint8_t*>(vact);
  // Layout: packed B [n_wtiles][nb][512], d/m [n_wtiles][nb][16], as/ca [nb][16], C 2 x 1 KiB,
  // a B tile of ones.
  const size_t b_bytes = static_cast<size_t>(n_wtiles) * nb * kBTileBytes;
  const size_t dm_bytes = static_cast<size_t>(n_wtiles) * nb * 64;
  const size_t tok_bytes = static_cast<size_t>(nb) * 64;
  uint8_t* buf = nt >= kMinTokens && n_wtiles > 0
                     ? t_scratch.get(b_bytes + 2 * dm_bytes + 2 * tok_bytes + 2048 + kBTileBytes)
                     : nullptr;
  if (buf == nullptr) {
    fallback(n, nr, nt, vw, w_stride, vact, act_stride, y, ldy);
    return;
  }
  const int rows = n_wtiles * kTile;
  if (rows < nr) {
    fallback(n, nr - rows, nt, w + rows * w_stride, w_stride, vact, act_stride, y + rows, ldy);
  }
  auto* pb = reinterpret_cast<int8_t*>(buf);
  auto* pd = reinterpret_cast<float*>(buf + b_bytes);
  auto* pm = reinterpret_cast<float*>(buf + b_bytes + dm_bytes);
  auto* as = reinterpret_cast<float*>(buf + b_bytes + 2 * dm_bytes);
  auto* ca = reinterpret_cast<float*>(buf + b_bytes + 2 * dm_bytes + tok_bytes);
  auto* cbuf = reinterpret_cast<int32_t*>(buf + b_bytes + 2 * dm_bytes + 2 * tok_bytes);
  auto* ones = reinterpret_cast<int8_t*>(cbuf + 512);  // B tile of ones: code sums (kMin)
  if constexpr (P::kMin) std::memset(ones, 1, kBTileBytes);

  const __m512i offs =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(static_cast<int>(w_stride)));
  for (int j = 0; j < n_wtiles; j++) {
    const uint8_t* wt = w + static_cast<size_t>(j) * kTile * w_stride;
    for (int64_t blk = 0; blk < nb; blk++) {
      const size_t i = static_cast<size_t>(j) * nb + blk;
      P::pack(wt + blk * P::kSb, offs, pb + i * kBTileBytes, pd + i * 16, pm + i * 16);
    }
  }

  for (int t0 = 0; t0 < nt; t0 += kTile) {
    const int mt = nt - t0 < kTile ? nt - t0 : kTile;
    const uint8_t* at = act + static_cast<size_t>(t0) * act_stride;
    if (mt < kMinTailTokens) {
      fallback(n, rows, mt, vw, w_stride, at, act_stride, y + t0 * ldy, ldy);
      continue;
    }
    use_tile_config(tile_config(mt));
    token_scales<P::kMin>(at, act_stride, mt, nb, as, ca, cbuf, ones);
    for (int j = 0; j < n_wtiles; j++) {
      const size_t i = static_cast<size_t>(j) * nb;
      const TileArgs g{nb,         at + kActCodeOff, act_stride, pb + i * kBTileBytes,
                       pd + i * 16, pm + i * 16,     as,         ca,
                       cbuf};
      tile_pass<P::kMin>(g, mt, y + t0 * ldy + j * kTile, ldy);
    }
  }
}

}  // namespace

#define OPS_AMX_GEMM(name, P)                                                              \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    gemm<P>(n, nr, nt, w, ws, a, as, y, ldy, avx512vnni::name);                            \
  }
OPS_AMX_GEMM(gemm_q4_0_q8_0, Q40)
OPS_AMX_GEMM(gemm_q4_1_q8_0, Q41)
OPS_AMX_GEMM(gemm_q5_0_q8_0, Q50)
OPS_AMX_GEMM(gemm_q5_1_q8_0, Q51)
OPS_AMX_GEMM(gemm_q8_0_q8_0, Q80)
#undef OPS_AMX_GEMM

}  // namespace ops::amx
