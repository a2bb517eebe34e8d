// AMX int8 tile kernels (Kernels::gemm) for the K-quants with Q8_K activations.
#include "ops/x86/amx.h"
#include "ops/x86/x86_kernels.h"

namespace ops::amx {

#define OPS_AMX_FORWARD(name)                                                              \
  void name(int64_t n, int nr, int nt, const void* w, size_t ws, const void* a, size_t as, \
            float* y, int64_t ldy) {                                                       \
    avx512vnni::name(n, nr, nt, w, ws, a, as, y, ldy);                                     \
  }
OPS_AMX_FORWARD(gemm_q4_k_q8_k)
OPS_AMX_FORWARD(gemm_q6_k_q8_k)
OPS_AMX_FORWARD(gemm_q2_k_q8_k)
OPS_AMX_FORWARD(gemm_q3_k_q8_k)
OPS_AMX_FORWARD(gemm_q5_k_q8_k)
#undef OPS_AMX_FORWARD

}  // namespace ops::amx
