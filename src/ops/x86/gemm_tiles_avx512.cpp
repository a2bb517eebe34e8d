// AVX-512 VNNI builds of the 8-row tiles (tiles_avx2.h for the 32-element block types,
// tiles_k_avx2.h for the K-quants): the same unpacked layout and loops as the AVX2 kernels, with
// vpdpbusd on 256-bit registers in place of maddubs + madd. For prompt-sized batches (>= 8
// tokens); register.cpp keeps the row kernels of gemm_q_avx512.cpp / gemm_k_avx512.cpp for
// decode and small batches. On Zen 4 (AVX-512 executed as 256-bit halves) these tiles replace
// row kernels that re-read every activation per weight row: pp256 Q4_K_M 113 -> 164 t/s with the
// maddubs tiles alone (bench/RESULTS.md). Rows past the last whole group of 8 (rare: the
// driver's chunks are multiples of 8 for such batches) use the AVX2 dots, so that this file
// can also be tested on AVX2 machines with vpdpbusd emulated (tests/ops/vnni_tiles_emu_test.cpp).
#include "ops/x86/tiles_avx2.h"
#include "ops/x86/tiles_k_avx2.h"
#include "ops/x86/x86_kernels.h"

namespace ops::avx512vnni {

#define OPS_TILES_Q(name, W, dot)                                                          \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    avx2::gemm_rows8<avx2::W>(n, nr, nt, static_cast<const uint8_t*>(w), ws,               \
                              static_cast<const uint8_t*>(a), as, y, ldy, dot);            \
  }
OPS_TILES_Q(tiles_q4_0_q8_0, Q4_0W, avx2::vec_dot_q4_0_q8_0)
OPS_TILES_Q(tiles_q8_0_q8_0, Q8_0W, avx2::vec_dot_q8_0_q8_0)
OPS_TILES_Q(tiles_mxfp4_q8_0, Mxfp4W, avx2::vec_dot_mxfp4_q8_0)
#undef OPS_TILES_Q

#define OPS_TILES_K(name, W, dot)                                                          \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    avx2::gemm<avx2::W>(n, nr, nt, w, ws, a, as, y, ldy, dot);                             \
  }
OPS_TILES_K(tiles_q2_k_q8_k, Q2KW, avx2::vec_dot_q2_k_q8_k)
OPS_TILES_K(tiles_q3_k_q8_k, Q3KW, avx2::vec_dot_q3_k_q8_k)
OPS_TILES_K(tiles_q4_k_q8_k, Q4KW, avx2::vec_dot_q4_k_q8_k)
OPS_TILES_K(tiles_q5_k_q8_k, Q5KW, avx2::vec_dot_q5_k_q8_k)
OPS_TILES_K(tiles_q6_k_q8_k, Q6KW, avx2::vec_dot_q6_k_q8_k)
#undef OPS_TILES_K

}  // namespace ops::avx512vnni
