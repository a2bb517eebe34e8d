// Shared by the kernels for rows packed by 16 (gemm_x16*_avx512.cpp): the group size, the
// prefetch ahead of a batch, the broadcast of four activation codes, and the driver that runs
// a group kernel over a chunk's groups and its tokens, a few tokens per pass.
// Internal linkage only; include from *_avx512.cpp files.
#pragma once
#include <algorithm>
#include <cstring>

#include "ops/scratch.h"
#include "ops/x86/prefetch.h"
#include "ops/x86/simd_avx2.h"

namespace ops::x86 {
namespace {

constexpr int kRows16 = 16;  // rows per packed group

// A kernel with two tokens or more computes for several cycles per 64-byte line of weights,
// and then the hardware prefetcher did not keep the stream ahead: with the weights coming from
// DRAM a batch of 8 tokens ran at ~60 % of its speed on the same weights in L3, computing and
// waiting in turn. Such kernels ask for the bytes kPrefetchAhead on into L2 (prefetch.h);
// 8 tokens from DRAM, Zen 4, 2 threads: Q4_K 340 -> 540, Q4_0 350 -> 500, F16 112 -> 210
// GFLOP/s, prompts (64 tokens) the same or better; 2.3 to 74 KB ahead all did better than
// none, into L1 worse than none. Past a group's end it reaches into the next group, which the
// same thread takes next within a token pass (past a chunk's last group, into the next chunk,
// usually the same thread's next). One token (decode) is left to the hardware prefetcher, which
// keeps up with it in 2 MiB pages (a prefetch only cost there: see gemm_x16_avx512.cpp).
template <int T, int kBytes>
inline void prefetch_batch(const uint8_t* p) {
  if constexpr (T >= 2) prefetch_weights<kBytes>(p);
}

// A 16-entry value table plus an offset as the unsigned bytes vpdpbusd takes, for a vpshufb of
// nibbles (MXFP4's doubled E2M1 values + 12, IQ4_NL's values + 128).
struct OffsetCodes {
  alignas(16) uint8_t v[16];
};
constexpr OffsetCodes offset_codes(const int8_t (&values)[16], int offset) {
  OffsetCodes c{};
  for (int i = 0; i < 16; i++) c.v[i] = static_cast<uint8_t>(values[i] + offset);
  return c;
}

// Activation codes at..at+3 in every lane: the signed operand of a vpdpbusd.
inline __m512i act_word(const int8_t* q, int at) {
  int32_t v;
  std::memcpy(&v, q + at, 4);
  return _mm512_set1_epi32(v);
}

// A group kernel: y[t * ldy + r] for the 16 rows of the packed group g and tn tokens, with
// their activation rows and per-token terms (Terms, `nb` blocks' worth each).
template <class Act, class Terms>
using GroupFn = void (*)(int64_t nb, const uint8_t* g, const Act* const* act,
                         const Terms* const* terms, float* y, int64_t ldy);

// Runs kernels[tn] (tn = 1..kMaxT tokens per pass) over the nr / 16 groups of w and the nt
// activation rows of act (as bytes apart). prepare(row, terms) fills one token's terms
// (per_token of them) once per call, in scratch.
template <int kMaxT, class Act, class Terms, class Prepare>
void run_groups(int64_t nb, int nr, int nt, const uint8_t* w, size_t ws, const uint8_t* act,
                size_t as, float* y, int64_t ldy, const GroupFn<Act, Terms>* kernels,
                ScratchBuf<>& scratch, size_t per_token, const Prepare& prepare) {
  auto* terms = reinterpret_cast<Terms*>(
      scratch.get((static_cast<size_t>(nt) * per_token + 1) * sizeof(Terms), "matmul scratch"));
  for (int t = 0; t < nt; t++)
    prepare(reinterpret_cast<const Act*>(act + t * as), terms + t * per_token);
  for (int t0 = 0; t0 < nt; t0 += kMaxT) {
    const int tn = std::min(kMaxT, nt - t0);
    const Act* a[kMaxT];
    const Terms* s[kMaxT];
    for (int t = 0; t < tn; t++) {
      a[t] = reinterpret_cast<const Act*>(act + (t0 + t) * as);
      s[t] = terms + (t0 + t) * per_token;
    }
    for (int g = 0; g < nr / kRows16; g++) {
      kernels[tn](nb, w + static_cast<size_t>(g) * kRows16 * ws, a, s, y + t0 * ldy + g * kRows16,
                  ldy);
    }
  }
}

// The loop of every block-type packer: put(block, r, packed) for row r's block of each packed
// block (16 rows' blocks, 16 * sizeof(Block) bytes) of each group of n_rows rows of nb blocks.
template <class Block, class Put>
void pack_groups(const void* src, void* dst, int64_t nb, int64_t n_rows, const Put& put) {
  const size_t ws = nb * sizeof(Block);
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < n_rows / kRows16; g++) {
    const uint8_t* sg = s + g * kRows16 * ws;
    uint8_t* dg = d + g * kRows16 * ws;
    for (int64_t b = 0; b < nb; b++) {
      uint8_t* pb = dg + b * kRows16 * sizeof(Block);
      for (int r = 0; r < kRows16; r++) put(reinterpret_cast<const Block*>(sg + r * ws)[b], r, pb);
    }
  }
}

// Its inverse for one row: get(packed, r, block) for each of row r's nb blocks.
template <class Block, class Get>
void unpack_group_row(const void* group, int r, void* dst, int64_t nb, const Get& get) {
  const auto* g = static_cast<const uint8_t*>(group);
  auto* out = static_cast<Block*>(dst);
  for (int64_t b = 0; b < nb; b++) get(g + b * kRows16 * sizeof(Block), r, out[b]);
}

}  // namespace
}  // namespace ops::x86
