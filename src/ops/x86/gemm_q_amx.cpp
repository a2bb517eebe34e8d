// AMX int8 tile kernels (Kernels::gemm) for the 32-element block types with Q8_0 activations.
// Per call (one chunk of <= 64 weight rows): the chunk's weights are repacked once into signed
// int8 B tiles (16 rows x one block, VNNI layout) plus float scales (and mins). Each block is one
// TDPBSSD of an A tile read straight from 16 Q8_0 activation rows; the per-block scales make a
// float epilogue per block necessary (C tile -> memory -> cvt, * weight scale * activation scale,
// accumulate in 16 zmm). Four C tiles rotate and each epilogue runs four blocks after its TMUL,
// so the tile unit and AVX-512 overlap. Q8_0 with 8..16 tokens (batched decode) swaps the roles
// instead (weights in place as A, tokens packed as B: see gemm_few). Integer block dots are
// exact; only float summation order differs from the scalar twins. Fewer than 8 tokens, and rows
// past the last whole 16, go to the AVX-512 VNNI tiles.
#include <cstring>
#include <utility>

#include "ops/blocks.h"
#include "ops/scratch.h"
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {
namespace {

constexpr int kTile = 16;         // tokens per A tile, weight rows per B tile
constexpr int kBTileBytes = 512;  // 8 rows x 64 bytes: 16 weight rows x 32 codes
// Batched decode: prefetch the weight rows kPrefetchBlocks blocks ahead, once per
// kPrefetchEvery blocks (about one cache line of codes).
constexpr int kPrefetchMaxTokens = 32, kPrefetchBlocks = 8, kPrefetchEvery = 4;
constexpr int kMinTokens = 8;      // fewer tokens in a call: VNNI tiles (equal at 8 when the
                                   // weights stream from memory, 1.6x when cached)
constexpr int kMinTailTokens = 3;  // fewer in the last partial tile: VNNI (weights packed)
constexpr int kLag = 4;  // blocks between a TMUL and its epilogue: 2..5 (C stored one block
                         // late, 4 C tiles and buffers)
static_assert(kLag >= 2 && kLag <= 5);
constexpr size_t kActScaleOff = 0;  // BlockQ8_0::d
constexpr size_t kActCodeOff = 2;   // BlockQ8_0::qs
constexpr size_t kActBlock = sizeof(BlockQ8_0);

// Per-thread scratch for the packed weights (nullptr: fall back to the VNNI tiles). Zeroed
// when allocated: tail tiles read (and discard) rows never stored.
thread_local ScratchBuf<> t_scratch;

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
  static constexpr bool kFew = false;  // row-major unpack in the pass: no faster than packing
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
  static constexpr bool kFew = false;
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
  static constexpr bool kFew = false;
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
  static constexpr bool kFew = false;
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
  static constexpr bool kFew = true;
  // Few-token path: the A tile reads the codes in place.
  static const uint8_t* a_rows(const uint8_t* p, size_t ws, __m512i offs, float* d,
                               int64_t* stride) {
    _mm512_store_ps(d, half_lo(gather32(offs, p)));
    *stride = static_cast<int64_t>(ws);
    return p + 2;
  }
  static void pack(const uint8_t* p, __m512i offs, int8_t* b, float* d, float*) {
    _mm512_store_ps(d, half_lo(gather32(offs, p)));
    for (int j = 0; j < 8; j++) _mm512_store_si512(b + 64 * j, gather32(offs, p + 2 + 4 * j));
  }
};

// Tile instructions as inline asm with exact memory operands. GCC's _tile_stored clobbers all
// memory, which forces the float accumulators out of registers; its _tile_loadd declares no
// memory input at all (nothing orders it after the stores that packed the weights).
#define OPS_TILE_LOAD(tmm, base, stride) \
  asm volatile("tileloadd (%0,%1,1), %%tmm" #tmm ::"r"(base), "r"(static_cast<int64_t>(stride)))
#define OPS_TILE_LOAD_B(tmm, ptr)                                         \
  asm volatile("tileloadd (%1,%2,1), %%tmm" #tmm ::"m"(                   \
                   *reinterpret_cast<const int8_t(*)[kBTileBytes]>(ptr)), \
               "r"(ptr), "r"(int64_t{64}))
#define OPS_TILE_STORE_C(tmm, ptr)                                       \
  asm volatile("tilestored %%tmm" #tmm ", (%1,%2,1)"                     \
               : "=m"(*reinterpret_cast<int32_t(*)[kTile * kTile]>(ptr)) \
               : "r"(ptr), "r"(int64_t{64}))
#define OPS_TILE_ZERO(tmm) asm volatile("tilezero %%tmm" #tmm ::)
#define OPS_TILE_DPBSSD(c, a, b) asm volatile("tdpbssd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

// Stores the C tile of block blk (tiles 4..7 in rotation) into its ring slot of cbuf.
inline void store_c_ring(int32_t* cbuf, int64_t blk) {
  int32_t* c = cbuf + 256 * (blk & 3);
  switch (blk & 3) {
    case 0:
      OPS_TILE_STORE_C(4, c);
      break;
    case 1:
      OPS_TILE_STORE_C(5, c);
      break;
    case 2:
      OPS_TILE_STORE_C(6, c);
      break;
    default:
      OPS_TILE_STORE_C(7, c);
      break;
  }
}

// Block product C = A . B (tile numbers as literals: the asm pastes them).
#define OPS_TILE_MUL(kA, kB, kC, a, a_stride, b) \
  do {                                           \
    OPS_TILE_LOAD(kA, a, a_stride);              \
    OPS_TILE_LOAD_B(kB, b);                      \
    OPS_TILE_ZERO(kC);                           \
    OPS_TILE_DPBSSD(kC, kA, kB);                 \
  } while (0)

struct TileArgs {
  int64_t nb;
  const uint8_t* a;  // codes of block 0 of the tile's first token (Q8_0 rows)
  int64_t a_stride;  // bytes between the tokens' rows
  const int8_t* b;   // [nb][512] packed weights of this 16-row tile
  const float* d;    // [nb][16] weight scales
  const float* m;    // [nb][16] weight mins (kMin)
  const float* as;   // [nb][16] activation scales of the tile's tokens
  const float* ca;   // [nb][16] activation scale * code sum (kMin)
  int32_t* cbuf;     // 4 x [16][16]
  float* as_out;     // = as, written by the first weight tile's pass (kScales)
  __m512i offs;      // token row offsets (t * a_stride)
  __mmask16 valid;   // tokens of the tile
};

// acc[t] += C[t] * (d * as[t]) (+ m * ca[t]) for block blk, C stored at c. Index packs (not
// loops) so every acc access has a constant index and the array lives in 16 zmm registers.
template <bool kMin, size_t... I>
[[gnu::always_inline]] inline void epilogue(const TileArgs& g, int64_t blk, const int32_t* c,
                                            __m512 (&acc)[kTile], std::index_sequence<I...>) {
  const __m512 dw = _mm512_load_ps(g.d + 16 * blk);
  const float* as = g.as + 16 * blk;
  ((acc[I] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * I)),
                             _mm512_mul_ps(dw, _mm512_set1_ps(as[I])), acc[I])),
   ...);
  if constexpr (kMin) {
    const __m512 mw = _mm512_load_ps(g.m + 16 * blk);
    const float* ca = g.ca + 16 * blk;
    ((acc[I] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ca[I]), acc[I])), ...);
  }
}

// y[t * ldy + r] for the tile's mt tokens and 16 weight rows. kScales (first weight tile of a
// token tile, offset types): also fills as[] with the tokens' scales, one 16-row gather per block
// right after the A tile pulled those rows into L1 (a separate pass over the rows cost ~10 %).
// Block blk runs on A tile blk % 2, B tile 2 + blk % 2 and C tile 4 + blk % 4; its C is stored
// to cbuf[blk % 4] one block later and its epilogue runs kLag blocks later, so the TMUL and the
// C store -> load round trip overlap the vector work.
template <bool kMin, bool kScales, size_t... I>
void tile_pass(const TileArgs& g, int mt, float* y, int64_t ldy, std::index_sequence<I...> seq) {
  __m512 acc[kTile];
  ((acc[I] = _mm512_setzero_ps()), ...);
  const int64_t as = g.a_stride;
  const int64_t nb = g.nb;
  for (int64_t blk = 0; blk < nb + kLag; blk++) {
    const int64_t e = blk - kLag;  // block whose epilogue runs now
    if (e >= 0) epilogue<kMin>(g, e, g.cbuf + 256 * (e & 3), acc, seq);
    if (blk < nb) {
      const uint8_t* a = g.a + blk * kActBlock;
      const int8_t* b = g.b + blk * kBTileBytes;
      switch (blk & 3) {
        case 0:
          OPS_TILE_MUL(0, 2, 4, a, as, b);
          break;
        case 1:
          OPS_TILE_MUL(1, 3, 5, a, as, b);
          break;
        case 2:
          OPS_TILE_MUL(0, 2, 6, a, as, b);
          break;
        default:
          OPS_TILE_MUL(1, 3, 7, a, as, b);
          break;
      }
      if constexpr (kScales) {  // first weight tile: this block's token scales, rows now in L1
        const __m512i dv = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), g.valid, g.offs,
                                                       a - kActCodeOff + kActScaleOff, 1);
        _mm512_store_ps(g.as_out + 16 * blk, half_lo(dv));
      }
    }
    // The previous block's C is stored only now, after this block's tile loads: a tile load
    // queued behind a store that waits for its TMUL would chain every block to the last.
    if (blk >= 1 && blk <= nb) {
      store_c_ring(g.cbuf, blk - 1);
    }
  }
  ((static_cast<int>(I) < mt ? _mm512_storeu_ps(y + I * ldy, acc[I]) : void()), ...);
}

// Q4_1/Q5_1 (min term): as[blk][t] = activation scale of token t (mt valid, rest 0) and
// ca = as * sum of the block's codes (one TDPBSSD against a B tile of ones per block, tiles
// 0/2/4). The fp16 scales are collected row by row into ash [nb][16]. (The offset types take
// their scales inside the first weight tile's pass instead.)
void min_type_scales(const uint8_t* act, size_t act_stride, int mt, int64_t nb, float* as,
                     float* ca, int32_t* cbuf, const int8_t* ones, uint16_t* ash) {
  for (int t = 0; t < kTile; t++) {
    const uint8_t* row = act + t * act_stride + kActScaleOff;
    if (t < mt) {
      for (int64_t blk = 0; blk < nb; blk++)
        std::memcpy(&ash[16 * blk + t], row + blk * kActBlock, 2);
    } else {
      for (int64_t blk = 0; blk < nb; blk++) ash[16 * blk + t] = 0;
    }
  }
  const __m512i rows16 =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(16));
  OPS_TILE_LOAD_B(2, ones);
  for (int64_t blk = 0; blk < nb; blk++) {
    const uint8_t* p = act + blk * kActBlock;
    const __m512 s =
        _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(ash + 16 * blk)));
    _mm512_store_ps(as + 16 * blk, s);
    OPS_TILE_LOAD(0, p + kActCodeOff, act_stride);
    OPS_TILE_ZERO(4);
    OPS_TILE_DPBSSD(4, 0, 2);
    OPS_TILE_STORE_C(4, cbuf);
    const __m512i sum = _mm512_i32gather_epi32(rows16, cbuf, 4);
    _mm512_store_ps(ca + 16 * blk, _mm512_mul_ps(s, _mm512_cvtepi32_ps(sum)));
  }
}

TileConfig tile_config(int mt) {
  TileConfig cfg;
  cfg.tile(0, mt, 32).tile(1, mt, 32);  // A: tokens x one block of codes
  cfg.tile(2, 8, 64).tile(3, 8, 64);    // B: 32 codes / 4 x 16 rows * 4 bytes
  cfg.tile(4, mt, 64).tile(5, mt, 64).tile(6, mt, 64).tile(7, mt, 64);  // C: tokens x 16 int32
  return cfg;
}

// ---- Few tokens (kMinTokens <= nt <= 16: batched decode) ----
// With a single token tile per call, repacking the chunk's weights into B tiles cost as much as
// the products. Here the tokens are packed once into B tiles (VNNI layout, one column per token)
// and the weight rows are the A operand, read in place (Q8_0: nt = 8 and 16 1.5x the packed path;
// an unpacked row-major copy per block for Q4_0 was no faster, so the 4/5-bit types keep packing).
// C[r][t]: the epilogue scales row r by (token scales * weight scale of row r).
struct FewArgs {
  int64_t nb;
  const int8_t* bact;  // [nb][512] token codes, VNNI layout (columns >= nt zero)
  const float* as;     // [nb][16] token scales
  float* dw;           // [nb][16] weight scales of the current row tile (filled in the pass)
  int32_t* cbuf;       // 4 x [16][16]
};

template <size_t... I>
[[gnu::always_inline]] inline void few_epilogue(const FewArgs& g, int64_t blk, const int32_t* c,
                                                __m512 (&acc)[kTile], std::index_sequence<I...>) {
  const __m512 sa = _mm512_load_ps(g.as + 16 * blk);
  const float* dw = g.dw + 16 * blk;
  ((acc[I] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * I)),
                             _mm512_mul_ps(sa, _mm512_set1_ps(dw[I])), acc[I])),
   ...);
}

// y[t * ldy + r] for 16 weight rows (row r at w0 + r * ws) and the call's nt tokens; the same
// block pipeline as tile_pass.
template <class P, size_t... I>
void few_pass(const FewArgs& g, const uint8_t* w0, size_t ws, __m512i woffs, int nt, float* y,
              int64_t ldy, std::index_sequence<I...> seq) {
  __m512 acc[kTile];
  ((acc[I] = _mm512_setzero_ps()), ...);
  for (int64_t blk = 0; blk < g.nb + kLag; blk++) {
    const int64_t e = blk - kLag;
    if (e >= 0) few_epilogue(g, e, g.cbuf + 256 * (e & 3), acc, seq);
    if (blk < g.nb) {
      int64_t as;
      const uint8_t* a = P::a_rows(w0 + blk * P::kSb, ws, woffs, g.dw + 16 * blk, &as);
      const int8_t* b = g.bact + blk * kBTileBytes;
      switch (blk & 3) {
        case 0:
          OPS_TILE_LOAD(0, a, as);
          OPS_TILE_LOAD_B(2, b);
          OPS_TILE_ZERO(4);
          OPS_TILE_DPBSSD(4, 0, 2);
          break;
        case 1:
          OPS_TILE_LOAD(1, a, as);
          OPS_TILE_LOAD_B(3, b);
          OPS_TILE_ZERO(5);
          OPS_TILE_DPBSSD(5, 1, 3);
          break;
        case 2:
          OPS_TILE_LOAD(0, a, as);
          OPS_TILE_LOAD_B(2, b);
          OPS_TILE_ZERO(6);
          OPS_TILE_DPBSSD(6, 0, 2);
          break;
        default:
          OPS_TILE_LOAD(1, a, as);
          OPS_TILE_LOAD_B(3, b);
          OPS_TILE_ZERO(7);
          OPS_TILE_DPBSSD(7, 1, 3);
          break;
      }
    }
    if (blk >= 1 && blk <= g.nb) {
      store_c_ring(g.cbuf, blk - 1);
    }
  }
  alignas(64) float tmp[kTile][kTile];  // [row][token]
  ((_mm512_store_ps(tmp[I], acc[I])), ...);
  for (int t = 0; t < nt; t++) {
    for (int r = 0; r < kTile; r++) y[t * ldy + r] = tmp[r][t];
  }
}

template <class P>
void gemm_few(int64_t nb, int n_wtiles, int nt, const uint8_t* w, size_t w_stride,
              const uint8_t* act, size_t act_stride, float* y, int64_t ldy, uint8_t* buf) {
  FewArgs g;
  g.nb = nb;
  auto* bact = reinterpret_cast<int8_t*>(buf);
  auto* as = reinterpret_cast<float*>(buf + nb * kBTileBytes);
  g.bact = bact;
  g.as = as;
  g.dw = as + nb * 16;
  g.cbuf = reinterpret_cast<int32_t*>(g.dw + nb * 16);
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i aoffs = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(act_stride)));
  const __mmask16 valid = static_cast<__mmask16>((1u << nt) - 1);
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t blk = 0; blk < nb; blk++) {
    const uint8_t* p = act + blk * kActBlock;
    _mm512_store_ps(as + 16 * blk,
                    half_lo(_mm512_mask_i32gather_epi32(zero, valid, aoffs, p + kActScaleOff, 1)));
    for (int k4 = 0; k4 < 8; k4++) {
      _mm512_store_si512(
          bact + blk * kBTileBytes + 64 * k4,
          _mm512_mask_i32gather_epi32(zero, valid, aoffs, p + kActCodeOff + 4 * k4, 1));
    }
  }
  const __m512i woffs = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(w_stride)));
  use_tile_config(tile_config(kTile));
  for (int j = 0; j < n_wtiles; j++) {
    few_pass<P>(g, w + static_cast<size_t>(j) * kTile * w_stride, w_stride, woffs, nt,
                y + j * kTile, ldy, std::make_index_sequence<kTile>());
  }
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
  // Layout: packed B [n_wtiles][nb][512], d/m [n_wtiles][nb][16], as/ca [nb][16], C 4 x 1 KiB,
  // a B tile of ones, fp16 token scales [nb][16] (min types).
  const size_t b_bytes = static_cast<size_t>(n_wtiles) * nb * kBTileBytes;
  const size_t dm_bytes = static_cast<size_t>(n_wtiles) * nb * 64;
  const size_t tok_bytes = static_cast<size_t>(nb) * 64;
  uint8_t* buf = nt >= kMinTokens && n_wtiles > 0
                     ? t_scratch.try_get(b_bytes + 2 * dm_bytes + 2 * tok_bytes + 4096 +
                                             kBTileBytes + tok_bytes / 2,
                                         /*zero_new=*/true)
                     : nullptr;
  if (buf == nullptr) {
    fallback(n, nr, nt, vw, w_stride, vact, act_stride, y, ldy);
    return;
  }
  const int rows = n_wtiles * kTile;
  if (rows < nr) {
    fallback(n, nr - rows, nt, w + rows * w_stride, w_stride, vact, act_stride, y + rows, ldy);
  }
  if constexpr (P::kFew) {
    if (nt <= kTile) {
      // bact [nb][512], as/dw [nb][16], C 4 x 1 KiB: within the sizes above.
      gemm_few<P>(nb, n_wtiles, nt, w, w_stride, act, act_stride, y, ldy, buf);
      return;
    }
  }
  auto* pb = reinterpret_cast<int8_t*>(buf);
  auto* pd = reinterpret_cast<float*>(buf + b_bytes);
  auto* pm = reinterpret_cast<float*>(buf + b_bytes + dm_bytes);
  auto* as = reinterpret_cast<float*>(buf + b_bytes + 2 * dm_bytes);
  auto* ca = reinterpret_cast<float*>(buf + b_bytes + 2 * dm_bytes + tok_bytes);
  auto* cbuf = reinterpret_cast<int32_t*>(buf + b_bytes + 2 * dm_bytes + 2 * tok_bytes);
  auto* ones = reinterpret_cast<int8_t*>(cbuf + 1024);  // B tile of ones: code sums (kMin)
  if constexpr (P::kMin) std::memset(ones, 1, kBTileBytes);
  auto* ash = reinterpret_cast<uint16_t*>(ones + kBTileBytes);  // [nb][16] fp16 token scales

  const __m512i offs =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32(static_cast<int>(w_stride)));
  // Few tokens (batched decode): the pass is bound by these weight reads, which walk 16 rows a
  // block at a time (a new page per row); prefetch each row a few blocks ahead.
  const bool prefetch = nt <= kPrefetchMaxTokens;
  for (int j = 0; j < n_wtiles; j++) {
    const uint8_t* wt = w + static_cast<size_t>(j) * kTile * w_stride;
    for (int64_t blk = 0; blk < nb; blk++) {
      if (prefetch && blk % kPrefetchEvery == 0) {
        const auto* pf = reinterpret_cast<const char*>(wt + (blk + kPrefetchBlocks) * P::kSb);
        for (int r = 0; r < kTile; r++) _mm_prefetch(pf + r * w_stride, _MM_HINT_T1);
      }
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
    if constexpr (P::kMin) min_type_scales(at, act_stride, mt, nb, as, ca, cbuf, ones, ash);
    const __m512i toffs =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(static_cast<int>(act_stride)));
    const __mmask16 valid = static_cast<__mmask16>((1u << mt) - 1);
    for (int j = 0; j < n_wtiles; j++) {
      const size_t i = static_cast<size_t>(j) * nb;
      const TileArgs g{nb,
                       at + kActCodeOff,
                       static_cast<int64_t>(act_stride),
                       pb + i * kBTileBytes,
                       pd + i * 16,
                       pm + i * 16,
                       as,
                       ca,
                       cbuf,
                       as,
                       toffs,
                       valid};
      if (!P::kMin && j == 0) {
        tile_pass<P::kMin, true>(g, mt, y + t0 * ldy + j * kTile, ldy,
                                 std::make_index_sequence<kTile>());
      } else {
        tile_pass<P::kMin, false>(g, mt, y + t0 * ldy + j * kTile, ldy,
                                  std::make_index_sequence<kTile>());
      }
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
