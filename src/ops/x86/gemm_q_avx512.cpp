// AVX-512 VNNI tile kernels (Kernels::gemm) for the 32-element block types with Q8_0
// activations. The activation rows are prepared once per call for all the chunk's weight rows:
// codes packed 32 bytes per block (one zmm load per block pair), the fp16 scale as float, and
// the per-block offset/min term. That term then costs one FMA per 8 blocks (dot of the weight
// scales with it) instead of a second vpdpbusd per pair. Up to 8 tokens share each unpacked
// weight pair, so prompt processing unpacks weights an eighth as often. Rows of an even number of
// blocks that is not a multiple of 8 (gpt-oss: 2880 = 90 blocks) finish with whole pairs whose
// scales are taken one block at a time; only odd block counts fall back to plain dots.
#include "ops/scratch.h"
#include "ops/x86/prefetch.h"
#include "ops/x86/q_pairs_avx512.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {
using namespace ops::x86;

namespace {

// Per-thread scratch for the prepared activations (nullptr: fall back to plain dots).
thread_local ScratchBuf<> t_scratch;

struct Tok {
  const int8_t* qs;  // [nb * 32]
  const float* fa;   // [nb] activation scale
  const float* c;    // [nb] -offset * fa * sum(a), or fa * sum(a) for the min types
};

template <class P>
Tok prep_token(const BlockQ8_0* a, int64_t nb, uint8_t* dst) {
  auto* qs = reinterpret_cast<int8_t*>(dst);
  auto* fa = reinterpret_cast<float*>(dst + nb * 32);
  float* c = fa + nb;
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; b++) {
    const __m256i v = load256(a[b].qs);
    _mm256_store_si256(reinterpret_cast<__m256i*>(qs + 32 * b), v);
    // sum(a) = sum(a + 128) - 32 * 128, with vpsadbw doing the unsigned byte sums.
    const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(v, bias), _mm256_setzero_si256());
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
    const int sy =
        static_cast<int>(_mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2)))) -
        32 * 128;
    const float f = h2f(a[b].d);
    fa[b] = f;
    c[b] = P::kOffset ? -static_cast<float>(P::kOffset) * f * static_cast<float>(sy)
                      : f * static_cast<float>(sy);
  }
  return Tok{qs, fa, c};
}

// Scales of one tail pair (blocks s0, s1) in the lanes of P::unpack's layout.
template <class P>
inline __m512 pair_scales(float s0, float s1) {
  const __m512 v = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(s0), _mm512_set1_ps(s1));
  if constexpr (!P::kX16) return v;
  const float h = 1.0f / 16;
  return _mm512_mul_ps(v, _mm512_setr_ps(1, 1, 1, 1, h, h, h, h, 1, 1, 1, 1, h, h, h, h));
}

// out[r * T + t] = dot(weight row r, token t) for R rows (w_stride bytes apart) and T tokens,
// nb8 groups of 8 blocks then tail_pairs pairs of blocks. Several rows share each activation
// load, several tokens each unpack.
template <class P, int R, int T, bool kPf = T == 1>
void rows_tokens(const uint8_t* w0, size_t w_stride, int64_t nb8, int tail_pairs, const Tok* tok,
                 float* out) {
  using Block = typename P::Block;
  const PairIdx idx = pair_idx(P::kX16);
  const __m512 x16 = _mm512_setr_ps(1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1,
                                    1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16, 1, 1.0f / 16);
  const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  constexpr int kAcc = R * T == 1 ? 2 : 1;  // one dot alone needs two chains to hide latency
  __m512 acc[R][T][kAcc];
  __m256 accc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
#pragma GCC unroll 8
      for (int i = 0; i < kAcc; i++) acc[r][t][i] = _mm512_setzero_ps();
      accc[r][t] = _mm256_setzero_ps();
    }
  }
  for (int64_t g = 0; g < nb8; g++) {
    __m512 s[R][T];
    const Block* w[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      w[r] = reinterpret_cast<const Block*>(w0 + r * w_stride) + 8 * g;
      const auto* wb = reinterpret_cast<const uint8_t*>(w[r]);
      if constexpr (kPf) prefetch_weights<8 * sizeof(Block), 2>(wb);
      const __m256 dw = scales8<P>(wb);
      __m256 f = dw;
      if constexpr (P::kOffset == 0) f = _mm256_cvtph_ps(fields8<P::kSb, P::kMOff>(wb));
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        accc[r][t] = _mm256_fmadd_ps(f, _mm256_loadu_ps(tok[t].c + 8 * g), accc[r][t]);
        s[r][t] = _mm512_castps256_ps512(_mm256_mul_ps(dw, _mm256_loadu_ps(tok[t].fa + 8 * g)));
        if constexpr (P::kX16) s[r][t] = _mm512_mul_ps(_mm512_permutexvar_ps(dup, s[r][t]), x16);
      }
    }
#pragma GCC unroll 8
    for (int q = 0; q < 4; q++) {
      __m512i u[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) u[r] = P::unpack(w[r] + 2 * q);
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const __m512i y = _mm512_load_si512(tok[t].qs + 256 * g + 64 * q);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
          const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[r], y);
          __m512& a = acc[r][t][q % kAcc];
          a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx.p[q], s[r][t]), a);
        }
      }
    }
  }
  float tail_c[R][T] = {};
  for (int q = 0; q < tail_pairs; q++) {
    const int64_t b = 8 * nb8 + 2 * q;
    __m512i u[R];
    float dw[R][2], f[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const Block* w = reinterpret_cast<const Block*>(w0 + r * w_stride) + b;
      u[r] = P::unpack(w);
      for (int i = 0; i < 2; i++) {
        dw[r][i] = scale1<P>(w[i]);
        f[r][i] = min_scale1<P>(w[i]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const __m512i y = _mm512_load_si512(tok[t].qs + 32 * b);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[r], y);
        const __m512 sc = pair_scales<P>(dw[r][0] * tok[t].fa[b], dw[r][1] * tok[t].fa[b + 1]);
        acc[r][t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[r][t][0]);
        tail_c[r][t] += f[r][0] * tok[t].c[b] + f[r][1] * tok[t].c[b + 1];
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      __m512 a = acc[r][t][0];
      if constexpr (kAcc == 2) a = _mm512_add_ps(a, acc[r][t][1]);
      out[r * T + t] = _mm512_reduce_add_ps(a) + hsum(accc[r][t]) + tail_c[r][t];
    }
  }
}

// Register tiles: kR4 rows x kTq tokens for prompts, kR1 rows for single tokens.
constexpr int kR4 = 1, kTq = 8, kR1 = 4;

template <class P>
void gemm(int64_t n, int nr, int nt, const void* vw, size_t w_stride, const void* act,
          size_t act_stride, float* y, int64_t ldy,
          void (*dot)(int64_t, float*, const void*, const void*)) {
  const int64_t nb = n / 32;
  const auto* wbytes = static_cast<const uint8_t*>(vw);
  const auto* abytes = static_cast<const uint8_t*>(act);
  // 32 code bytes + 2 floats per block, each token's codes 64-byte aligned for the pair loads.
  const size_t tok_bytes = (static_cast<size_t>(nb) * 40 + 63) / 64 * 64;
  const int tail_pairs = static_cast<int>(nb % 8 / 2);
  uint8_t* buf = nb % 2 == 0 ? t_scratch.try_get(tok_bytes * kTq) : nullptr;
  if (buf == nullptr) {  // rows of an odd number of blocks (or no scratch): plain dots
    for (int t = 0; t < nt; t++) {
      for (int r = 0; r < nr; r++)
        dot(n, &y[t * ldy + r], wbytes + r * w_stride, abytes + t * act_stride);
    }
    return;
  }
  int t0 = 0;
  for (; t0 + kTq <= nt; t0 += kTq) {
    Tok tok[kTq];
    for (int i = 0; i < kTq; i++) {
      tok[i] = prep_token<P>(reinterpret_cast<const BlockQ8_0*>(abytes + (t0 + i) * act_stride), nb,
                             buf + i * tok_bytes);
    }
    int r = 0;
    for (; r + kR4 <= nr; r += kR4) {
      float out[kR4 * kTq];
      if (nt <= kPrefetchMaxTokens) {
        rows_tokens<P, kR4, kTq, true>(wbytes + r * w_stride, w_stride, nb / 8, tail_pairs, tok,
                                       out);
      } else {
        rows_tokens<P, kR4, kTq>(wbytes + r * w_stride, w_stride, nb / 8, tail_pairs, tok, out);
      }
      for (int rr = 0; rr < kR4; rr++) {
        for (int i = 0; i < kTq; i++) y[(t0 + i) * ldy + r + rr] = out[rr * kTq + i];
      }
    }
    for (; r < nr; r++) {
      float out[kTq];
      rows_tokens<P, 1, kTq>(wbytes + r * w_stride, w_stride, nb / 8, tail_pairs, tok, out);
      for (int i = 0; i < kTq; i++) y[(t0 + i) * ldy + r] = out[i];
    }
  }
  for (; t0 < nt; t0++) {
    const Tok tok =
        prep_token<P>(reinterpret_cast<const BlockQ8_0*>(abytes + t0 * act_stride), nb, buf);
    int r = 0;
    for (; r + kR1 <= nr; r += kR1) {
      float out[kR1];
      rows_tokens<P, kR1, 1>(wbytes + r * w_stride, w_stride, nb / 8, tail_pairs, &tok, out);
      for (int rr = 0; rr < kR1; rr++) y[t0 * ldy + r + rr] = out[rr];
    }
    for (; r < nr; r++) {
      rows_tokens<P, 1, 1>(wbytes + r * w_stride, w_stride, nb / 8, tail_pairs, &tok,
                           &y[t0 * ldy + r]);
    }
  }
}

}  // namespace

#define OPS_GEMM(name, P, dot)                                                             \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    gemm<P>(n, nr, nt, w, ws, a, as, y, ldy, dot);                                         \
  }
OPS_GEMM(gemm_q4_0_q8_0, Q40, vec_dot_q4_0_q8_0)
OPS_GEMM(gemm_q4_1_q8_0, Q41, vec_dot_q4_1_q8_0)
OPS_GEMM(gemm_q5_0_q8_0, Q50, vec_dot_q5_0_q8_0)
OPS_GEMM(gemm_q5_1_q8_0, Q51, vec_dot_q5_1_q8_0)
OPS_GEMM(gemm_q8_0_q8_0, Q80, vec_dot_q8_0_q8_0)
OPS_GEMM(gemm_mxfp4_q8_0, Mxfp4, vec_dot_mxfp4_q8_0)
#undef OPS_GEMM

}  // namespace ops::avx512vnni
