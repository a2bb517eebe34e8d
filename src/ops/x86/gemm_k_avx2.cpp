// AVX2 tile kernels (Kernels::gemm) for the K-quants (Q2_K..Q6_K) with Q8_K activations, for
// batches of >= 8 tokens (prompts, 8 sequences decoding together): the 8-row tiles of
// tiles_k_avx2.h built with maddubs. Fewer than 8 tokens and rows past the last whole group use
// the dots.
#include "ops/x86/tiles_k_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx2 {

#define OPS_GEMM_K(name, W, dot)                                                           \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    gemm<W>(n, nr, nt, w, ws, a, as, y, ldy, dot);                                         \
  }
OPS_GEMM_K(gemm_q2_k_q8_k, Q2KW, vec_dot_q2_k_q8_k)
OPS_GEMM_K(gemm_q3_k_q8_k, Q3KW, vec_dot_q3_k_q8_k)
OPS_GEMM_K(gemm_q4_k_q8_k, Q4KW, vec_dot_q4_k_q8_k)
OPS_GEMM_K(gemm_q5_k_q8_k, Q5KW, vec_dot_q5_k_q8_k)
OPS_GEMM_K(gemm_q6_k_q8_k, Q6KW, vec_dot_q6_k_q8_k)
#undef OPS_GEMM_K

}  // namespace ops::avx2
